"""The province administrator's settings page: deadlines, timeout policy, holiday calendar."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import forms
from portal.approvals.kinds import NATIONAL_REQUEST_KINDS
from portal.errors import DomainError, ValidationFailed
from portal.extensions import db
from portal.provinces import service
from portal.provinces.models import (
    OfficialCalendarDay,
    ProvinceRule,
    PublishedCalendarYear,
    TimeoutPolicy,
)
from portal.provinces.rules import EVERY_KIND, NATIONAL_RULE
from portal.security.permissions import Permission, requires
from portal.web import render_form_error

blueprint = Blueprint("provinces", __name__, url_prefix="/admin/province")


def _settings_context() -> dict:
    province = current_user.org_unit
    return {
        "province": province,
        "rules": db.session.scalars(
            select(ProvinceRule).where(ProvinceRule.province_id == province.id).order_by(ProvinceRule.kind)
        ).all(),
        "national": NATIONAL_RULE,
        "kinds": NATIONAL_REQUEST_KINDS,
        "policies": list(TimeoutPolicy),
        "days": db.session.scalars(
            select(OfficialCalendarDay)
            .where(OfficialCalendarDay.province_id == province.id)
            .order_by(OfficialCalendarDay.day)
        ).all(),
        "years": db.session.scalars(
            select(PublishedCalendarYear.year).where(PublishedCalendarYear.province_id == province.id)
        ).all(),
    }


@blueprint.get("/settings")
@requires(Permission.PROVINCE_SETTINGS_EDIT)
def settings():
    return render_template("provinces/settings.html", **_settings_context())


def _policy_field() -> TimeoutPolicy:
    try:
        return TimeoutPolicy(request.form.get("timeout_policy", ""))
    except ValueError:
        raise ValidationFailed("province.bad_policy", _("Unknown timeout policy.")) from None


@blueprint.post("/rules")
@requires(Permission.PROVINCE_SETTINGS_EDIT)
def save_rule():
    try:
        kind = forms.text("kind", max_length=30) or EVERY_KIND
        service.set_rule(
            current_user.org_unit, kind, forms.int_field("step_working_days"), _policy_field(), current_user
        )
    except DomainError as error:
        return render_form_error("provinces/settings.html", error, **_settings_context())
    flash(_("Saved."), "success")
    return redirect(url_for("provinces.settings"))


@blueprint.post("/calendar/days")
@requires(Permission.PROVINCE_SETTINGS_EDIT)
def save_day():
    try:
        moved = service.set_official_day(
            current_user.org_unit,
            forms.date_field("day"),
            request.form.get("is_working_day") == "1",
            forms.text("note", max_length=100),
            current_user,
        )
    except DomainError as error:
        return render_form_error("provinces/settings.html", error, **_settings_context())
    _flash_recomputed(moved)
    return redirect(url_for("provinces.settings"))


def _flash_recomputed(moved: int) -> None:
    flash(_("Saved. Deadlines of %(count)s pending steps were recounted.", count=moved), "success")


@blueprint.post("/calendar/years")
@requires(Permission.PROVINCE_SETTINGS_EDIT)
def publish_year():
    try:
        year = forms.int_field("year")
        moved = service.publish_year(current_user.org_unit, year, current_user)
    except DomainError as error:
        return render_form_error("provinces/settings.html", error, **_settings_context())
    _flash_recomputed(moved)
    return redirect(url_for("provinces.settings"))
