"""Corrections figures, as ratios to the bare endpoint measured in the same run. Not a test.

    flock /tmp/xueji-bench.lock .venv/bin/python benchmarks/corrections.py

1. Throughput (wrk, 8 connections) of the school registrar's correction review page with its
   evidence (current beside proposed, the photo inline), and of the evidence itself
   (`/evidence/<ref>`, permission-checked), against the bare `/healthz`, side by side in
   each round.
2. The upload of a 5 MB phone photo (12 MP JPEG with GPS EXIF) to `POST /api/v1/evidence`:
   median time per upload (sequential, one connection) against the median time of one
   `/healthz` request, and the peak memory of the check-and-re-encode (ru_maxrss of a fresh
   process doing only that, minus one that only loads the same bytes).

Serves a small demo province (200 students) with gunicorn (2 workers) on BENCH_PORT
(default 5199) from BENCH_DATABASE_URL (default: xueji_bench_corrections on 127.0.0.1:5432),
which it recreates. BENCH_SECONDS per wrk run (default 5), BENCH_ROUNDS (default 3),
BENCH_UPLOADS (default 10).
"""

from __future__ import annotations

import http.cookiejar
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.pages import WRK_SCRIPT  # noqa: E402  (after the path is set)
from benchmarks.pages import _wrk as wrk_rate  # noqa: E402

BIN = Path(sys.executable).parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/xueji_bench_corrections"
)
PORT = int(os.environ.get("BENCH_PORT", 5199))
SECONDS = int(os.environ.get("BENCH_SECONDS", 5))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
UPLOADS = int(os.environ.get("BENCH_UPLOADS", 10))
PASSWORD = "Demo@2026"
GUARDIAN = "13800138000"
USER_AGENT = "xueji-bench/1"
BASE = f"http://127.0.0.1:{PORT}"


def phone_photo() -> bytes:
    """About 4.5–5 MB: a 12 MP JPEG (4032 × 3024) with camera and GPS EXIF, like a phone's."""
    from PIL import Image

    from tests.evidence_files import _exif_with_gps

    width, height = 4032, 3024
    noise = Image.effect_noise((width // 2, height // 2), 40).resize((width, height))
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", (noise, gradient, Image.blend(noise, gradient, 0.5)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=91, exif=_exif_with_gps())
    return out.getvalue()


def _env(instance: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "PORTAL_ENV": "development",
        "SECRET_KEY": "bench-secret",
        "FLASK_APP": "wsgi",
        "PORTAL_INSTANCE_DIR": instance,
        "JOBS_URL": "memory://",
    }


def _recreate_database() -> None:
    import psycopg
    from psycopg import sql

    base, name = DATABASE_URL.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _setup(instance: str, photo: bytes) -> dict:
    """Demo data, then a correction with the photo as evidence, waiting at the school."""
    _recreate_database()
    subprocess.run(
        [str(BIN / "flask"), "portal", "setup", "--students", "200"],
        cwd=ROOT,
        env=_env(instance),
        check=True,
        capture_output=True,
    )
    os.environ.update(_env(instance))
    from sqlalchemy import select
    from werkzeug.datastructures import FileStorage

    from portal import create_app
    from portal.accounts.models import Role, User
    from portal.corrections import service
    from portal.evidence.service import store_upload
    from portal.extensions import db
    from portal.guardians.models import GuardianLink

    app = create_app()
    with app.app_context():
        guardian = db.session.scalar(select(User).where(User.mobile == GUARDIAN))
        link = db.session.scalar(select(GuardianLink).where(GuardianLink.guardian_id == guardian.id))
        child = link.student
        evidence = store_upload(FileStorage(io.BytesIO(photo), filename="IMG.JPG"), uploader=guardian)
        case = service.propose(
            child, guardian, {"name": child.name + "明"}, reason="户口簿姓名已变更", evidence=[evidence.id]
        )
        school = db.session.scalar(
            select(User).where(User.org_unit_id == child.school_id, User.role == Role.SCHOOL_REGISTRAR)
        )
        facts = {"step": case.steps[0].id, "evidence": evidence.id, "registrar": school.username}
        db.session.commit()
    return facts


def _cookie(login: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(f"{BASE}/sign-in").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    opener.open(
        f"{BASE}/sign-in",
        data=urllib.parse.urlencode({"login": login, "password": PASSWORD, "csrf_token": token}).encode(),
    )
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def _request(path: str, cookie: str | None = None, *, body: bytes | None = None, content_type: str = ""):
    headers = {"User-Agent": USER_AGENT, **({"Cookie": cookie} if cookie else {})}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(BASE + path, data=body, headers=headers)
    with urllib.request.urlopen(request) as response:
        if response.status not in (200, 201):
            raise RuntimeError(f"{path} answered {response.status}")
        return response.read()


def _wrk(path: str, cookie: str | None, script: Path) -> float:
    """Requests per second on `path`, every answer a 200 (the page harness's own wrk run)."""
    return wrk_rate(BASE + path, cookie, script)


def _multipart(photo: bytes) -> tuple[bytes, str]:
    boundary = "xueji-bench-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="IMG_0001.JPG"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + photo + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _timed(action, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec.
_MEMORY_PROBE = """
import sys
sys.path.insert(0, {root!r})
data = open({path!r}, "rb").read()
from portal.evidence.checks import check_and_clean
if {clean}:
    check_and_clean(data, max_pixels=50_000_000, max_megabytes="10")
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def _peak_memory_kib(path: str, clean: bool) -> int:
    code = _MEMORY_PROBE.format(root=str(ROOT), path=path, clean=clean)
    return int(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    )


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    photo = phone_photo()
    with tempfile.TemporaryDirectory() as instance:
        facts = _setup(instance, photo)
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--workers",
                "2",
                "--threads",
                "1",
                "--bind",
                f"127.0.0.1:{PORT}",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=_env(instance),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"{BASE}/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            registrar, guardian = _cookie(facts["registrar"]), _cookie(GUARDIAN)
            review = f"/corrections/steps/{facts['step']}"
            evidence = f"/evidence/{facts['evidence']}"
            assert b"/evidence/" in _request(review, registrar)
            script = Path(instance) / "count.lua"
            script.write_text(WRK_SCRIPT)
            ratios = {"review page with evidence": [], "the evidence photo itself": []}
            hello_rates = []
            for _ in range(ROUNDS):
                hello = _wrk("/healthz", None, script)
                hello_rates.append(hello)
                ratios["review page with evidence"].append(_wrk(review, registrar, script) / hello)
                ratios["the evidence photo itself"].append(_wrk(evidence, registrar, script) / hello)
            body, content_type = _multipart(photo)
            hello_times = _timed(lambda: _request("/healthz"), 50)
            upload_times = _timed(
                lambda: _request("/api/v1/evidence", guardian, body=body, content_type=content_type), UPLOADS
            )
        finally:
            server.terminate()
            server.wait(timeout=10)
        photo_path = Path(instance) / "photo.jpg"
        photo_path.write_bytes(photo)
        loaded = _peak_memory_kib(str(photo_path), clean=False)
        cleaned = _peak_memory_kib(str(photo_path), clean=True)

    print(f"/healthz: {statistics.median(hello_rates):.0f} requests/s (median of {ROUNDS} rounds)")
    for name, values in ratios.items():
        print(f"{name:30} {statistics.median(values):6.3f} of /healthz ({min(values):.3f}–{max(values):.3f})")
    hello_ms, upload_ms = statistics.median(hello_times) * 1000, statistics.median(upload_times) * 1000
    fastest, slowest = min(upload_times) * 1000, max(upload_times) * 1000
    print(
        f"upload of a {len(photo) / 1e6:.1f} MB 12 MP photo: median {upload_ms:.0f} ms "
        f"({fastest:.0f}–{slowest:.0f}) against {hello_ms:.2f} ms for /healthz: "
        f"{upload_ms / hello_ms:.0f}× the bare request, throughput {1 / (upload_ms / hello_ms):.4f} of it"
    )
    print(
        f"peak memory of the check and re-encode: {(cleaned - loaded) / 1024:.0f} MiB above loading "
        f"the bytes (peak resident {cleaned / 1024:.0f} MiB against {loaded / 1024:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
