"""The approvals engine with a sample two-level route: school → county."""

from datetime import date

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.approvals import engine
from portal.approvals.kinds import RequestKind, RouteStep, register, unregister
from portal.approvals.models import Alert, CaseState, StepState
from portal.audit.models import AuditEvent
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.provinces.models import TimeoutPolicy
from portal.provinces.service import publish_year, set_official_day, set_rule
from portal.registry.status import Status
from tests.factories import make_staff, make_student, make_tree

FRIDAY_BEFORE_NATIONAL_DAY = date(2025, 9, 26)


class SampleKind(RequestKind):
    """Suspension-like: the school reviews, the county approves, the status changes."""

    name = "sample"

    def route(self, case):
        school = case.student.school
        return [RouteStep("school", school), RouteStep("county", school.parent)]

    def on_approve(self, case, actor):
        from portal.registry.service import change_status

        change_status(case.student, Status.SUSPENDED, actor, reason="approved", case=case)

    def on_reject(self, case, actor):
        case.payload = {**case.payload, "undone": True}


@pytest.fixture
def world(app):
    register(SampleKind())
    tree = make_tree()
    people = {
        "school": make_staff(Role.SCHOOL_REGISTRAR, tree.school),
        "clerk": make_staff(Role.SCHOOL_REGISTRAR, tree.school),  # starts cases at the counter
        "county": make_staff(Role.COUNTY_REGISTRAR, tree.county),
        "other_school": make_staff(Role.SCHOOL_REGISTRAR, tree.other_school),
        "province": make_staff(Role.PROVINCE_ADMIN, tree.province),
    }
    student = make_student(tree.school)
    yield tree, people, student
    unregister("sample")


def _open(world, today=FRIDAY_BEFORE_NATIONAL_DAY, **options):
    tree, people, student = world
    return engine.open_case("sample", student, people["clerk"], {"why": "illness"}, today=today, **options)


def test_opening_starts_the_first_step_with_a_working_day_deadline(world):
    case = _open(world)
    first, second = case.steps
    assert first.state == StepState.PENDING and second.state == StepState.WAITING
    # National default: 10 working days, counted across National Day 2025.
    assert first.due_on == date(2025, 10, 16)
    assert first.working_days == 10


def test_a_route_runs_to_approval_and_applies_the_outcome(world):
    tree, people, student = world
    case = _open(world)
    engine.decide(case.steps[0].id, people["school"], approve=True, today=date(2025, 10, 9))
    assert case.steps[1].state == StepState.PENDING
    assert case.steps[1].activated_on == date(2025, 10, 9)
    engine.decide(case.steps[1].id, people["county"], approve=True, today=date(2025, 10, 10))
    assert case.state == CaseState.APPROVED
    assert student.status == Status.SUSPENDED


def test_rejection_needs_a_reason_and_ends_the_case(world):
    tree, people, student = world
    case = _open(world)
    with pytest.raises(ValidationFailed) as refused:
        engine.decide(case.steps[0].id, people["school"], approve=False, reason="  ")
    assert refused.value.code == "step.reason_required"
    assert case.steps[0].state == StepState.PENDING
    engine.decide(case.steps[0].id, people["school"], approve=False, reason="材料不全")
    assert case.state == CaseState.REJECTED
    assert [s.state for s in case.steps] == [StepState.REJECTED, StepState.SKIPPED]
    assert case.steps[0].reason == "材料不全"
    assert case.payload["undone"] is True
    assert student.status == Status.ATTENDING


def test_only_the_owning_unit_may_decide(world):
    tree, people, student = world
    case = _open(world)
    for outsider in (people["other_school"], people["county"]):
        with pytest.raises(NotFound) as refused:
            engine.decide(case.steps[0].id, outsider, approve=True)
        assert refused.value.code == "step.not_found"
    assert case.steps[0].state == StepState.PENDING


def test_a_repeated_identical_decision_is_idempotent(world):
    tree, people, student = world
    case = _open(world)
    step_id = case.steps[0].id
    engine.decide(step_id, people["school"], approve=True, today=date(2025, 10, 9))
    again = engine.decide(step_id, people["school"], approve=True, today=date(2025, 10, 9))
    assert again.state == StepState.APPROVED
    assert case.steps[1].state == StepState.PENDING  # advanced once, not twice


def test_a_contrary_decision_after_the_fact_is_refused(world):
    tree, people, student = world
    case = _open(world)
    engine.decide(case.steps[0].id, people["school"], approve=True)
    with pytest.raises(Conflict) as refused:
        engine.decide(case.steps[0].id, people["school"], approve=False, reason="changed mind")
    assert refused.value.code == "step.already_decided"


def test_an_idempotency_key_returns_the_same_case(world):
    first = _open(world, idempotency_key="k-123")
    second = _open(world, idempotency_key="k-123")
    assert first.id == second.id


def test_an_idempotency_key_reused_for_another_request_is_refused(world):
    tree, people, student = world
    _open(world, idempotency_key="k-456")
    with pytest.raises(Conflict) as refused:
        engine.open_case(
            "sample",
            student,
            people["clerk"],
            {"why": "moving house"},
            idempotency_key="k-456",
            today=FRIDAY_BEFORE_NATIONAL_DAY,
        )
    assert refused.value.code == "case.idempotency_key_reused"


def test_timeout_with_the_national_policy_flags_and_alerts_the_next_level(world):
    tree, people, student = world
    case = _open(world)
    assert engine.process_timeouts(date(2025, 10, 16)).flagged_overdue == []  # due day itself
    report = engine.process_timeouts(date(2025, 10, 17))
    step = case.steps[0]
    assert report.flagged_overdue == [step.id]
    assert step.state == StepState.PENDING and step.overdue_since == date(2025, 10, 17)
    alert = db.session.scalar(select(Alert).where(Alert.step_id == step.id))
    assert alert.org_unit_id == tree.county.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.tag == "step:overdue"))
    assert (event.case_id, event.student_id, event.data) == (case.id, student.id, {"step": 0})
    assert engine.process_timeouts(date(2025, 10, 20)).flagged_overdue == []  # once only


def test_timeout_with_auto_approve_moves_the_case_on(world):
    tree, people, student = world
    set_rule(tree.province, "sample", 20, TimeoutPolicy.AUTO_APPROVE, people["province"])
    case = _open(world)
    first = case.steps[0]
    assert first.working_days == 20
    report = engine.process_timeouts(first.due_on.replace(day=first.due_on.day + 1))
    assert report.auto_approved == [first.id]
    assert first.state == StepState.TIMED_OUT
    assert case.steps[1].state == StepState.PENDING


def test_a_deadline_beyond_the_known_calendar_is_not_guessed(world):
    tree, people, student = world
    case = _open(world, today=date(2026, 12, 24))
    first = case.steps[0]
    assert first.due_on is None and first.due_awaits_calendar_year == 2027
    assert engine.process_timeouts(date(2027, 3, 1)).flagged_overdue == []
    # An entered date alone changes nothing while the year is unpublished.
    assert set_official_day(tree.province, date(2027, 1, 1), False, "元旦", people["province"]) == 0
    assert publish_year(tree.province, 2027, people["province"]) == 1
    # 24 Dec 2026 + 10 working days: 25, 28–31 Dec, then 1 Jan is a holiday: 4–8 Jan.
    assert first.due_on == date(2027, 1, 8)
    assert first.due_awaits_calendar_year is None
    # A date corrected after publishing moves the deadline again; nothing else moves.
    assert set_official_day(tree.province, date(2027, 1, 8), False, "补休", people["province"]) == 1
    assert first.due_on == date(2027, 1, 11)
    assert engine.recompute_deadlines(tree.province.id) == 0


def test_the_queue_lists_pending_steps_by_deadline(world):
    tree, people, student = world
    later = _open(world, today=date(2025, 11, 3))
    sooner = _open(world, today=date(2025, 10, 9), idempotency_key="second")
    queue = engine.queue_for(tree.school)
    assert [s.case_id for s in queue] == [sooner.id, later.id]
    assert engine.queue_for(tree.county) == []


def test_one_step_that_cannot_time_out_does_not_stop_the_others(world):
    tree, people, student = world
    set_rule(tree.province, "sample", 1, TimeoutPolicy.AUTO_APPROVE, people["province"])
    first = _open(world, idempotency_key="a")
    engine.decide(first.steps[0].id, people["school"], approve=True, today=date(2025, 10, 9))
    other_student = make_student(tree.school)
    second = engine.open_case("sample", other_student, people["clerk"], today=date(2025, 10, 9))
    # The first student graduates meanwhile: approving the suspension is now illegal.
    from portal.registry.service import change_status

    change_status(student, Status.GRADUATED, people["school"], reason="graduated")
    report = engine.process_timeouts(date(2025, 10, 20))
    assert report.refused == {first.steps[1].id: "status.illegal_transition"}
    assert first.steps[1].state == StepState.PENDING  # its savepoint was rolled back
    assert report.auto_approved == [second.steps[0].id]
    assert second.steps[0].state == StepState.TIMED_OUT


def test_a_deadline_moved_later_is_no_longer_overdue(world):
    tree, people, student = world
    case = _open(world)
    step = case.steps[0]
    engine.process_timeouts(date(2025, 10, 17))
    assert step.overdue_since == date(2025, 10, 17)
    set_official_day(tree.province, date(2025, 10, 16), False, "corrected", people["province"])
    set_official_day(tree.province, date(2025, 10, 17), False, "corrected", people["province"])
    engine.recompute_deadlines(tree.province.id, today=date(2025, 10, 17))
    assert step.due_on == date(2025, 10, 20)
    assert step.overdue_since is None
