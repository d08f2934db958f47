"""The guardian's pages: children, one child's record, linking a child."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import clock, forms
from portal.errors import DomainError
from portal.extensions import limiter
from portal.guardians.overview import child_cards, child_overview
from portal.guardians.service import redeem_code
from portal.security.permissions import Permission, requires
from portal.security.scope import get_visible_student
from portal.web import render_form_error

blueprint = Blueprint("guardians", __name__, url_prefix="/children")


@blueprint.get("/")
@requires(Permission.CHILDREN_READ)
def home():
    return render_template("guardians/home.html", children=child_cards(current_user))


@blueprint.get("/<int:student_id>")
@requires(Permission.CHILDREN_READ)
def child(student_id: int):
    student = get_visible_student(current_user, student_id)
    return render_template("guardians/child.html", **child_overview(student))


@blueprint.route("/link", methods=["GET", "POST"])
@requires(Permission.CHILDREN_LINK)
# Keyed on the account, not the session: signing out and in again must not reset the count.
@limiter.limit("10 per hour", methods=["POST"], key_func=lambda: f"user:{current_user.id}")
def link():
    if request.method == "GET":
        return render_template("guardians/link.html")
    try:
        birth_date = forms.date_field("birth_date", earliest=forms.EARLIEST_DATE, latest=clock.today())
        link = redeem_code(current_user, forms.text("code", max_length=20), birth_date)
    except DomainError as error:
        return render_form_error("guardians/link.html", error)
    flash(_("Your child is now linked to your account."), "success")
    return redirect(url_for("guardians.child", student_id=link.student_id))
