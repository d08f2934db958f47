"""Issue identity tokens for a child: default claims only, one `typ` per purpose.

Public presentations carry a random subject per token (two scans cannot be linked); a token for
a registered relying party carries a pairwise subject (a keyed hash of the party and the child:
the party recognises a returning child, two parties cannot link theirs) and the extra claims a
county registrar approved for it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal import clock
from portal.errors import Conflict
from portal.extensions import db
from portal.identity import transport
from portal.identity.keys import derived_secret, sign
from portal.identity.models import IssuedToken, RelyingParty
from portal.identity.relying_parties import approved_claims
from portal.identity.verifier import PUBLIC_AUDIENCE, TokenType, b64url
from portal.registry.models import Student
from portal.registry.status import Status

CARD_LIFETIME_SECONDS = 120  # each live token lives at most this long ...
CARD_RENEW_SECONDS = 60  # ... and the card shows a new one at least this often
# The values of the approvable extra claims, by claim name (docs/identity.md lists them).
EXTRA_CLAIM_VALUES = {
    "name": lambda student: student.name,
    "class": lambda student: student.class_name,
}


@dataclass(frozen=True)
class IssuedCard:
    token: str
    qr_text: str
    issued_at: datetime
    expires_at: datetime
    renew_at: datetime


def default_claims(student: Student) -> dict:
    """Enrolled, school code, stage, grade: nothing that names the child."""
    return {
        "enr": True,
        "sch": student.school.code,
        "stg": str(student.school.stage),
        "grd": student.grade,
    }


def refuse_unless_attending(student: Student) -> None:
    if student.status != Status.ATTENDING:
        raise Conflict(
            "identity.not_attending",
            _l("Identity cards and certificates are issued only for students currently attending."),
        )


def issue_card(student: Student, relying_party: RelyingParty | None = None) -> IssuedCard:
    """A live card token (≤ 120 s), public or addressed to one registered relying party."""
    refuse_unless_attending(student)
    now = clock.now()
    if relying_party is None:
        token_type, audience, subject, extra = TokenType.CARD, PUBLIC_AUDIENCE, _random_id(), {}
    else:
        token_type, audience = TokenType.RELYING_PARTY, relying_party.audience
        subject = pairwise_subject(relying_party, student)
        extra = {name: EXTRA_CLAIM_VALUES[name](student) for name in approved_claims(relying_party, student)}
    claims = _registered_claims(audience, now, now + timedelta(seconds=CARD_LIFETIME_SECONDS))
    claims |= {"sub": subject, **default_claims(student), **extra}
    token = sign_and_record(claims, token_type, student)
    return IssuedCard(
        token=token,
        qr_text=transport.pack(token),
        issued_at=now,
        expires_at=now + timedelta(seconds=CARD_LIFETIME_SECONDS),
        renew_at=now + timedelta(seconds=CARD_RENEW_SECONDS),
    )


def certificate_claims(student: Student, *, issued_at: datetime, expires_at: datetime, status: dict) -> dict:
    claims = _registered_claims(PUBLIC_AUDIENCE, issued_at, expires_at)
    return claims | {"sub": _random_id(), **default_claims(student), "status": status}


def sign_and_record(claims: dict, token_type: TokenType, student: Student) -> str:
    """Sign, and remember server-side which child the token speaks for (share receipts)."""
    token, key = sign(claims, token_type)
    db.session.add(
        IssuedToken(
            jti=claims["jti"],
            student_id=student.id,
            type=str(token_type),
            audience=claims["aud"],
            kid=key.kid,
            claims=sorted(name for name in claims if name not in _REGISTERED),
            issued_at=datetime.fromtimestamp(claims["iat"], clock.now().tzinfo),
            expires_at=datetime.fromtimestamp(claims["exp"], clock.now().tzinfo),
        )
    )
    return token


def pairwise_subject(relying_party: RelyingParty, student: Student) -> str:
    """The same for one party and one child, unlinkable across parties."""
    message = f"{relying_party.audience}\x00{student.id}".encode()
    return b64url(hmac.digest(derived_secret("pairwise subjects"), message, hashlib.sha256)[:16])


_REGISTERED = frozenset({"iss", "aud", "iat", "exp", "jti", "sub", "status"})


def _registered_claims(audience: str, issued_at: datetime, expires_at: datetime) -> dict:
    return {
        "iss": current_app.config["IDENTITY_ISSUER"],
        "aud": audience,
        "iat": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": _random_id(),
    }


def _random_id() -> str:
    return secrets.token_urlsafe(12)
