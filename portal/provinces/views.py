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
    TransferPeriod,
    TransferRouteOrder,
    TransferWindowMode,
)
from portal.provinces.rules import EVERY_KIND, NATIONAL_RULE, password_max_age_days, photo_is_key
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
        "password_days": password_max_age_days(province.id),
        "years": db.session.scalars(
            select(PublishedCalendarYear.year).where(PublishedCalendarYear.province_id == province.id)
        ).all(),
        **_transfer_context(province),
        "photo_is_key": photo_is_key(province.id),
    }


def _transfer_context(province) -> dict:
    from portal.transfers.windows import setting_for, windows_of

    return {
        "transfer_setting": setting_for(province.id),
        "route_orders": list(TransferRouteOrder),
        "window_modes": list(TransferWindowMode),
        "transfer_periods": db.session.scalars(
            select(TransferPeriod)
            .where(TransferPeriod.province_id == province.id)
            .order_by(TransferPeriod.starts_on)
        ).all(),
        "transfer_windows": windows_of(province.id),
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


@blueprint.post("/accounts")
@requires(Permission.PROVINCE_SETTINGS_EDIT)
def save_password_days():
    try:
        days = forms.int_field("password_days", minimum=1, maximum=1000)
        service.set_password_max_age(current_user.org_unit, days, current_user)
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


@blueprint.post("/calendar/days/remove")
@requires(Permission.PROVINCE_SETTINGS_EDIT)
def remove_day():
    try:
        moved = service.remove_official_day(current_user.org_unit, forms.date_field("day"), current_user)
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


@blueprint.post("/transfers")
@requires(Permission.PROVINCE_SETTINGS_EDIT)
def save_transfer_setting():
    try:
        service.set_transfer_setting(
            current_user.org_unit,
            route_order=_choice(TransferRouteOrder, "route_order"),
            provincial_step=request.form.get("provincial_step") == "1",
            window_mode=_choice(TransferWindowMode, "window_mode"),
            window_working_days=forms.int_field("window_working_days", default=20),
            actor=current_user,
        )
    except DomainError as error:
        return render_form_error("provinces/settings.html", error, **_settings_context())
    flash(_("Saved."), "success")
    return redirect(url_for("provinces.settings"))


def _choice(enum_class, name: str):
    try:
        return enum_class(request.form.get(name, ""))
    except ValueError:
        raise ValidationFailed("province.bad_choice", _("Please choose one of the options.")) from None


@blueprint.post("/corrections")
@requires(Permission.PROVINCE_SETTINGS_EDIT)
def save_correction_setting():
    """Whether a new registry photo is a key field (school, then county) in this province."""
    try:
        choice = request.form.get("photo_is_key", "")
        if choice not in ("0", "1"):
            raise ValidationFailed("province.bad_choice", _("Please choose one of the options."))
        service.set_correction_setting(current_user.org_unit, photo_is_key=choice == "1", actor=current_user)
    except DomainError as error:
        return render_form_error("provinces/settings.html", error, **_settings_context())
    flash(_("Saved."), "success")
    return redirect(url_for("provinces.settings"))


@blueprint.post("/transfers/periods")
@requires(Permission.PROVINCE_SETTINGS_EDIT)
def add_transfer_period():
    try:
        service.add_transfer_period(
            current_user.org_unit,
            request.form.get("kind", ""),
            forms.date_field("starts_on"),
            forms.date_field("ends_on"),
            current_user,
        )
    except DomainError as error:
        return render_form_error("provinces/settings.html", error, **_settings_context())
    flash(_("Saved."), "success")
    return redirect(url_for("provinces.settings"))


@blueprint.post("/transfers/periods/<int:period_id>/delete")
@requires(Permission.PROVINCE_SETTINGS_EDIT)
def remove_transfer_period(period_id: int):
    service.remove_transfer_period(current_user.org_unit, period_id, current_user)
    flash(_("Removed."), "success")
    return redirect(url_for("provinces.settings"))
