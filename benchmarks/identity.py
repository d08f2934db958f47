"""Identity figures: offline verification rate, QR sizes, status list size. Not a test.

    flock /tmp/xueji-bench.lock .venv/bin/python benchmarks/identity.py

1. The offline verifier (portal/identity/verifier.py, keys and status list parsed once) against
   raw `cryptography` Ed25519 verification of the same signature over the same message, measured
   in alternating rounds of the same length; the ratio of the medians is the figure (aim >= 0.9).
2. QR version and width in modules at error-correction level M for the default live card and
   for a certificate, as the portal issues them (XJ1 packing), and for the raw compact JWS.
3. The status list's size for 1,000,000 students with 1 % revoked at random indices.

It issues real tokens through the portal's services on a throwaway SQLite database (a small
demo province), so no PostgreSQL is needed. BENCH_ROUNDS (default 7), BENCH_COUNT (default 3000).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 7))
COUNT = int(os.environ.get("BENCH_COUNT", 3000))


def _issue_tokens(directory: str) -> dict:
    from flask_migrate import upgrade
    from sqlalchemy import select

    from portal import create_app
    from portal.accounts.models import Role, User
    from portal.config import config_for_tests
    from portal.demo.generator import generate
    from portal.extensions import db
    from portal.identity import certificates, keys, statuslist, tokens
    from portal.registry.models import Student
    from portal.registry.status import Status

    app = create_app(config_for_tests(f"sqlite:///{directory}/bench.sqlite3"))
    with app.app_context():
        upgrade()
        generate(students=40, seed=7)
        keys.ensure_key()
        student = db.session.scalars(select(Student).where(Student.status == Status.ATTENDING)).first()
        guardian = db.session.scalars(select(User).where(User.role == Role.GUARDIAN)).first()
        card = tokens.issue_card(student)
        certificate = certificates.request_certificate(guardian, student, purpose="申请住房", valid_days=180)
        db.session.commit()
        return {
            "card": card,
            "certificate_token": certificate.token,
            "jwks": keys.jwks(),
            "status_list": statuslist.status_list_token(),
        }


def _rate(action, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        action()
    return count / (time.perf_counter() - started)


def verification_rates(issued: dict) -> None:
    from portal.identity.offline import build_verifier
    from portal.identity.verifier import b64url_decode

    verifier = build_verifier(issued["jwks"], [issued["status_list"]])
    token, qr_text = issued["card"].token, issued["card"].qr_text
    kid = issued["jwks"]["keys"][0]["kid"]
    public_key = verifier.keys.keys[kid]
    head, payload, signature = token.split(".")
    message, raw_signature = f"{head}.{payload}".encode(), b64url_decode(signature)
    assert verifier.verify(token, audience="public").is_valid
    assert verifier.verify(qr_text, audience="public").is_valid

    raw, offline, packed = [], [], []
    for _ in range(ROUNDS):
        raw.append(_rate(lambda: public_key.verify(raw_signature, message), COUNT))
        offline.append(_rate(lambda: verifier.verify(token, audience="public"), COUNT))
        packed.append(_rate(lambda: verifier.verify(qr_text, audience="public"), COUNT))
    raw_rate, offline_rate, packed_rate = (statistics.median(rates) for rates in (raw, offline, packed))
    print(f"raw Ed25519 verify (cryptography): {raw_rate:10.0f}/s")
    print(f"offline verifier, compact JWS:   {offline_rate:10.0f}/s   ratio {offline_rate / raw_rate:.2f}")
    print(f"offline verifier, XJ1 QR text:   {packed_rate:10.0f}/s   ratio {packed_rate / raw_rate:.2f}")


def qr_sizes(issued: dict) -> None:
    from portal.identity import qr, transport

    rows = [
        ("live card (XJ1, as shown)", issued["card"].qr_text),
        ("live card (raw compact JWS)", issued["card"].token),
        ("certificate (XJ1, as printed)", transport.pack(issued["certificate_token"])),
        ("certificate (raw compact JWS)", issued["certificate_token"]),
    ]
    for label, text in rows:
        version, modules = qr.version(text)
        print(f"{label:32} {len(text):4} chars  QR version {version:2} at M, {modules} modules")


def status_list_sizes() -> None:
    from portal.identity.statuslist import bit_string, compressed

    generator = random.Random(2026)
    for size in (2**20, 2**21, 2**22):
        revoked = generator.sample(range(size), 10_000)
        lst = compressed(bit_string(revoked, size))
        print(
            f"status list of {size:>9,} bits, 10,000 revoked (1 % of 1,000,000): "
            f"{size // 8 / 1024:6.0f} KiB raw, `lst` {len(lst) / 1024:5.1f} KiB base64url"
        )


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        os.environ.setdefault("PORTAL_INSTANCE_DIR", directory)
        issued = _issue_tokens(directory)
    verification_rates(issued)
    qr_sizes(issued)
    status_list_sizes()


if __name__ == "__main__":
    main()
