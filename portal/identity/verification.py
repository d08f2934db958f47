"""Online verification: the offline verifier plus what only the portal knows.

Revocation is read from the database (a revoked certificate, or a child no longer attending,
turns red at once, without waiting for the status list); a single-use check remembers token ids;
and every verification of a real token leaves a receipt the family sees.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import clock
from portal.extensions import db
from portal.identity import relying_parties
from portal.identity.keys import key_set
from portal.identity.models import Certificate, IssuedToken, RelyingParty, TokenUse, Verification
from portal.identity.verifier import Reason, TokenType, Verdict, Verifier
from portal.registry.models import Student
from portal.registry.status import Status


class Channel:
    PAGE = "page"
    API = "api"


def verify(
    token: str,
    *,
    audience: str,
    channel: str,
    single_use: bool = False,
) -> Verdict:
    """The verdict on `token` for `audience`, with a receipt for the child's family."""
    verifier = Verifier(key_set(), issuer=current_app.config["IDENTITY_ISSUER"], is_revoked=_is_revoked)
    verdict = verifier.verify(token, audience=audience)
    if verdict.is_valid and single_use and not _first_use(verdict.claims):
        verdict.refuse(Reason.ALREADY_USED)
    _leave_receipt(verdict, channel, relying_parties.find(audience))
    return verdict


def _is_revoked(claims: dict) -> bool | None:
    issued = db.session.get(IssuedToken, claims["jti"]) if isinstance(claims.get("jti"), str) else None
    if issued is None:
        return None
    if issued.type == TokenType.CERTIFICATE:
        certificate = db.session.scalar(select(Certificate).where(Certificate.jti == issued.jti))
        if certificate is None or certificate.revoked_at is not None:
            return True
    status = db.session.scalar(select(Student.status).where(Student.id == issued.student_id))
    return status != Status.ATTENDING


def _first_use(claims: dict) -> bool:
    """Remember the token id; False when it was presented before (unique key, race-safe)."""
    try:
        with db.session.begin_nested():
            db.session.add(
                TokenUse(
                    jti=claims["jti"], expires_at=datetime.fromtimestamp(claims["exp"], clock.now().tzinfo)
                )
            )
    except IntegrityError:
        return False
    return True


def _leave_receipt(verdict: Verdict, channel: str, relying_party: RelyingParty | None) -> None:
    """Only a token whose signature checked out is the child's: anything else tells the family nothing."""
    jti = verdict.claims.get("jti")
    issued = db.session.get(IssuedToken, jti) if verdict.claims and isinstance(jti, str) else None
    if issued is None:
        return
    db.session.add(
        Verification(
            student_id=issued.student_id,
            jti=issued.jti,
            relying_party_id=getattr(relying_party, "id", None),
            channel=channel,
            claims=issued.claims if verdict.is_valid else [],
            outcome=str(verdict.reason or "valid"),
            at=clock.now(),
        )
    )


def receipts_for(student, *, limit: int = 20) -> list[Verification]:
    """The latest verifications of the child's tokens, newest first."""
    return list(
        db.session.scalars(
            select(Verification)
            .where(Verification.student_id == student.id)
            .order_by(Verification.at.desc(), Verification.id.desc())
            .limit(limit)
        )
    )
