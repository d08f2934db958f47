"""Creating accounts and signing in."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import clock
from portal.accounts.models import ROLE_LEVEL, Role, User
from portal.accounts.passwords import hash_password, verify_password
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.guardians.service import looks_like_mobile, normalize_mobile

MIN_PASSWORD_LENGTH = 8
# M-24: staff accounts unused for six months are sealed.
STAFF_IDLE_LIMIT = timedelta(days=183)


def _check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            "account.weak_password",
            _l("Passwords need at least %(min)s characters."),
            min=MIN_PASSWORD_LENGTH,
        )


def create_guardian(mobile: str, display_name: str, password: str) -> User:
    mobile = normalize_mobile(mobile)
    _check_password_strength(password)
    if db.session.scalar(select(User.id).where(User.mobile == mobile)):
        raise Conflict("account.mobile_taken", _l("An account with this mobile number exists."))
    user = User(
        role=Role.GUARDIAN,
        mobile=mobile,
        display_name=display_name.strip(),
        password_hash=hash_password(password),
    )
    db.session.add(user)
    db.session.flush()
    return user


def create_staff(username: str, display_name: str, password: str, role: Role, org_unit) -> User:
    if role is Role.GUARDIAN or org_unit.level != ROLE_LEVEL[role]:
        raise ValidationFailed("account.role_level_mismatch", _l("This role does not belong at this level."))
    _check_password_strength(password)
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


def authenticate(login: str, password: str) -> User:
    """The account for `login` (mobile number or staff user name) if the password matches."""
    user = _find_by_login(login.strip())
    if not verify_password(user.password_hash if user else None, password):
        record_event(AuditTag.ACCOUNT_SIGN_IN_FAILED, actor=user)
        raise ValidationFailed("account.sign_in_refused", _SIGN_IN_REFUSED, status=401, keep_bookkeeping=True)
    _seal_if_idle(user)
    if not user.is_active:
        record_event(AuditTag.ACCOUNT_SIGN_IN_REFUSED, actor=user, reason="sealed")
        raise ValidationFailed(
            "account.sealed",
            _l(
                "This account is sealed because it was not used for six months. "
                "Please ask your administrator to reopen it."
            ),
            status=403,
            keep_bookkeeping=True,
        )
    user.last_sign_in_at = user.last_seen_at = clock.now()
    record_event(AuditTag.ACCOUNT_SIGNED_IN, actor=user)
    return user


def _find_by_login(login: str) -> User | None:
    if not looks_like_mobile(login):
        return db.session.scalar(select(User).where(User.username == login))
    try:
        mobile = normalize_mobile(login)
    except ValidationFailed:
        return None
    return db.session.scalar(select(User).where(User.mobile == mobile))


SEEN_RESOLUTION = timedelta(days=1)


def note_activity(user: User) -> None:
    """Remember that the account is in use (at most one write a day per account)."""
    now = clock.now()
    if user.last_seen_at is None or now - clock.aware(user.last_seen_at) > SEEN_RESOLUTION:
        user.last_seen_at = now


def _seal_if_idle(user: User) -> None:
    used = [clock.aware(m) for m in (user.last_seen_at, user.last_sign_in_at) if m is not None]
    # Never used at all: count from the day the account was made.
    last = max(used) if used else (clock.aware(user.created_at) if user.created_at else None)
    idle = user.is_staff and last is not None and clock.now() - last > STAFF_IDLE_LIMIT
    if idle and user.is_active_account:
        user.is_active_account = False
        record_event(AuditTag.ACCOUNT_SEALED, actor=user, reason="unused for six months")
