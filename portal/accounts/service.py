"""Creating accounts and signing in."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import clock
from portal.accounts.models import ROLE_LEVEL, Role, User
from portal.accounts.passkeys import has_passkey
from portal.accounts.passwords import MIN_LENGTH, MIN_STAFF_LENGTH, hash_password, verify_password, weakness
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.guardians.service import looks_like_mobile, normalize_mobile
from portal.orgs.models import OrgLevel

# M-24: staff accounts unused for six months are sealed.
STAFF_IDLE_LIMIT = timedelta(days=183)


_WEAK = {
    "short": _l("Passwords need at least %(min)s characters."),
    "common": _l("This password is too common and easy to guess. Please choose another."),
    "personal": _l("The password must not contain your mobile number or user name."),
}


def _check_password_strength(
    password: str, *, is_staff: bool = False, personal: tuple[str, ...] = ()
) -> None:
    why = weakness(password, is_staff=is_staff, personal=personal)
    if why is not None:
        raise ValidationFailed(
            "account.weak_password", _WEAK[why], min=MIN_STAFF_LENGTH if is_staff else MIN_LENGTH
        )


def create_guardian(mobile: str, display_name: str, password: str | None) -> User:
    """A guardian's account; `password` None for one who signs up with a passkey instead."""
    mobile = normalize_mobile(mobile)
    if password is not None:
        _check_password_strength(password, personal=(mobile,))
    if db.session.scalar(select(User.id).where(User.mobile == mobile)):
        raise Conflict("account.mobile_taken", _l("An account with this mobile number exists."))
    user = User(
        role=Role.GUARDIAN,
        mobile=mobile,
        display_name=display_name.strip(),
        password_hash=hash_password(password) if password is not None else None,
    )
    db.session.add(user)
    db.session.flush()
    return user


def create_staff(username: str, display_name: str, password: str, role: Role, org_unit) -> User:
    if role is Role.GUARDIAN or org_unit.level != ROLE_LEVEL[role]:
        raise ValidationFailed("account.role_level_mismatch", _l("This role does not belong at this level."))
    _check_password_strength(password, is_staff=True, personal=(username,))
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise Conflict("account.username_taken", _l("This user name is taken."))
    user = User(
        role=role,
        username=username,
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        org_unit=org_unit,
    )
    db.session.add(user)
    db.session.flush()
    return user


_SIGN_IN_REFUSED = _l("The sign-in name or password is wrong.")
_SEALED = _l(
    "This account is sealed because it was not used for six months. "
    "Please ask your administrator to reopen it."
)


def authenticate(login: str, password: str) -> User:
    """The account for `login` (mobile number or staff user name) if the password matches."""
    user = _find_by_login(login.strip())
    if not verify_password(user.password_hash if user else None, password):
        record_event(AuditTag.ACCOUNT_SIGN_IN_FAILED, actor=user)
        raise ValidationFailed("account.sign_in_refused", _SIGN_IN_REFUSED, status=401, keep_bookkeeping=True)
    check_can_sign_in(user)
    if passkey_only(user):
        if has_passkey(user):
            record_event(AuditTag.ACCOUNT_SIGN_IN_REFUSED, actor=user, reason="passkey required")
            raise ValidationFailed(
                "account.passkey_required",
                _l(
                    "Staff of county, city and province units sign in with a passkey. "
                    "Please use “Sign in with a passkey”."
                ),
                status=403,
                keep_bookkeeping=True,
            )
        # Not signed in: the caller opens the short window in which the first passkey is added.
        record_event(AuditTag.PASSKEY_ENROLMENT_OPENED, actor=user)
        return user
    note_sign_in(user, "password")
    return user


def passkey_only(user: User) -> bool:
    """Whether a password alone may not sign this account in (county, city, province staff)."""
    return current_app.config["STAFF_PASSKEY_REQUIRED"] and user.role_enum.needs_passkey


def must_enrol_passkey(user: User) -> bool:
    return passkey_only(user) and not has_passkey(user)


def note_sign_in(user: User, method: str) -> None:
    """Record a completed sign-in (password or passkey)."""
    user.last_sign_in_at = user.last_seen_at = clock.now()
    record_event(AuditTag.ACCOUNT_SIGNED_IN, actor=user, method=method)


def check_can_sign_in(user: User) -> None:
    """Refuse a sealed account, whatever the way of signing in."""
    _seal_if_idle(user)
    if not user.is_active:
        record_event(AuditTag.ACCOUNT_SIGN_IN_REFUSED, actor=user, reason="sealed")
        raise ValidationFailed("account.sealed", _SEALED, status=403, keep_bookkeeping=True)


def _find_by_login(login: str) -> User | None:
    if not looks_like_mobile(login):
        return db.session.scalar(select(User).where(User.username == login))
    try:
        mobile = normalize_mobile(login)
    except ValidationFailed:
        return None
    return db.session.scalar(select(User).where(User.mobile == mobile))


SEEN_RESOLUTION = timedelta(days=1)


def _seal_if_idle(user: User) -> None:
    used = [clock.aware(m) for m in (user.last_seen_at, user.last_sign_in_at) if m is not None]
    # Never used at all: count from the day the account was made.
    last = max(used) if used else (clock.aware(user.created_at) if user.created_at else None)
    idle = user.is_staff and last is not None and clock.now() - last > STAFF_IDLE_LIMIT
    if idle and user.is_active_account:
        user.is_active_account = False
        record_event(AuditTag.ACCOUNT_SEALED, actor=user, reason="unused for six months")


def change_password(user: User, current: str, new: str, repeated: str) -> None:
    """Change one's own password (the current one proves it is them); other sessions end."""
    if not verify_password(user.password_hash, current):
        record_event(AuditTag.ACCOUNT_SIGN_IN_FAILED, actor=user, during="password change")
        raise ValidationFailed(
            "account.wrong_password", _l("The current password is wrong."), keep_bookkeeping=True
        )
    if new != repeated:
        raise ValidationFailed("account.passwords_differ", _l("The two new passwords differ."))
    if new == current:
        raise ValidationFailed("account.password_unchanged", _l("Please choose a new password."))
    _check_password_strength(new, is_staff=user.is_staff, personal=(user.mobile or "", user.username or ""))
    user.password_hash = hash_password(new)
    user.password_changed_at = clock.now()
    record_event(AuditTag.ACCOUNT_PASSWORD_CHANGED, actor=user)


def password_expired(user: User) -> bool:
    """Staff passwords expire after the province's period (M-24: changed periodically)."""
    if not user.is_staff:
        return False
    from portal.provinces.rules import password_max_age_days

    province = user.org_unit.ancestor_at(OrgLevel.PROVINCE)
    changed = user.password_changed_at or user.created_at
    if province is None or changed is None:
        return False
    return clock.now() - clock.aware(changed) > timedelta(days=password_max_age_days(province.id))
