"""Linking guardians to children: the school issues a code, the guardian redeems it."""

from __future__ import annotations

import hmac
import secrets
import unicodedata
from datetime import date, timedelta
from types import SimpleNamespace

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import clock
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.guardians.models import BindingCode, GuardianLink, Relation
from portal.registry.models import Student

# No 0/O, 1/I/L: the code is read off paper and typed on a phone.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
MOBILE_LENGTH = 11


def hash_code(code: str) -> str:
    """A keyed hash (HMAC-SHA256): 31⁸ codes are too few to store as a plain hash.

    Without the key (BINDING_CODE_KEY), a copy of the table does not let anyone try every code.
    """
    key = current_app.config["BINDING_CODE_KEY"].encode()
    return hmac.new(key, code.encode(), "sha256").hexdigest()


def normalize_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def looks_like_mobile(text: str) -> bool:
    """Whether `text` is written like a phone number (digits, spaces, dashes, +, brackets)."""
    compact = unicodedata.normalize("NFKC", text).strip()
    return bool(compact) and all(ch.isdigit() or ch in " -+()" for ch in compact)


def normalize_mobile(mobile: str) -> str:
    """Digits only; a mainland mobile number is 11 digits starting with 1."""
    # NFKC turns full-width digits (typed with a Chinese input method) into ASCII ones.
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", mobile) if ch in "0123456789")
    if digits.startswith("86") and len(digits) == MOBILE_LENGTH + 2:
        digits = digits[2:]
    if len(digits) != MOBILE_LENGTH or not digits.startswith("1"):
        raise ValidationFailed("account.bad_mobile", _l("Please enter an 11-digit mainland mobile number."))
    return digits


def issue_code(
    student: Student, guardian_name: str, guardian_mobile: str, relation: str, actor
) -> tuple[BindingCode, str]:
    """Issue a one-time code for the named guardian; returns the row and the plain code.

    Only the newest code per child and mobile number works: an earlier one (a double tap,
    a reprint) is revoked, so no forgotten code stays redeemable.
    """
    guardian_name = guardian_name.strip()
    if not 1 <= len(guardian_name) <= 50:
        raise ValidationFailed("binding.bad_guardian_name", _l("Please enter the guardian's name."))
    try:
        relation = Relation(relation)
    except ValueError:
        raise ValidationFailed(
            "binding.bad_relation", _l("Please choose the relation to the child.")
        ) from None
    mobile = normalize_mobile(guardian_mobile)
    for earlier in open_codes_of(student):
        if earlier.guardian_mobile == mobile:
            revoke_code(earlier.id, student, actor, reason=REPLACED_BY_NEW_CODE)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    lifetime = timedelta(days=current_app.config["BINDING_CODE_LIFETIME_DAYS"])
    row = BindingCode(
        student_id=student.id,
        guardian_name=guardian_name,
        guardian_mobile=mobile,
        relation=relation,
        code_hash=hash_code(code),
        created_by_id=actor.id,
        expires_at=clock.now() + lifetime,
    )
    db.session.add(row)
    db.session.flush()
    record_event(AuditTag.BINDING_CODE_ISSUED, actor=actor, student=student, code_id=row.id)
    return row, code


REPLACED_BY_NEW_CODE = "replaced by a new code"
MAX_REASON_LENGTH = 200


def _required_reason(reason: str) -> str:
    """Undoing what a family relies on is never done without saying why (kept in the audit trail)."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("binding.reason_required", _l("Please give the reason."))
    return reason[:MAX_REASON_LENGTH]


def code_of(code_id: int, student: Student) -> BindingCode:
    row = db.session.get(BindingCode, code_id)
    if row is None or row.student_id != student.id:
        raise NotFound("binding.code_not_found", _l("No such binding code."))
    return row


def revoke_code(code_id: int, student: Student, actor, *, reason: str) -> None:
    row = code_of(code_id, student)
    reason = _required_reason(reason)
    if row.used_at is None and row.revoked_at is None:
        row.revoked_at = clock.now()
        record_event(
            AuditTag.BINDING_CODE_REVOKED, actor=actor, student=student, code_id=row.id, reason=reason
        )


_CODE_REFUSED = _l(
    "This code and birth date do not match a child waiting to be linked to this account. "
    "Please check both, or ask the school for a new code."
)


def redeem_code(guardian, code: str, birth_date: date) -> GuardianLink:
    """Link `guardian` to the child the code was issued for, if everything agrees."""
    row = db.session.scalar(
        select(BindingCode)
        .where(BindingCode.code_hash == hash_code(normalize_code(code)))
        .with_for_update(of=BindingCode)
    )
    if row is not None and row.used_at is not None:
        earlier = _live_link(guardian.id, row.student_id)
        if earlier is not None:
            return earlier  # the same guardian's retried submit
    if not _code_matches(row, guardian, birth_date):
        if row is not None:
            row.failed_attempts += 1
            record_event(AuditTag.BINDING_CODE_FAILED, actor=guardian, code_id=row.id)
        # One message for every cause, so the form reveals nothing about other families.
        # The attempt count must survive the refusal, or guessing would be free.
        raise ValidationFailed("binding.code_refused", _CODE_REFUSED, keep_bookkeeping=True)
    if _live_link(guardian.id, row.student_id):
        raise Conflict("binding.already_linked", _l("This child is already linked to you."))
    return link_with_checked_code(guardian, row)


def check_code_for_new_guardian(mobile: str, code: str, birth_date: date) -> BindingCode:
    """The code row, if `code` was issued for `mobile` and the child's birth date agrees.

    For a guardian without an account yet (first sign-in from the school's code); refused
    exactly like `redeem_code`, and the failed attempt counts the same.
    """
    row = db.session.scalar(
        select(BindingCode)
        .where(BindingCode.code_hash == hash_code(normalize_code(code)))
        .with_for_update(of=BindingCode)
    )
    if not _code_matches(row, SimpleNamespace(mobile=mobile), birth_date):
        if row is not None:
            row.failed_attempts += 1
            record_event(AuditTag.BINDING_CODE_FAILED, code_id=row.id)
        raise ValidationFailed("binding.code_refused", _CODE_REFUSED, keep_bookkeeping=True)
    return row


def link_with_checked_code(guardian, row: BindingCode) -> GuardianLink:
    """Use the (checked, locked) code: the guardian and the child are linked."""
    row.used_at = clock.now()
    link = GuardianLink(
        guardian_id=guardian.id, student_id=row.student_id, relation=row.relation, binding_code_id=row.id
    )
    db.session.add(link)
    db.session.flush()
    record_event(AuditTag.GUARDIAN_LINKED, actor=guardian, student=row.student, link_id=link.id)
    return link


def _code_matches(row: BindingCode | None, guardian, birth_date: date) -> bool:
    max_attempts = current_app.config["BINDING_CODE_MAX_ATTEMPTS"]
    return (
        row is not None
        and row.used_at is None
        and row.revoked_at is None
        and row.failed_attempts < max_attempts
        and clock.aware(row.expires_at) > clock.now()
        and row.guardian_mobile == guardian.mobile
        and row.student.birth_date == birth_date
    )


def _live_link(guardian_id: int, student_id: int) -> GuardianLink | None:
    return db.session.scalar(
        select(GuardianLink).where(
            GuardianLink.guardian_id == guardian_id,
            GuardianLink.student_id == student_id,
            GuardianLink.revoked_at.is_(None),
        )
    )


def link_of(link_id: int, student: Student) -> GuardianLink:
    link = db.session.get(GuardianLink, link_id)
    if link is None or link.student_id != student.id:
        raise NotFound("binding.link_not_found", _l("No such guardian link."))
    return link


def revoke_link(link_id: int, student: Student, actor, *, reason: str) -> None:
    link = link_of(link_id, student)
    reason = _required_reason(reason)
    if link.revoked_at is None:
        link.revoked_at = clock.now()
        link.revoked_by_id = actor.id
        record_event(
            AuditTag.GUARDIAN_LINK_REVOKED, actor=actor, student=student, link_id=link.id, reason=reason
        )


def links_of(student: Student) -> list[GuardianLink]:
    return list(
        db.session.scalars(
            select(GuardianLink)
            .where(GuardianLink.student_id == student.id)
            .order_by(GuardianLink.created_at.desc())
        )
    )


def open_codes_of(student: Student) -> list[BindingCode]:
    """Codes that could still be redeemed: unused, not revoked, not locked, not expired."""
    codes = db.session.scalars(
        select(BindingCode)
        .where(
            BindingCode.student_id == student.id,
            BindingCode.used_at.is_(None),
            BindingCode.revoked_at.is_(None),
            BindingCode.failed_attempts < current_app.config["BINDING_CODE_MAX_ATTEMPTS"],
        )
        .order_by(BindingCode.created_at.desc())
    )
    return [code for code in codes if clock.aware(code.expires_at) > clock.now()]
