"""What a prober finds: huge ids, unexpected errors, implausible dates, locked codes."""

from __future__ import annotations

import logging
import re
from datetime import date

import pytest
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.approvals import engine
from portal.approvals.kinds import register, unregister
from portal.approvals.models import Step
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.guardians.models import BindingCode, Relation
from portal.guardians.service import hash_code, issue_code, open_codes_of
from portal.orgs.models import OrgUnit
from portal.provinces.models import OfficialCalendarDay
from tests.factories import SchoolThenCountyKind, make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import post_form, sign_in

HUGE_ID = str(2**64 + 1)  # 65 bits


@pytest.fixture
def people(app):
    tree = make_tree()
    make_staff(Role.SCHOOL_REGISTRAR, tree.school, "edge.school")
    make_staff(Role.PROVINCE_ADMIN, tree.province, "edge.province")
    make_guardian("13955556666")
    db.session.commit()
    return {"province": tree.province.id, "school": tree.school.id}


def _id_routes(app) -> list[tuple[str, str]]:
    """Every route with an integer in its path, the huge id in each place, and a method it takes."""
    routes = []
    for rule in app.url_map.iter_rules():
        if "<int:" not in rule.rule:
            continue
        method = "GET" if "GET" in rule.methods else "POST"
        routes.append((method, re.sub(r"<int:\w+>", HUGE_ID, rule.rule)))
    return routes


@pytest.mark.parametrize("login", ["edge.school", "edge.province", "13955556666"])
def test_a_65_bit_id_answers_404_on_every_route_that_takes_an_id(client, app, people, login):
    routes = _id_routes(app)
    assert len(routes) >= 5  # the walk found the routes
    sign_in(client, login)
    for method, path in routes:
        response = client.open(path, method=method)
        # 404 where the person may use the route, 403 where the role may not; never 500.
        assert response.status_code in (403, 404), (path, response.status_code)
        assert (
            response.status_code == 404 or path.startswith("/staff/") or path.startswith("/api/v1/students")
        )


@pytest.mark.parametrize("number", [2**31 - 1, 2**31, 2**63 - 1, 2**63])
def test_ids_around_the_column_limits_are_ordinary_unknown_ids(client, people, number):
    sign_in(client, "edge.school")
    assert client.get(f"/staff/students/{number}").status_code == 404
    assert client.get(f"/api/v1/students/{number}").status_code == 404


@pytest.fixture
def failing_app(database_url):
    from portal import create_app
    from portal.config import config_for_tests

    app = create_app(config_for_tests(database_url))

    def explode():
        raise RuntimeError("boom 110101201505010217 detail")

    app.add_url_rule("/_explode", "explode", explode)
    app.add_url_rule("/api/v1/_explode", "api_explode", explode)
    return app


@pytest.mark.parametrize(
    ("language", "words"),
    [("zh_Hans", "我们这边出了问题"), ("en", "Something went wrong on our side")],
)
def test_an_unexpected_error_is_a_page_in_the_users_language_with_an_incident_id(
    failing_app, caplog, language, words
):
    client = failing_app.test_client()
    client.set_cookie("lang", language)
    with caplog.at_level(logging.ERROR):
        response = client.get("/_explode")
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert words in page
    assert "boom" not in page and "Traceback" not in page and "RuntimeError" not in page
    incident = re.search(r"incident ([0-9A-F]{4}-[0-9A-F]{4})", caplog.text).group(1)
    assert incident in page  # the person can quote it; the log has the details under it
    assert "RuntimeError" in caplog.text


def test_an_unexpected_api_error_is_problem_json_with_the_incident(failing_app, caplog):
    with caplog.at_level(logging.ERROR):
        response = failing_app.test_client().get("/api/v1/_explode")
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "server.unexpected" and body["incident"] in caplog.text
    assert "boom" not in response.get_data(as_text=True)


def test_405_names_the_allowed_methods(client):
    response = client.post("/api/v1/openapi.json")
    assert response.status_code == 405 and response.mimetype == "application/problem+json"
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "HEAD"}
    assert "Allow" in client.delete("/sign-in").headers


# --- Dates ------------------------------------------------------------------------------------


@pytest.fixture
def province(app, people):
    register(SchoolThenCountyKind())
    yield people
    unregister(SchoolThenCountyKind.name)


def _save_day(client, day: str, working: bool = False):
    return post_form(
        client,
        "/admin/province/calendar/days",
        {"day": day, "is_working_day": "1" if working else "0", "note": ""},
        form_page="/admin/province/settings",
    )


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2099-01-01", "1999-05-01"])
def test_implausible_calendar_days_are_refused(client, province, day):
    sign_in(client, "edge.province")
    assert _save_day(client, day).status_code == 400
    assert db.session.scalar(select(OfficialCalendarDay)) is None


def test_an_entered_day_can_be_removed_and_deadlines_are_recounted(client, province):
    registrar = db.session.scalar(select(User).where(User.username == "edge.school"))
    student = make_student(db.session.get(OrgUnit, province["school"]), registrar)
    case = engine.open_case(SchoolThenCountyKind.name, student, registrar, today=date(2026, 12, 24))
    step_id = case.steps[0].id
    db.session.commit()
    sign_in(client, "edge.province")
    post_form(
        client, "/admin/province/calendar/years", {"year": "2027"}, form_page="/admin/province/settings"
    )
    assert _save_day(client, "2027-01-05").status_code == 302  # entered by mistake
    db.session.expire_all()
    assert db.session.get(Step, step_id).due_on == date(2027, 1, 8)
    assert "2027-01-05" in client.get("/admin/province/settings").get_data(as_text=True)

    response = post_form(
        client,
        "/admin/province/calendar/days/remove",
        {"day": "2027-01-05"},
        form_page="/admin/province/settings",
    )

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(OfficialCalendarDay, (province["province"], date(2027, 1, 5))) is None
    assert db.session.get(Step, step_id).due_on == date(2027, 1, 7)
    removed = db.session.scalar(select(AuditEvent).where(AuditEvent.tag == "province:calendar_day_removed"))
    assert removed.data == {"day": "2027-01-05", "was_working_day": False}


def test_removing_a_day_that_is_not_there_is_refused(client, province):
    sign_in(client, "edge.province")
    response = post_form(
        client,
        "/admin/province/calendar/days/remove",
        {"day": "2027-01-05"},
        form_page="/admin/province/settings",
    )
    assert response.status_code == 404


@pytest.mark.parametrize("birth", ["0001-01-01", "9999-12-31", "2999-01-01"])
def test_an_implausible_birth_date_is_refused_before_any_code_is_tried(client, people, birth):
    sign_in(client, "13955556666")
    response = post_form(client, "/children/link", {"code": "ABCDEFGH", "birth_date": birth})
    assert response.status_code == 400
    assert "请输入" in response.get_data(as_text=True)


# --- Binding codes ------------------------------------------------------------------------------


def test_binding_codes_are_stored_as_a_keyed_hash(app, people, monkeypatch):
    import hashlib

    registrar = db.session.scalar(select(User).where(User.username == "edge.school"))
    student = make_student(db.session.get(OrgUnit, people["school"]), registrar)
    row, code = issue_code(student, "周家长", "13955556666", Relation.MOTHER, registrar)
    assert row.code_hash == hash_code(code)
    assert row.code_hash != hashlib.sha256(code.encode()).hexdigest()
    # The app is shared by the whole session: the other key must not outlive this test.
    monkeypatch.setitem(app.config, "BINDING_CODE_KEY", "another-key")
    assert hash_code(code) != row.code_hash  # the key matters


def test_a_locked_code_is_not_listed_as_unused(client, app, people):
    registrar = db.session.scalar(select(User).where(User.username == "edge.school"))
    student = make_student(db.session.get(OrgUnit, people["school"]), registrar)
    row, _ = issue_code(student, "周家长", "13955556666", Relation.MOTHER, registrar)
    code_id, student_id = row.id, student.id
    assert open_codes_of(student) == [row]
    db.session.commit()
    sign_in(client, "edge.school")
    assert f"/codes/{code_id}/revoke" in client.get(f"/staff/students/{student_id}").get_data(as_text=True)
    db.session.get(BindingCode, code_id).failed_attempts = app.config["BINDING_CODE_MAX_ATTEMPTS"]
    db.session.commit()
    assert open_codes_of(db.session.get(type(student), student_id)) == []
    page = client.get(f"/staff/students/{student_id}").get_data(as_text=True)
    assert f"/codes/{code_id}/revoke" not in page
    assert db.session.get(BindingCode, code_id).used_at is None


@pytest.mark.parametrize(
    "send",
    [
        lambda client: client.get("/verify?code=a%00b"),
        lambda client: client.post("/api/v1/identity/verify", json={"token": "x", "audience": "a\u0000b"}),
        lambda client: client.post("/api/v1/identity/verify", data={"token": "x", "audience": "a\x00b"}),
        lambda client: client.get("/api/v1/students/a%00b"),
    ],
    ids=["query", "json", "form", "path"],
)
def test_a_nul_character_is_refused_with_400_not_500(client, send):
    """PostgreSQL text cannot hold U+0000: without the guard this was a 500 (schemathesis)."""
    response = send(client)
    assert response.status_code == 400
    if response.mimetype == "application/problem+json":
        assert response.get_json()["code"] == "request.nul_character"


def test_verify_takes_only_json_booleans_for_single_use(client):
    response = client.post("/api/v1/identity/verify", json={"token": "x", "single_use": 0})
    assert response.status_code == 400
