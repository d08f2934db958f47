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
    PROVINCE_SETTINGS_EDIT = "province:settings:edit"


_STAFF_READ = {Permission.STUDENTS_READ, Permission.DOCUMENT_REVEAL}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.GUARDIAN: frozenset({Permission.CHILDREN_READ, Permission.CHILDREN_LINK}),
    Role.SCHOOL_REGISTRAR: frozenset(_STAFF_READ | {Permission.LINKS_MANAGE, Permission.CASES_DECIDE}),
    Role.COUNTY_REGISTRAR: frozenset(_STAFF_READ | {Permission.CASES_DECIDE}),
    Role.CITY_OFFICER: frozenset(_STAFF_READ),
    Role.PROVINCE_ADMIN: frozenset(_STAFF_READ | {Permission.PROVINCE_SETTINGS_EDIT}),
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
