"""Getting in by mobile number: the first sign-in from the school's code, and a forgotten password.

Both prove the number with a six-digit code sent by SMS (through the outbox of
`portal.notifications`): short-lived, single-use, a few tries. The answers never say
whether an account exists for a number.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from portal import clock
from portal.accounts.models import OneTimeCode, Role, User
from portal.accounts.passwords import hash_password
from portal.accounts.service import _check_password_strength, create_guardian
from portal.accounts.sessions import end_every_session
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.guardians.service import check_code_for_new_guardian, link_with_checked_code, normalize_mobile

CODE_LIFETIME = timedelta(minutes=10)
MAX_CODE_ATTEMPTS = 5

_CODE_REFUSED = _l("This SMS code is wrong or no longer valid. Please ask for a new one.")


def send_sms_code(mobile: str, body: str) -> None:
    """The one place an SMS leaves from this package: queued in the outbox, sent after commit."""
    from portal.notifications.service import enqueue_sms

    enqueue_sms(mobile, body)


def _hash(code: str) -> str:
    key = current_app.config["BINDING_CODE_KEY"].encode()
    return hmac.new(key, f"sms:{code}".encode(), "sha256").hexdigest()


def _issue_code(mobile: str, purpose: str) -> None:
    # Only the newest code works: a resend voids the earlier ones.
    db.session.execute(
        update(OneTimeCode)
        .where(OneTimeCode.mobile == mobile, OneTimeCode.purpose == purpose, OneTimeCode.used_at.is_(None))
        .values(used_at=clock.now())
    )
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = clock.now()
    db.session.add(
        OneTimeCode(
            mobile=mobile,
            purpose=purpose,
            code_hash=_hash(code),
            created_at=now,
            expires_at=now + CODE_LIFETIME,
            failed_attempts=0,
        )
    )
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    send_sms_code(mobile, str(_SMS_TEXT[purpose]) % {"code": code, "minutes": minutes})


_SMS_TEXT = {
    "register": _l(
        "Student Registry Service Portal: your code is %(code)s, valid for %(minutes)s minutes. "
        "Do not share it."
    ),
    "reset": _l(
        "Student Registry Service Portal: your code to set a new password is %(code)s, valid for "
        "%(minutes)s minutes. If you did not ask for it, ignore this message."
    ),
}


def _use_code(mobile: str, purpose: str, code: str) -> None:
    row = db.session.scalar(
        select(OneTimeCode)
        .where(OneTimeCode.mobile == mobile, OneTimeCode.purpose == purpose, OneTimeCode.used_at.is_(None))
        .order_by(OneTimeCode.id.desc())
        .limit(1)
        .with_for_update()
    )
    usable = (
        row is not None
        and row.failed_attempts < MAX_CODE_ATTEMPTS
        and clock.aware(row.expires_at) > clock.now()
    )
    if not usable or not hmac.compare_digest(row.code_hash, _hash(code.strip())):
        if row is not None:
            row.failed_attempts += 1
        raise ValidationFailed("sms_code.refused", _CODE_REFUSED, keep_bookkeeping=True)
    row.used_at = clock.now()


# --- First sign-in from the school's code ----------------------------------------------------


def start_first_sign_in(mobile: str, binding_code: str, birth_date: date) -> int:
    """Check the school's code against the number and birth date, then text a code to the number.

    Returns the binding code's id, which the browser session keeps for the second step.
    """
    mobile = normalize_mobile(mobile)
    row = check_code_for_new_guardian(mobile, binding_code, birth_date)
    if db.session.scalar(select(User.id).where(User.mobile == mobile)):
        # Whoever reached here holds this number's code and the child's birth date.
        raise ValidationFailed(
            "account.already_exists",
            _l("This mobile number already has an account. Please sign in and link the child there."),
            status=409,
        )
    _issue_code(mobile, "register")
    return row.id


def finish_first_sign_in(mobile: str, binding_code_id: int, sms_code: str, password: str) -> User:
    """Create the guardian's account and link the child, in one step."""
    mobile = normalize_mobile(mobile)
    _check_password_strength(password, personal=(mobile,))
    _use_code(mobile, "register", sms_code)
    row = _binding_code(mobile, binding_code_id, lock=True)
    user = create_guardian(mobile, row.guardian_name, password)
    link_with_checked_code(user, row)
    record_event(AuditTag.ACCOUNT_CREATED, actor=user, via="binding_code")
    return user


def _binding_code(mobile: str, binding_code_id: int, *, lock: bool = False):
    from portal.guardians.models import BindingCode

    row = db.session.get(BindingCode, binding_code_id, with_for_update=lock)
    if row is None or row.guardian_mobile != mobile or row.used_at or row.revoked_at:
        raise ValidationFailed("binding.code_refused", _l("The school's code is no longer valid."))
    return row


# --- ... or with a passkey and no password -------------------------------------------------
# The SMS code is proven first (and used up); the browser session then carries the proof for
# PASSKEY_SIGN_UP_WINDOW, and the account, the child's link and the passkey are made together
# when the passkey's answer checks out. No passkey, no account.

PASSKEY_SIGN_UP_WINDOW = CODE_LIFETIME


def prove_first_sign_in_code(mobile: str, binding_code_id: int, sms_code: str) -> None:
    mobile = normalize_mobile(mobile)
    _use_code(mobile, "register", sms_code)
    _binding_code(mobile, binding_code_id)


def proof_is_fresh(proven_at: str | None) -> bool:
    if not proven_at:
        return False
    return clock.now() - datetime.fromisoformat(proven_at) < PASSKEY_SIGN_UP_WINDOW


def begin_passkey_sign_up(mobile: str, binding_code_id: int, handle: bytes, party) -> tuple[int, str]:
    from portal.accounts import passkeys

    mobile = normalize_mobile(mobile)
    row = _binding_code(mobile, binding_code_id)
    return passkeys.begin_sign_up(handle, mobile, row.guardian_name, party)


def finish_passkey_sign_up(
    mobile: str,
    binding_code_id: int,
    handle: bytes,
    challenge_id: int | None,
    response: str,
    name: str,
    party,
) -> User:
    """Create the guardian's account with its first passkey and link the child, in one step."""
    from portal.accounts import passkeys

    mobile = normalize_mobile(mobile)
    credential = passkeys.verified_sign_up(challenge_id, response, party)
    row = _binding_code(mobile, binding_code_id, lock=True)
    user = create_guardian(mobile, row.guardian_name, None)
    user.webauthn_handle = handle
    link_with_checked_code(user, row)
    passkeys.add_passkey(user, credential, name, first_enrolment=True)
    record_event(AuditTag.ACCOUNT_CREATED, actor=user, via="binding_code+passkey")
    return user


# --- Forgotten password --------------------------------------------------------------------


def request_password_reset(mobile: str) -> None:
    """Text a reset code if a guardian account has this number; say nothing either way."""
    try:
        mobile = normalize_mobile(mobile)
    except ValidationFailed:
        return
    user = db.session.scalar(select(User).where(User.mobile == mobile, User.role == Role.GUARDIAN))
    if user is not None and user.is_active:
        _issue_code(mobile, "reset")


def reset_password(mobile: str, sms_code: str, password: str) -> User:
    mobile = normalize_mobile(mobile)
    _check_password_strength(password, personal=(mobile,))
    _use_code(mobile, "reset", sms_code)
    user = db.session.scalar(select(User).where(User.mobile == mobile))
    if user is None:  # a code only ever goes to an existing account; kept for safety
        raise ValidationFailed("sms_code.refused", _CODE_REFUSED)
    user.password_hash = hash_password(password)
    user.password_changed_at = clock.now()
    end_every_session(user)
    record_event(AuditTag.ACCOUNT_PASSWORD_RESET, actor=user, via="sms")
    return user
