"""The request pages: a family applies, follows, resubmits, withdraws; staff work their queue."""

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import clock
from portal.accounts.models import Role, User
from portal.approvals import engine
from portal.approvals.models import Alert, Case, CaseState, Step, StepState
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.orgs.models import OrgUnit
from portal.registry.models import Student
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import csrf_token, sign_in

MOTHER, STRANGER = "13912340101", "13912340102"


@pytest.fixture
def world(app):
    tree = make_tree()
    mother = make_guardian(MOTHER)
    make_guardian(STRANGER)
    school = make_staff(Role.SCHOOL_REGISTRAR, tree.school, "school.pages")
    clerk = make_staff(Role.SCHOOL_REGISTRAR, tree.school, "clerk.pages")
    county = make_staff(Role.COUNTY_REGISTRAR, tree.county, "county.pages")
    make_staff(Role.SCHOOL_REGISTRAR, tree.other_school, "other.pages")
    make_staff(Role.CITY_OFFICER, tree.city, "city.pages")
    child = make_student(tree.school, grade=4)
    db.session.add(GuardianLink(guardian_id=mother.id, student_id=child.id, relation=Relation.MOTHER))
    db.session.commit()
    return World(tree, mother.id, school.id, clerk.id, county.id, child.id)


class World:
    """Ids, not objects: every request through the test client ends the session's objects."""

    def __init__(self, tree, mother, school, clerk, county, child):
        self.school_id, self.county_id = tree.school.id, tree.county.id
        self.school_name, self.county_name = tree.school.name, tree.county.name
        self.ids = {"mother": mother, "school": school, "clerk": clerk, "county": county, "child": child}

    def __getitem__(self, name):
        model = Student if name == "child" else User
        return db.session.get(model, self.ids[name])


def _return_on():
    return (clock.today() + timedelta(days=120)).isoformat()


def _apply(client, child_id, key="k1", token=None, **fields):
    form = f"/children/{child_id}/requests/new?kind=suspension"
    data = {
        "kind": "suspension",
        "reason": "因病需要休养",
        "return_on": _return_on(),
        "idempotency_key": key,
        "csrf_token": token or csrf_token(client, form),
        **fields,
    }
    return client.post(f"/children/{child_id}/requests/new", data=data)


@dataclass(frozen=True)
class Opened:
    id: int
    reference: str
    steps: list
    due: list


def _open(world, requester="mother") -> Opened:
    """A suspension opened through the engine and committed; what the test needs, as values."""
    case = engine.open_case(
        "suspension", world["child"], world[requester], {"reason": "病", "return_on": _return_on()}
    )
    db.session.commit()
    return Opened(case.id, case.reference, [s.id for s in case.steps], [s.due_on for s in case.steps])


def _case_count():
    return db.session.scalar(select(func.count()).select_from(Case))


def test_a_guardian_applies_sees_the_confirmation_and_a_double_tap_opens_one_case(world, client):
    sign_in(client, MOTHER)
    child_page = client.get(f"/children/{world['child'].id}").get_data(as_text=True)
    assert "发起申请" in child_page and "kind=suspension" in child_page
    before = _case_count()
    token = csrf_token(client, f"/children/{world['child'].id}/requests/new?kind=suspension")
    first = _apply(client, world["child"].id, token=token)
    second = _apply(client, world["child"].id, token=token)  # the same form, sent twice
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert _case_count() == before + 1
    case = db.session.scalar(select(Case).order_by(Case.id.desc()))
    case_id, reference, due = case.id, case.reference, case.steps[0].due_on
    confirmation = client.get(first.headers["Location"]).get_data(as_text=True)
    assert reference in confirmation and re.search(r"XJ-\d{4}-\d{6}", confirmation)
    assert world.school_name in confirmation  # who looks at it first, and by when
    assert f"{due.year}年{due.month}月{due.day}日" in confirmation
    page = client.get(f"/requests/{case_id}").get_data(as_text=True)
    assert "撤回" in page and world.county_name in page


def test_a_request_refused_at_the_door_shows_the_rule_and_stores_nothing(world, client):
    sign_in(client, MOTHER)
    before = _case_count()
    far = (clock.today() + timedelta(days=400)).isoformat()
    response = _apply(client, world["child"].id, return_on=far)
    assert response.status_code == 400
    assert "一年" in response.get_data(as_text=True)
    assert _case_count() == before


def test_another_family_cannot_see_or_start(world, client):
    case = _open(world)
    sign_in(client, STRANGER)
    assert client.get(f"/requests/{case.id}").status_code == 404
    assert client.get(f"/children/{world['child'].id}/requests/new?kind=suspension").status_code == 404


def test_the_school_and_the_county_decide_from_their_queues(world, client, app):
    case = _open(world)
    step_id = case.steps[0]
    sign_in(client, "school.pages")
    queue = client.get("/staff/queue").get_data(as_text=True)
    assert world["child"].name in queue and case.reference in queue
    step_page = client.get(f"/staff/queue/steps/{step_id}").get_data(as_text=True)
    assert world["child"].name in step_page and 'value="approve"' in step_page
    missing = client.post(
        f"/staff/queue/steps/{step_id}/decide",
        data={
            "action": "reject",
            "reason": "",
            "csrf_token": csrf_token(client, f"/staff/queue/steps/{step_id}"),
        },
    )
    assert missing.status_code == 400  # a rejection needs a reason; nothing changed
    approve = client.post(
        f"/staff/queue/steps/{step_id}/decide",
        data={
            "action": "approve",
            "reason": "",
            "csrf_token": csrf_token(client, f"/staff/queue/steps/{step_id}"),
        },
    )
    assert approve.status_code == 302
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/staff/queue")})
    sign_in(client, "county.pages")
    county_step = case.steps[1]
    assert case.reference in client.get("/staff/queue").get_data(as_text=True)
    token = csrf_token(client, f"/staff/queue/steps/{county_step}")
    reject = client.post(
        f"/staff/queue/steps/{county_step}/decide",
        data={"action": "reject", "reason": "材料不全", "csrf_token": token},
    )
    assert reject.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == CaseState.REJECTED
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/staff/queue")})
    sign_in(client, MOTHER)
    page = client.get(f"/requests/{case.id}").get_data(as_text=True)
    assert "材料不全" in page and "撤回" not in page


def test_staff_of_another_school_cannot_open_the_step(world, client):
    case = _open(world)
    sign_in(client, "other.pages")
    assert client.get(f"/staff/queue/steps/{case.steps[0]}").status_code == 404
    assert case.reference not in client.get("/staff/queue").get_data(as_text=True)


def test_returned_then_resubmitted_from_the_request_page(world, client):
    case = _open(world)
    engine.return_case(case.steps[0], world["school"], missing="医院证明")
    db.session.commit()
    sign_in(client, MOTHER)
    page = client.get(f"/requests/{case.id}").get_data(as_text=True)
    assert "医院证明" in page and 'name="note"' in page
    token = csrf_token(client, f"/requests/{case.id}")
    empty = client.post(f"/requests/{case.id}/resubmit", data={"note": "", "csrf_token": token})
    assert empty.status_code == 400
    done = client.post(f"/requests/{case.id}/resubmit", data={"note": "已补充诊断证明", "csrf_token": token})
    assert done.status_code == 302
    db.session.expire_all()
    stored = db.session.get(Case, case.id)
    assert stored.state == CaseState.OPEN and stored.payload["resubmission_notes"] == ["已补充诊断证明"]
    assert db.session.get(Step, case.steps[0]).state == StepState.PENDING


def test_withdrawal_asks_first_then_withdraws(world, client):
    case = _open(world)
    sign_in(client, MOTHER)
    confirm = client.get(f"/requests/{case.id}/withdraw")
    assert confirm.status_code == 200 and "是的，撤回" in confirm.get_data(as_text=True)
    token = csrf_token(client, f"/requests/{case.id}/withdraw")
    assert client.post(f"/requests/{case.id}/withdraw", data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == CaseState.WITHDRAWN


def test_a_registrar_starts_from_a_paper_form_and_cannot_decide_it(world, client):
    sign_in(client, "school.pages")
    record = client.get(f"/staff/students/{world['child'].id}").get_data(as_text=True)
    assert f"/staff/students/{world['child'].id}/requests/new?kind=suspension" in record
    form = f"/staff/students/{world['child'].id}/requests/new?kind=suspension"
    data = {
        "kind": "suspension",
        "reason": "家长递交纸质申请",
        "return_on": _return_on(),
        "idempotency_key": "paper-1",
        "csrf_token": csrf_token(client, form),
    }
    assert client.post(f"/staff/students/{world['child'].id}/requests/new", data=data).status_code == 302
    opened = db.session.scalar(select(Case).order_by(Case.id.desc()))
    assert opened.requester_id == world["school"].id
    case = Opened(opened.id, opened.reference, [s.id for s in opened.steps], [])
    step_page = client.get(f"/staff/queue/steps/{case.steps[0]}").get_data(as_text=True)
    assert 'value="approve"' not in step_page and "其他工作人员" in step_page
    token = csrf_token(client, f"/staff/queue/steps/{case.steps[0]}")
    refused = client.post(
        f"/staff/queue/steps/{case.steps[0]}/decide", data={"action": "approve", "csrf_token": token}
    )
    assert refused.status_code == 409


def test_the_county_sees_overdue_steps_and_acknowledges_the_alert(world, client):
    case = _open(world)
    engine.process_timeouts(today=case.due[0] + timedelta(days=1))
    db.session.commit()
    alert = db.session.scalar(select(Alert).where(Alert.step_id == case.steps[0]))
    alert_id, county_id = alert.id, world.county_id
    assert alert.org_unit_id == county_id
    sign_in(client, "county.pages")
    page = client.get("/staff/early-warning").get_data(as_text=True)
    assert case.reference in page and world.school_name in page
    token = csrf_token(client, "/staff/early-warning")
    assert client.post(f"/staff/alerts/{alert_id}/acknowledge", data={"csrf_token": token}).status_code == 302
    assert db.session.get(Alert, alert_id).acknowledged_at is not None
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.tag == "alert:acknowledged"))


def test_the_city_sees_its_area_and_a_school_may_not_open_the_page(world, client):
    sign_in(client, "city.pages")
    assert client.get("/staff/early-warning").status_code == 200
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/staff/early-warning")})
    sign_in(client, "school.pages")
    assert client.get("/staff/early-warning").status_code == 403


def test_the_queue_filters_by_kind_and_state_and_pages_by_keyset(world, client):
    school = db.session.get(OrgUnit, world.school_id)
    for grade in range(1, 8):
        student = make_student(school, grade=grade)
        engine.open_case("suspension", student, world["clerk"], {"reason": "病", "return_on": _return_on()})
    db.session.commit()
    sign_in(client, "school.pages")
    first = client.get("/staff/queue?show=pending").get_data(as_text=True)
    assert "休学" in first
    from portal.requests import service

    with client.application.test_request_context():
        page = service.queue_page(world["school"], per_page=3)
        seen = [s.id for s in page.steps]
        while page.next_cursor:
            page = service.queue_page(world["school"], per_page=3, after=page.next_cursor)
            seen += [s.id for s in page.steps]
    assert len(seen) == len(set(seen)) == 7
    due = [db.session.get(Step, i).due_on for i in seen]
    assert due == sorted(due)
    assert client.get("/staff/queue?kind=withdrawal").get_data(as_text=True).count("/staff/queue/steps/") == 0
    assert client.get("/staff/queue?after=bad.x").status_code == 400


def _jpeg() -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_photo_is_stored_as_evidence_and_shown_to_the_school(world, client):
    from io import BytesIO

    sign_in(client, MOTHER)
    response = _apply(client, world["child"].id, key="photo", evidence=(BytesIO(_jpeg()), "诊断证明.jpg"))
    assert response.status_code == 302
    case = db.session.scalar(select(Case).order_by(Case.id.desc()))
    (ref,) = case.payload["evidence"]
    step_id = case.steps[0].id
    assert f"/evidence/{ref}" in client.get(f"/requests/{case.id}").get_data(as_text=True)
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/inbox/")})
    sign_in(client, "school.pages")
    assert f"/evidence/{ref}" in client.get(f"/staff/queue/steps/{step_id}").get_data(as_text=True)
    shown = client.get(f"/evidence/{ref}")
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"


def test_a_file_that_is_not_a_document_is_refused_and_nothing_is_opened(world, client):
    from io import BytesIO

    sign_in(client, MOTHER)
    before = _case_count()
    response = _apply(client, world["child"].id, key="bad", evidence=(BytesIO(b"<html>hi</html>"), "a.jpg"))
    assert response.status_code in (400, 415, 422)
    assert _case_count() == before
