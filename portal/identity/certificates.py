"""Registry certificates (学籍证明): requested by a guardian, revocable, verifiable by a typed code."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask import has_request_context, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import clock
from portal.accounts.models import User
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.guardians.models import GuardianLink
from portal.identity import statuslist
from portal.identity.keys import derived_secret
from portal.identity.models import Certificate
from portal.identity.tokens import certificate_claims, refuse_unless_attending, sign_and_record
from portal.identity.verifier import TokenType
from portal.notifications.messages import register_message
from portal.notifications.service import notify

# No purpose and no name in the text: the purpose is the family's free text (it may hold anything).
CERTIFICATES_REVOKED = register_message(
    "identity.certificates_revoked",
    subject=_l("Registry certificate revoked"),
    body=_l(
        "Your child's registry status changed, so %(count)s registry certificate(s) were revoked. "
        "Anyone who checks them now sees that they are no longer valid."
    ),
)

DEFAULT_VALID_DAYS = 30
MAX_VALID_DAYS = 180
# Crockford's base32: no I, L, O, U, so a code read aloud or typed survives.
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_LENGTH = 10  # 50 bits; typed codes are rate-limited
_TYPO_FIXES = str.maketrans({"O": "0", "I": "1", "L": "1"})


class RevokedBecause:
    GUARDIAN = "guardian"
    STATUS_CHANGE = "status_change"


def request_certificate(
    guardian, student, *, purpose: str, valid_days: int = DEFAULT_VALID_DAYS
) -> Certificate:
    """Issue a certificate for one purpose, valid 1–180 days, while the child is attending."""
    refuse_unless_attending(student)
    purpose = " ".join(purpose.split())
    if not 2 <= len(purpose) <= 100:
        raise ValidationFailed("certificate.purpose_needed", _l("Please say what the certificate is for."))
    if not 1 <= valid_days <= MAX_VALID_DAYS:
        raise ValidationFailed(
            "certificate.bad_validity", _l("A certificate is valid for 1 to 180 days."), max=MAX_VALID_DAYS
        )
    list_id, index = statuslist.allocate_index()
    issued_at = clock.now().replace(microsecond=0)
    expires_at = issued_at + timedelta(days=valid_days)
    claims = certificate_claims(
        student, issued_at=issued_at, expires_at=expires_at, status=statuslist.reference(list_id, index)
    )
    token = sign_and_record(claims, TokenType.CERTIFICATE, student)
    certificate = Certificate(
        student_id=student.id,
        requested_by_id=guardian.id,
        purpose=purpose,
        jti=claims["jti"],
        token=token,
        code_hash=_code_hash(verification_code_for(claims["jti"])),
        status_list=list_id,
        status_index=index,
        issued_at=issued_at,
        expires_at=expires_at,
    )
    db.session.add(certificate)
    db.session.flush()
    record_event(AuditTag.CERTIFICATE_ISSUED, actor=guardian, student=student, certificate=certificate.id)
    return certificate


def verification_code(certificate: Certificate) -> str:
    """The short code printed on the certificate, shown as XXXXX-XXXXX."""
    code = verification_code_for(certificate.jti)
    return f"{code[:5]}-{code[5:]}"


def verification_code_for(jti: str) -> str:
    digest = hmac.digest(derived_secret("certificate codes"), jti.encode(), hashlib.sha256)
    number = int.from_bytes(digest[:8], "big")
    return "".join(_CODE_ALPHABET[(number >> (5 * i)) & 31] for i in range(_CODE_LENGTH))


def find_by_code(typed: str) -> Certificate | None:
    """The certificate a typed code names (case, dashes, spaces and O/0 I/1 confusions forgiven)."""
    code = "".join(typed.upper().split()).replace("-", "").translate(_TYPO_FIXES)
    if len(code) != _CODE_LENGTH or set(code) - set(_CODE_ALPHABET):
        return None
    return db.session.scalar(select(Certificate).where(Certificate.code_hash == _code_hash(code)))


def certificates_of(student) -> list[Certificate]:
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.student_id == student.id)
            .order_by(Certificate.issued_at.desc())
        )
    )


def get_certificate(student, certificate_id: int) -> Certificate:
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or certificate.student_id != student.id:
        raise NotFound("certificate.not_found", _l("No such certificate."))
    return certificate


def revoke(certificate: Certificate, guardian) -> None:
    """The guardian withdraws a certificate (it turns red everywhere)."""
    if certificate.revoked_at is not None:
        raise Conflict("certificate.already_revoked", _l("This certificate was already revoked."))
    _revoke(certificate, RevokedBecause.GUARDIAN, guardian)


def revoke_for_status_change(student, actor=None) -> list[Certificate]:
    """The student no longer attends: every live certificate is revoked at once, and the family told."""
    live = db.session.scalars(
        select(Certificate).where(
            Certificate.student_id == student.id,
            Certificate.revoked_at.is_(None),
            Certificate.expires_at > clock.now(),
        )
    ).all()
    for certificate in live:
        _revoke(certificate, RevokedBecause.STATUS_CHANGE, actor)
    if live:
        _tell_the_family(student, len(live))
    return list(live)


def _tell_the_family(student, count: int) -> None:
    guardians = db.session.scalars(
        select(User)
        .join(GuardianLink, GuardianLink.guardian_id == User.id)
        .where(GuardianLink.student_id == student.id, GuardianLink.revoked_at.is_(None))
    ).all()
    url = url_for("identity.certificate_list", student_id=student.id) if has_request_context() else None
    url = url or f"/children/{student.id}/certificates"
    for guardian in guardians:
        notify(guardian, CERTIFICATES_REVOKED.code, student=student, url=url, count=count)


def is_live(certificate: Certificate) -> bool:
    return certificate.revoked_at is None and clock.aware(certificate.expires_at) > clock.now()


def _revoke(certificate: Certificate, reason: str, actor) -> None:
    certificate.revoked_at = clock.now()
    certificate.revoked_reason = reason
    certificate.revoked_by_id = getattr(actor, "id", None)
    record_event(
        AuditTag.CERTIFICATE_REVOKED,
        actor=actor,
        student=certificate.student,
        certificate=certificate.id,
        reason=reason,
    )


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()
