"""Early warnings and thresholds through the pages and the API, with their permissions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal import clock
from portal.accounts.models import Role
from portal.audit.models import AuditEvent
from portal.audit.tags import AuditTag
from portal.extensions import db
from portal.oversight.models import SecurityWarning, WarningThresholds
from portal.oversight.warnings import raise_warnings
from tests.factories import make_staff, make_tree
from tests.functional.conftest import post_form, sign_in


@pytest.fixture
def setting(app):
    tree = make_tree()
    school_registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school)
    county = make_staff(Role.COUNTY_REGISTRAR, tree.county)
    admin = make_staff(Role.PROVINCE_ADMIN, tree.province)
    for n in range(6):
        db.session.add(
            AuditEvent(
                tag=str(AuditTag.ACCOUNT_SIGN_IN_FAILED),
                actor_id=school_registrar.id,
                at=clock.now() - timedelta(minutes=n),
                data={},
            )
        )
    (warning,) = raise_warnings()
    db.session.commit()
    return {
        "warning": warning.id,
        "school": school_registrar.username,
        "county": county.username,
        "admin": admin.username,
        "province": tree.province.id,
    }


def test_school_registrars_cannot_see_warnings(setting, client):
    sign_in(client, setting["school"])
    assert client.get("/security/warnings").status_code == 403
    assert client.get("/api/v1/security/warnings").status_code == 403


def test_the_county_sees_and_acknowledges_a_warning_with_a_note(setting, client):
    sign_in(client, setting["county"])
    client.set_cookie("lang", "en")
    page = client.get("/security/warnings").get_data(as_text=True)
    assert "Repeated failed sign-ins" in page and setting["school"] in page
    refused = post_form(
        client,
        f"/security/warnings/{setting['warning']}/acknowledge",
        {"note": ""},
        form_page="/security/warnings",
    )
    assert refused.status_code == 400
    done = post_form(
        client,
        f"/security/warnings/{setting['warning']}/acknowledge",
        {"note": "Password reset in person"},
        form_page="/security/warnings",
    )
    assert done.status_code == 302
    assert (
        db.session.get(SecurityWarning, setting["warning"]).acknowledgement_note == "Password reset in person"
    )
    assert client.get("/api/v1/security/warnings").get_json()["warnings"] == []
    listed = client.get("/api/v1/security/warnings?show=all").get_json()["warnings"]
    assert listed[0]["acknowledgement_note"] == "Password reset in person"


def test_the_api_acknowledges_too(setting, client):
    sign_in(client, setting["county"])
    missing = client.post(f"/api/v1/security/warnings/{setting['warning']}/acknowledge", json={})
    assert missing.status_code == 400
    done = client.post(
        f"/api/v1/security/warnings/{setting['warning']}/acknowledge", json={"note": "checked"}
    )
    assert done.status_code == 200 and done.get_json()["acknowledged_at"]


def test_the_province_administrator_sets_thresholds(setting, client):
    sign_in(client, setting["admin"])
    values = client.get("/api/v1/security/thresholds").get_json()
    assert values["failures_count"] == 5
    values["failures_count"] = 8
    assert client.post("/api/v1/security/thresholds", json=values).status_code == 200
    values["walk_minutes"] = 0
    assert client.post("/api/v1/security/thresholds", json=values).status_code == 400
    form = {**values, "walk_minutes": 15, "failures_count": 9}
    assert post_form(client, "/security/thresholds", form).status_code == 302
    saved = db.session.get(WarningThresholds, setting["province"])
    assert (saved.failures_count, saved.walk_minutes) == (9, 15)
    changes = db.session.scalars(
        select(AuditEvent.data).where(AuditEvent.tag == "province:settings_changed")
    ).all()
    assert any(change.get("kind") == "warnings" for change in changes)


def test_an_export_through_the_api_and_the_page(app, client):
    from portal.oversight.exports import produce_approved_exports

    tree = make_tree()
    school = make_staff(Role.SCHOOL_REGISTRAR, tree.school).username
    city = make_staff(Role.CITY_OFFICER, tree.city).username
    scope = tree.school.id
    db.session.commit()
    sign_in(client, school)
    asked = client.post(
        "/api/v1/exports",
        json={"purpose": "Statistics for the annual plan", "recipient": "County", "scope_unit_id": scope},
    )
    assert asked.status_code == 201
    export_id = asked.get_json()["id"]
    assert client.post(f"/api/v1/exports/{export_id}/decision", json={"approve": True}).status_code == 403
    client.post("/sign-out", data={})
    other = app.test_client()
    sign_in(other, city)
    other.set_cookie("lang", "en")
    assert "Statistics for the annual plan" in other.get("/security/exports").get_data(as_text=True)
    decided = other.post(f"/api/v1/exports/{export_id}/decision", json={"approve": True})
    assert decided.get_json()["state"] == "approved"
    produce_approved_exports()
    db.session.commit()
    content = other.get(f"/api/v1/exports/{export_id}/content").get_json()
    assert content["suppression"]["rule"].startswith("rows in groups of fewer than 5")
    page = other.get(f"/security/exports/{export_id}/download")
    assert page.status_code == 200 and "attachment" in page.headers["Content-Disposition"]
