"""Permissions, named once, granted to roles in one table, declared on every endpoint."""

from __future__ import annotations

import enum
from functools import wraps

from flask import abort
from flask_login import current_user

from portal.accounts.models import Role


class Permission(enum.StrEnum):
    PUBLIC = "public"  # anyone, signed in or not (sign-in page, language switch)
    SIGNED_IN = "account:self"  # any signed-in person (sign out)
    CHILDREN_READ = "children:read"
    CHILDREN_LINK = "children:link"
    STUDENTS_READ = "students:read"
    DOCUMENT_REVEAL = "students:document:reveal"
    LINKS_MANAGE = "guardian_links:manage"
    CASES_DECIDE = "cases:decide"
    REQUESTS_START = "requests:start"  # staff start a request from the family's paper form
    ALERTS_READ = "alerts:read"  # county and city units: the early-warning page (M-23)
    PROVINCE_SETTINGS_EDIT = "province:settings:edit"
    IDENTITY_CARD_SHOW = "identity:card:show"
    CERTIFICATES_MANAGE = "identity:certificates:manage"
    RELYING_PARTIES_APPROVE = "identity:relying_parties:approve"
    SECURITY_WARNINGS = "security:warnings"  # read and acknowledge early warnings (M-23)
    EXPORTS_REQUEST = "exports:request"  # ask for a de-identified export (M-24)
    EXPORTS_APPROVE = "exports:approve"  # county level and above: approve one (M-24)
    STAFF_ACCOUNTS_MANAGE = "staff_accounts:manage"  # own unit and below (portal/accounts/staff_admin.py)
    TRANSFERS_APPLY = "transfers:apply"  # the family applies; the receiving school enters one
    TRANSFERS_PAPER = "transfers:paper"  # a county records a transfer done on paper (N16)
    # Propose a correction of a child's details (a guardian; a school registrar from a paper
    # form) and upload its evidence.
    CORRECTIONS_PROPOSE = "corrections:propose"


_STAFF_READ = {Permission.STUDENTS_READ, Permission.DOCUMENT_REVEAL}

_OVERSIGHT = {Permission.SECURITY_WARNINGS, Permission.EXPORTS_REQUEST, Permission.EXPORTS_APPROVE}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.GUARDIAN: frozenset(
        {
            Permission.CHILDREN_READ,
            Permission.CHILDREN_LINK,
            Permission.IDENTITY_CARD_SHOW,
            Permission.CERTIFICATES_MANAGE,
            Permission.TRANSFERS_APPLY,
            Permission.CORRECTIONS_PROPOSE,
        }
    ),
    Role.SCHOOL_REGISTRAR: frozenset(
        _STAFF_READ
        | {
            Permission.LINKS_MANAGE,
            Permission.CASES_DECIDE,
            Permission.EXPORTS_REQUEST,
            Permission.REQUESTS_START,
            Permission.TRANSFERS_APPLY,
            Permission.CORRECTIONS_PROPOSE,
        }
    ),
    Role.COUNTY_REGISTRAR: frozenset(
        _STAFF_READ
        | _OVERSIGHT
        | {
            Permission.CASES_DECIDE,
            Permission.RELYING_PARTIES_APPROVE,
            Permission.REQUESTS_START,
            Permission.ALERTS_READ,
            Permission.STAFF_ACCOUNTS_MANAGE,
            Permission.TRANSFERS_PAPER,
        }
    ),
    Role.CITY_OFFICER: frozenset(
        _STAFF_READ | _OVERSIGHT | {Permission.ALERTS_READ, Permission.STAFF_ACCOUNTS_MANAGE}
    ),
    # A province may add its own step to a transfer's route: its administrators decide it.
    Role.PROVINCE_ADMIN: frozenset(
        _STAFF_READ
        | _OVERSIGHT
        | {Permission.PROVINCE_SETTINGS_EDIT, Permission.STAFF_ACCOUNTS_MANAGE, Permission.CASES_DECIDE}
    ),
}


def has_permission(user, permission: Permission) -> bool:
    """Whether `user` (possibly anonymous) holds `permission`."""
    if permission is Permission.PUBLIC:
        return True
    if not user.is_authenticated:
        return False
    return permission is Permission.SIGNED_IN or permission in ROLE_PERMISSIONS[user.role_enum]


def requires(permission: Permission):
    """Declare the permission an endpoint needs; every endpoint must carry one."""

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not has_permission(current_user, permission):
                if not current_user.is_authenticated:
                    from portal.extensions import login_manager

                    return login_manager.unauthorized()
                abort(403)
            return view(*args, **kwargs)

        guarded.required_permission = permission
        return guarded

    return decorate
