"""The offline verifier's console command: token or QR image + saved JWKS + status list -> verdict.

    xueji-verify --jwks jwks.json --status-list status.jwt [--audience public] TOKEN
    xueji-verify --jwks jwks.json --status-list status.jwt --image photo.png

Exit status 0 when valid, 1 when refused, 2 on bad input. Keeping the saved files fresh is the
relying party's job (docs/identity.md): the JWKS at least daily, the status list every `ttl`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from portal.identity.verifier import (
    PUBLIC_AUDIENCE,
    KeySet,
    StatusList,
    Verifier,
    status_lists_checker,
)


def build_verifier(jwks: dict, status_list_tokens: list[str]) -> Verifier:
    """A verifier for the issuer that signed the status lists (keys and lists parsed once)."""
    keys = KeySet.from_jwks(jwks)
    lists = [StatusList.from_token(token.strip(), keys) for token in status_list_tokens]
    issuers = {status_list.issuer for status_list in lists}
    if len(issuers) != 1:
        raise ValueError("give the status list(s) of exactly one issuer")
    return Verifier(keys, issuer=issuers.pop(), is_revoked=status_lists_checker(lists))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="xueji-verify", description="Verify a Xueji identity token offline."
    )
    parser.add_argument("token", nargs="?", help="compact JWS or XJ1 QR text")
    parser.add_argument("--image", type=Path, help="a photo or screenshot of the QR code instead")
    parser.add_argument("--jwks", type=Path, required=True, help="saved /.well-known/jwks.json")
    parser.add_argument("--status-list", type=Path, action="append", required=True, help="saved status list")
    parser.add_argument("--audience", default=PUBLIC_AUDIENCE, help="your audience (default: public)")
    arguments = parser.parse_args(argv)
    try:
        verifier = build_verifier(
            json.loads(arguments.jwks.read_text()), [path.read_text() for path in arguments.status_list]
        )
        token = _token(arguments)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    verdict = verifier.verify(token, audience=arguments.audience)
    print(json.dumps(verdict.as_dict(), ensure_ascii=False, indent=2))
    return 0 if verdict.is_valid else 1


def _token(arguments) -> str:
    if arguments.image is None:
        if not arguments.token:
            raise ValueError("give a token or --image")
        return arguments.token
    from portal.identity import qr  # needs zxing-cpp and Pillow: only when reading images

    texts = qr.read(arguments.image.read_bytes())
    if not texts:
        raise ValueError("no QR code found in the image")
    return texts[0]


if __name__ == "__main__":
    sys.exit(main())
