"""Unit administrators: their own unit and below, never above or beside; unsealing from above only."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import clock
from portal.accounts.models import Role, User
from portal.audit.models import AuditEvent
from portal.extensions import db
from tests.factories import make_staff, make_tree
from tests.functional.conftest import post_form, sign_in


@pytest.fixture
def units(app):
    tree = make_tree()
    ids = {
        "province": make_staff(Role.PROVINCE_ADMIN, tree.province, "sa.province").id,
        "city": make_staff(Role.CITY_OFFICER, tree.city, "sa.city").id,
        "county": make_staff(Role.COUNTY_REGISTRAR, tree.county, "sa.county").id,
        "county_peer": make_staff(Role.COUNTY_REGISTRAR, tree.county, "sa.county2").id,
        "other_county": make_staff(Role.COUNTY_REGISTRAR, tree.other_county, "sa.west").id,
        "school": make_staff(Role.SCHOOL_REGISTRAR, tree.school, "sa.school").id,
        "other_school": make_staff(Role.SCHOOL_REGISTRAR, tree.other_school, "sa.westschool").id,
        "school_code": tree.school.code,
        "other_school_code": tree.other_school.code,
        "city_code": tree.city.code,
    }
    db.session.commit()
    return ids


def _seal_directly(user_id: int) -> None:
    user = db.session.get(User, user_id)
    user.is_active_account = False
    db.session.commit()


def _tags(prefix: str) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.tag).where(AuditEvent.tag.startswith(prefix))))


def test_a_county_administrator_sees_their_unit_and_below_only(client, units):
    sign_in(client, "sa.county")
    page = client.get("/admin/staff/").get_data(as_text=True)
    assert "sa.school" in page and "sa.county2" in page
    assert "sa.city" not in page and "sa.west" not in page and "sa.westschool" not in page


def test_a_county_administrator_creates_a_school_account_with_a_temporary_password(client, units):
    sign_in(client, "sa.county")
    response = post_form(
        client,
        "/admin/staff/",
        {"unit_code": units["school_code"], "username": "sa.new", "display_name": "新老师"},
    )
    assert response.status_code == 200
    password = re.search(r'data-temporary-password="([^"]+)"', response.get_data(as_text=True)).group(1)
    created = db.session.scalar(select(User).where(User.username == "sa.new"))
    assert created.role == Role.SCHOOL_REGISTRAR
    new_client = client.application.test_client()
    assert sign_in(new_client, "sa.new", password).headers["Location"] == "/account"  # must change it
    assert _tags("staff_account:") == ["staff_account:created"]


@pytest.mark.parametrize("code_key", ["other_school_code", "city_code"])
def test_nobody_creates_accounts_beside_or_above(client, units, code_key):
    sign_in(client, "sa.county")
    response = post_form(
        client, "/admin/staff/", {"unit_code": units[code_key], "username": "sa.bad", "display_name": "某人"}
    )
    assert response.status_code == 404
    assert db.session.scalar(select(User).where(User.username == "sa.bad")) is None


@pytest.mark.parametrize("target", ["city", "other_county", "other_school", "province"])
@pytest.mark.parametrize("action", ["reset", "seal", "unseal"])
def test_accounts_above_or_beside_are_not_found(client, units, target, action):
    sign_in(client, "sa.county")
    response = post_form(
        client, f"/admin/staff/{units[target]}/{action}", {"reason": "x"}, form_page="/admin/staff/"
    )
    assert response.status_code == 404
    assert db.session.get(User, units[target]).is_active_account


def test_reset_gives_a_new_temporary_password_and_ends_the_sessions(client, app, units):
    school = app.test_client()
    sign_in(school, "sa.school")
    sign_in(client, "sa.county")
    response = post_form(client, f"/admin/staff/{units['school']}/reset", {}, form_page="/admin/staff/")
    password = re.search(r'data-temporary-password="([^"]+)"', response.get_data(as_text=True)).group(1)
    assert school.get("/staff/students").status_code == 302
    assert sign_in(app.test_client(), "sa.school", password).headers["Location"] == "/account"


def test_sealing_needs_a_reason_and_ends_the_sessions(client, app, units):
    school = app.test_client()
    sign_in(school, "sa.school")
    sign_in(client, "sa.county")
    refused = post_form(
        client, f"/admin/staff/{units['school']}/seal", {"reason": ""}, form_page="/admin/staff/"
    )
    assert refused.status_code == 400 and db.session.get(User, units["school"]).is_active_account
    sealed = post_form(
        client, f"/admin/staff/{units['school']}/seal", {"reason": "调离"}, form_page="/admin/staff/"
    )
    assert sealed.status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, units["school"]).is_active_account
    assert school.get("/staff/students").status_code == 302
    assert sign_in(app.test_client(), "sa.school").status_code == 403


def test_a_sealed_account_is_reopened_by_the_unit_above_only(client, app, units):
    user = db.session.get(User, units["county_peer"])
    user.last_seen_at = clock.now() - timedelta(days=200)  # unused for six months (M-24)
    db.session.commit()
    assert sign_in(app.test_client(), "sa.county2").status_code == 403  # sealed at sign-in
    db.session.expire_all()
    assert not db.session.get(User, units["county_peer"]).is_active_account

    sign_in(client, "sa.county")  # the same unit: not allowed
    beside = post_form(client, f"/admin/staff/{units['county_peer']}/unseal", {}, form_page="/admin/staff/")
    assert beside.status_code == 403
    db.session.expire_all()
    assert not db.session.get(User, units["county_peer"]).is_active_account

    above = app.test_client()
    sign_in(above, "sa.city")
    reopened = post_form(above, f"/admin/staff/{units['county_peer']}/unseal", {}, form_page="/admin/staff/")
    assert reopened.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, units["county_peer"]).is_active_account
    assert sign_in(app.test_client(), "sa.county2").status_code == 302  # not sealed again at once
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.tag == "account:unsealed"))
    assert event.actor_id == units["city"] and event.data["account_id"] == units["county_peer"]


def test_school_registrars_do_not_manage_accounts(client, units):
    sign_in(client, "sa.school")
    assert client.get("/admin/staff/").status_code == 403


def test_nobody_resets_or_seals_their_own_account_here(client, units):
    sign_in(client, "sa.county")
    response = post_form(
        client, f"/admin/staff/{units['county']}/seal", {"reason": "x"}, form_page="/admin/staff/"
    )
    assert response.status_code == 403
