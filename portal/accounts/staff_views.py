"""The unit administrator's page: staff accounts of the unit and below (create, reset, seal, unseal)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import forms
from portal.accounts import staff_admin
from portal.accounts.sessions import require_recent_sign_in
from portal.errors import DomainError
from portal.security.permissions import Permission, requires
from portal.web import render_form_error

blueprint = Blueprint("staff_accounts", __name__, url_prefix="/admin/staff")


def _context(**extra) -> dict:
    return {
        "accounts": staff_admin.managed_accounts(current_user),
        "new_account": None,
        "temporary_password": None,
        **extra,
    }


@blueprint.get("/")
@requires(Permission.STAFF_ACCOUNTS_MANAGE)
def index():
    return render_template("accounts/staff.html", **_context())


@blueprint.post("/")
@requires(Permission.STAFF_ACCOUNTS_MANAGE)
@require_recent_sign_in()
def create():
    try:
        unit = staff_admin.unit_for_new_account(current_user, forms.text("unit_code", max_length=12))
        user, password = staff_admin.create_account(
            current_user,
            unit,
            forms.text("username", max_length=40),
            forms.text("display_name", max_length=50),
        )
    except DomainError as error:
        return render_form_error("accounts/staff.html", error, **_context())
    # Shown once, like a binding code: the administrator hands it over in person.
    return render_template("accounts/staff.html", **_context(new_account=user, temporary_password=password))


@blueprint.post("/<int:user_id>/reset")
@requires(Permission.STAFF_ACCOUNTS_MANAGE)
@require_recent_sign_in()
def reset(user_id: int):
    try:
        user, password = staff_admin.reset_password(current_user, user_id)
    except DomainError as error:
        return render_form_error("accounts/staff.html", error, **_context())
    return render_template("accounts/staff.html", **_context(new_account=user, temporary_password=password))


@blueprint.post("/<int:user_id>/seal")
@requires(Permission.STAFF_ACCOUNTS_MANAGE)
@require_recent_sign_in()
def seal(user_id: int):
    try:
        staff_admin.seal(current_user, user_id, forms.text("reason", max_length=200))
    except DomainError as error:
        return render_form_error("accounts/staff.html", error, **_context())
    flash(_("The account was sealed."), "success")
    return redirect(url_for("staff_accounts.index"))


@blueprint.post("/<int:user_id>/unseal")
@requires(Permission.STAFF_ACCOUNTS_MANAGE)
@require_recent_sign_in()
def unseal(user_id: int):
    try:
        staff_admin.unseal(current_user, user_id)
    except DomainError as error:
        return render_form_error("accounts/staff.html", error, **_context())
    flash(_("The account was reopened."), "success")
    return redirect(url_for("staff_accounts.index"))
