"""Unit administrators manage the staff accounts of their own unit and the units below it.

Never above, never beside: an account outside the administrator's subtree is "not found".
Unsealing (M-24) is reserved to an administrator of a unit above the account's own unit.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from portal import clock
from portal.accounts.models import ROLE_LEVEL, Passkey, Role, User
from portal.accounts.passwords import hash_password
from portal.accounts.service import create_staff
from portal.accounts.sessions import end_every_session
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import DomainError, NotFound, ValidationFailed
from portal.extensions import db
from portal.orgs.models import OrgUnit

# A password set by an administrator is "changed" at the epoch: already expired, so the
# person must choose their own at the first sign-in (M-24).
_EXPIRED = datetime(1970, 1, 1, tzinfo=UTC)
_TEMPORARY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
MAX_LISTED = 200


def _is_within(unit: OrgUnit, top: OrgUnit) -> bool:
    return unit.path.startswith(top.path)


def managed_accounts(actor: User) -> list[User]:
    top = actor.org_unit
    return list(
        db.session.scalars(
            select(User)
            .join(OrgUnit, User.org_unit_id == OrgUnit.id)
            .where(OrgUnit.path.startswith(top.path, autoescape=True), User.role != Role.GUARDIAN)
            .order_by(OrgUnit.path, User.username)
            .limit(MAX_LISTED)
        )
    )


def managed_account(actor: User, user_id: int) -> User:
    """A staff account in the actor's subtree; anything else is not found (404, no probing)."""
    user = db.session.get(User, user_id)
    if user is None or not user.is_staff or not _is_within(user.org_unit, actor.org_unit):
        raise NotFound("staff.not_found", _l("No such staff account."))
    return user


def unit_for_new_account(actor: User, code: str) -> OrgUnit:
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code.strip()))
    if unit is None or not _is_within(unit, actor.org_unit):
        raise NotFound("staff.unit_not_found", _l("No unit with this code under yours."))
    return unit


def _temporary_password() -> str:
    groups = ("".join(secrets.choice(_TEMPORARY_ALPHABET) for _ in range(4)) for _ in range(4))
    return "-".join(groups)


def create_account(actor: User, unit: OrgUnit, username: str, display_name: str) -> tuple[User, str]:
    """A staff account in `unit` (the role follows the unit's level); returns it and a temporary password."""
    if not _is_within(unit, actor.org_unit):
        raise NotFound("staff.unit_not_found", _l("No unit with this code under yours."))
    if not username or not display_name:
        raise ValidationFailed("staff.fields_required", _l("Please enter a user name and a name."))
    role = next(role for role, level in ROLE_LEVEL.items() if level == unit.level)
    password = _temporary_password()
    user = create_staff(username, display_name, password, role, unit)
    user.password_changed_at = _EXPIRED
    record_event(AuditTag.STAFF_ACCOUNT_CREATED, actor=actor, account_id=user.id, unit_id=unit.id)
    return user, password


def _not_oneself(actor: User, user: User) -> None:
    if user.id == actor.id:
        raise ValidationFailed(
            "staff.not_oneself",
            _l("Ask an administrator of your unit or the unit above to do this."),
            status=403,
        )


def reset_password(actor: User, user_id: int) -> tuple[User, str]:
    """A new temporary password; the account's sessions end and its passkeys are removed
    (a lost phone is the usual reason), so a passkey is enrolled again after the password."""
    user = managed_account(actor, user_id)
    _not_oneself(actor, user)
    password = _temporary_password()
    user.password_hash = hash_password(password)
    user.password_changed_at = _EXPIRED
    end_every_session(user)
    removed = db.session.execute(delete(Passkey).where(Passkey.user_id == user.id)).rowcount
    record_event(AuditTag.STAFF_PASSWORD_RESET, actor=actor, account_id=user.id, passkeys_removed=removed)
    return user, password


def seal(actor: User, user_id: int, reason: str) -> User:
    user = managed_account(actor, user_id)
    _not_oneself(actor, user)
    reason = reason.strip()[:200]
    if not reason:
        raise ValidationFailed("staff.reason_required", _l("Please give the reason."))
    if user.is_active_account:
        user.is_active_account = False
        end_every_session(user)
        record_event(AuditTag.ACCOUNT_SEALED, actor=actor, account_id=user.id, reason=reason)
    return user


def unseal(actor: User, user_id: int) -> User:
    """Reopen a sealed account: only an administrator of a unit above the account's unit (M-24)."""
    user = managed_account(actor, user_id)
    if user.org_unit_id == actor.org_unit_id:
        raise DomainError(
            "staff.unseal_needs_unit_above",
            _l("A sealed account can be reopened only by an administrator of the unit above."),
            status=403,
        )
    if not user.is_active_account:
        user.is_active_account = True
        user.last_seen_at = clock.now()  # or the next sign-in would seal it again at once
        record_event(AuditTag.ACCOUNT_UNSEALED, actor=actor, account_id=user.id)
    return user
