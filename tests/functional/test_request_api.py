"""Every request journey through /api/v1 alone, as a phone app would drive it."""

from datetime import timedelta
from io import BytesIO

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal import clock
from portal.accounts.models import Role, User
from portal.approvals import engine
from portal.approvals.models import Alert, Case
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.registry.models import Student
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import csrf_token, sign_in

MOTHER, OTHER = "13912340201", "13912340202"


@pytest.fixture
def ids(app):
    tree = make_tree()
    mother = make_guardian(MOTHER)
    other = make_guardian(OTHER)
    make_staff(Role.SCHOOL_REGISTRAR, tree.senior_school, "senior.api")
    make_staff(Role.SCHOOL_REGISTRAR, tree.school, "school.api")
    make_staff(Role.COUNTY_REGISTRAR, tree.county, "county.api")
    child = make_student(tree.school, grade=4)
    senior = make_student(tree.senior_school, grade=11)
    for student in (child, senior):
        db.session.add(GuardianLink(guardian_id=mother.id, student_id=student.id, relation=Relation.MOTHER))
    db.session.add(GuardianLink(guardian_id=other.id, student_id=senior.id, relation=Relation.FATHER))
    db.session.commit()
    return {"child": child.id, "senior": senior.id}


def _suspension(**extra):
    return {"kind": "suspension", "reason": "因病休养", "return_on": _return_on(), **extra}


def _return_on():
    return (clock.today() + timedelta(days=100)).isoformat()


def _switch(client, login):
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/inbox/")})
    sign_in(client, login)


def _cases():
    return db.session.scalar(select(func.count()).select_from(Case))


def test_open_with_an_idempotency_key_twice_opens_one_case(ids, client):
    sign_in(client, MOTHER)
    before = _cases()
    url = f"/api/v1/me/children/{ids['child']}/cases"
    first = client.post(url, json=_suspension(), headers={"Idempotency-Key": "tap-1"})
    again = client.post(url, json=_suspension(), headers={"Idempotency-Key": "tap-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json["id"] == again.json["id"] and _cases() == before + 1
    body = first.json
    assert body["reference"].startswith("XJ-") and body["state"] == "open" and body["can_withdraw"]
    first_step = body["steps"][0]
    assert first_step["state"] == "pending" and first_step["working_days_left"] == 10
    assert "decided_by" not in first_step and first_step["unit"]
    listed = client.get(url).json
    assert [c["id"] for c in listed["cases"]] == [body["id"]]
    # One status request at a time; a correction of the record may still be proposed beside it.
    assert [kind["name"] for kind in listed["can_start"]] == ["correction"]


def test_writes_need_json_and_the_door_refuses_with_a_stable_code(ids, client):
    sign_in(client, MOTHER)
    url = f"/api/v1/me/children/{ids['child']}/cases"
    assert client.post(url, data={"kind": "suspension"}).status_code == 415
    refused = client.post(url, json={"kind": "withdrawal", "reason": "转学"})
    assert refused.status_code == 404 and refused.json["code"] == "case.kind_not_offered"
    far = client.post(url, json=_suspension(return_on=(clock.today() + timedelta(days=400)).isoformat()))
    assert far.status_code == 400 and far.json["code"] == "suspension.beyond_one_year"


def test_a_photo_uploaded_then_attached_and_a_strangers_reference_refused(ids, client):
    buffer = BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 40)).save(buffer, "JPEG")
    sign_in(client, OTHER)
    theirs = client.post("/api/v1/evidence", data={"file": (BytesIO(buffer.getvalue()), "x.jpg")})
    assert theirs.status_code == 201
    _switch(client, MOTHER)
    mine = client.post("/api/v1/evidence", data={"file": (BytesIO(buffer.getvalue()), "y.jpg")})
    assert mine.status_code == 201 and mine.json["content_type"] == "image/jpeg"
    url = f"/api/v1/me/children/{ids['child']}/cases"
    stolen = client.post(url, json=_suspension(evidence=[theirs.json["id"]]))
    assert stolen.status_code == 400 and stolen.json["code"] == "case.bad_evidence"
    opened = client.post(url, json=_suspension(evidence=[mine.json["id"]]))
    assert opened.status_code == 201 and opened.json["evidence"] == [mine.json["id"]]


def test_school_returns_family_resubmits_school_and_county_decide(ids, client):
    sign_in(client, MOTHER)
    case = client.post(f"/api/v1/me/children/{ids['child']}/cases", json=_suspension()).json
    _switch(client, "school.api")
    queue = client.get("/api/v1/queue").json
    item = next(i for i in queue["items"] if i["case_id"] == case["id"])
    assert queue["counts"]["suspension"] >= 1 and item["student"]["student_number"].count("*") > 0
    detail = client.get(f"/api/v1/steps/{item['step_id']}").json
    assert detail["decide_path"].endswith(f"/steps/{item['step_id']}/decision") and not detail["is_filing"]
    returned = client.post(
        f"/api/v1/steps/{item['step_id']}/decision", json={"action": "return", "reason": "请补充诊断证明"}
    )
    assert returned.status_code == 200 and returned.json["state"] == "returned"
    _switch(client, MOTHER)
    assert client.get(f"/api/v1/cases/{case['id']}").json["steps"][0]["reason"] == "请补充诊断证明"
    again = client.post(f"/api/v1/cases/{case['id']}/resubmit", json={"note": "已补充"})
    assert again.status_code == 200 and again.json["state"] == "open"
    _switch(client, "school.api")
    ok = client.post(f"/api/v1/steps/{item['step_id']}/decision", json={"action": "approve"})
    assert ok.status_code == 200
    _switch(client, "county.api")
    county_step = ok.json["steps"][1]["id"]
    no_reason = client.post(f"/api/v1/steps/{county_step}/decision", json={"action": "reject"})
    assert no_reason.status_code == 400 and no_reason.json["code"] == "step.reason_required"
    done = client.post(f"/api/v1/steps/{county_step}/decision", json={"action": "approve"})
    assert done.json["state"] == "approved"


def test_a_filing_step_only_files_and_the_family_may_not_withdraw_after_a_decision(ids, client):
    sign_in(client, MOTHER)
    case = client.post(
        f"/api/v1/me/children/{ids['senior']}/cases",
        json={"kind": "withdrawal", "reason": "出国留学前退学"},
        headers={"Idempotency-Key": "w-1"},
    ).json
    _switch(client, "senior.api")
    school_step = case["steps"][0]["id"]
    assert client.post(f"/api/v1/steps/{school_step}/decision", json={"action": "approve"}).status_code == 200
    _switch(client, MOTHER)
    refused = client.post(f"/api/v1/cases/{case['id']}/withdraw", json={})
    assert refused.status_code == 409 and refused.json["code"] == "case.cannot_withdraw"
    _switch(client, "county.api")
    filing = case["steps"][1]["id"]
    assert client.get(f"/api/v1/steps/{filing}").json["is_filing"] is True
    reject = client.post(f"/api/v1/steps/{filing}/decision", json={"action": "reject", "reason": "不同意"})
    assert reject.status_code == 409 and reject.json["code"] == "step.filing_cannot_reject"
    filed = client.post(f"/api/v1/steps/{filing}/decision", json={"action": "file"})
    assert filed.json["state"] == "approved" and filed.json["steps"][1]["state"] == "filed"


def test_withdraw_and_another_family_sees_nothing(ids, client):
    sign_in(client, MOTHER)
    case = client.post(f"/api/v1/me/children/{ids['child']}/cases", json=_suspension()).json
    _switch(client, OTHER)
    assert client.get(f"/api/v1/cases/{case['id']}").status_code == 404
    _switch(client, MOTHER)
    withdrawn = client.post(f"/api/v1/cases/{case['id']}/withdraw", json={"reason": "病已好转"})
    assert withdrawn.json["state"] == "withdrawn"


def test_a_registrar_opens_on_paper_and_may_not_decide(ids, client):
    sign_in(client, "school.api")
    url = f"/api/v1/students/{ids['child']}/cases"
    case = client.post(url, json=_suspension(), headers={"Idempotency-Key": "paper"})
    assert case.status_code == 201
    step = case.json["steps"][0]["id"]
    assert client.get(f"/api/v1/steps/{step}").json["is_requester"] is True
    refused = client.post(f"/api/v1/steps/{step}/decision", json={"action": "approve"})
    assert refused.status_code == 409 and refused.json["code"] == "step.requester_cannot_decide"


def test_the_queue_pages_by_cursor(ids, client, app):
    child = db.session.get(Student, ids["child"])
    clerk = make_staff(Role.SCHOOL_REGISTRAR, child.school, "clerk.api")
    for grade in (1, 2, 3, 5, 6):
        engine.open_case(
            "suspension",
            make_student(child.school, grade=grade),
            clerk,
            {"reason": "病", "return_on": _return_on()},
        )
    db.session.commit()
    sign_in(client, "school.api")
    seen, cursor = [], None
    for _ in range(10):
        page = client.get("/api/v1/queue", query_string={"cursor": cursor} if cursor else {}).json
        seen += [item["step_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == page["total"] == 5


def test_the_county_reads_early_warning_and_acknowledges(ids, client):
    child = db.session.get(Student, ids["child"])
    mother = db.session.scalar(select(User).where(User.mobile == MOTHER))
    case = engine.open_case("suspension", child, mother, {"reason": "病", "return_on": _return_on()})
    engine.process_timeouts(today=case.steps[0].due_on + timedelta(days=1))
    db.session.commit()
    alert_id = db.session.scalar(select(Alert.id).where(Alert.step_id == case.steps[0].id))
    sign_in(client, "county.api")
    warning = client.get("/api/v1/early-warning").json
    assert [a["id"] for a in warning["alerts"]] == [alert_id] and warning["overdue"]
    done = client.post(f"/api/v1/alerts/{alert_id}/acknowledge")
    assert done.status_code == 200 and done.json["acknowledged_at"]


def test_the_openapi_document_lists_the_request_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in (
        "/me/children/{student_id}/cases",
        "/cases/{case_id}",
        "/cases/{case_id}/resubmit",
        "/cases/{case_id}/withdraw",
        "/evidence",
        "/queue",
        "/steps/{step_id}",
        "/steps/{step_id}/decision",
        "/students/{student_id}/cases",
        "/early-warning",
        "/alerts/{alert_id}/acknowledge",
    ):
        assert path in paths, path
