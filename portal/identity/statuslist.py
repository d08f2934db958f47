"""The status list: one bit per certificate, at a random index, as an IETF `statuslist+jwt`.

Indices are drawn at random so that a position tells nothing about the child or the order of
issue. The portal's own verify page reads revocations from the database (red at once); offline
verifiers read this list, which they refresh at least every `TTL_SECONDS`.
"""

from __future__ import annotations

import secrets
import zlib
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from portal import clock
from portal.extensions import db
from portal.identity.keys import sign
from portal.identity.models import Certificate
from portal.identity.verifier import TokenType, b64url

LIST_ID = "1"
TTL_SECONDS = 300
LIFETIME_SECONDS = 24 * 3600  # a list older than a day is refused offline


def list_uri(list_id: str = LIST_ID) -> str:
    return f"{current_app.config['IDENTITY_ISSUER']}/identity/status/{list_id}"


def allocate_index() -> tuple[str, int]:
    """A random unused position on the current list."""
    size = current_app.config["IDENTITY_STATUS_LIST_SIZE"]
    taken = select(Certificate.id).where(Certificate.status_list == LIST_ID)
    for _ in range(64):
        index = secrets.randbelow(size)
        if db.session.scalar(taken.where(Certificate.status_index == index)) is None:
            return LIST_ID, index
    raise RuntimeError("the status list is nearly full: raise IDENTITY_STATUS_LIST_SIZE")


def reference(list_id: str, index: int) -> dict:
    """The `status` claim of a certificate."""
    return {"status_list": {"idx": index, "uri": list_uri(list_id)}}


def bit_string(revoked: list[int], size: int) -> bytes:
    """`size` bits, the revoked ones set (index 0 = least significant bit of byte 0)."""
    bits = bytearray((size + 7) // 8)
    for index in revoked:
        bits[index // 8] |= 1 << (index % 8)
    return bytes(bits)


def compressed(bits: bytes) -> str:
    return b64url(zlib.compress(bits, 9))


def status_list_token(list_id: str = LIST_ID) -> str:
    """The signed list as it stands now."""
    revoked = db.session.scalars(
        select(Certificate.status_index).where(
            Certificate.status_list == list_id, Certificate.revoked_at.is_not(None)
        )
    ).all()
    bits = bit_string(list(revoked), current_app.config["IDENTITY_STATUS_LIST_SIZE"])
    now = clock.now()
    claims = {
        "iss": current_app.config["IDENTITY_ISSUER"],
        "sub": list_uri(list_id),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=LIFETIME_SECONDS)).timestamp()),
        "ttl": TTL_SECONDS,
        "status_list": {"bits": 1, "lst": compressed(bits)},
    }
    token, _key = sign(claims, TokenType.STATUS_LIST)
    return token
