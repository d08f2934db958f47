"""The engine's states: filing, returned and resubmitted, withdrawn, the door, per-step rules."""

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.approvals import engine
from portal.approvals.kinds import RequestKind, RouteStep, register, unregister
from portal.approvals.models import Case, CaseEvent, CaseState, Step, StepMode, StepState
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.provinces.models import TimeoutPolicy
from portal.provinces.service import set_official_day, set_rule
from portal.registry.status import Status
from tests.factories import make_staff, make_student, make_tree

FRIDAY_BEFORE_NATIONAL_DAY = date(2025, 9, 26)  # + 10 working days: Thursday 16 October


class ReviewThenFiling(RequestKind):
    name = "sample_filing"
    conflicts = frozenset({"sample_filing"})

    def route(self, case):
        school = case.student.school
        return [RouteStep("school", school), RouteStep("county_filing", school.parent, StepMode.FILING)]

    def check_eligible(self, student, requester, payload):
        if payload.get("hopeless"):
            raise Conflict("sample.hopeless", "never")

    def on_approve(self, case, actor):
        from portal.registry.service import change_status

        change_status(case.student, Status.SUSPENDED, actor, reason="filed", case=case)

    def on_withdraw(self, case, actor):
        case.payload = {**case.payload, "withdrawn_hook": True}


class AcrossProvinces(RequestKind):
    """A cross-province route: this school, then a county in another province."""

    name = "sample_across"
    other_county = None

    def route(self, case):
        return [
            RouteStep("sending_school", case.student.school),
            RouteStep("receiving_county", self.other_county),
        ]


@pytest.fixture
def world(app):
    register(ReviewThenFiling())
    tree = make_tree()
    people = {
        "clerk": make_staff(Role.SCHOOL_REGISTRAR, tree.school),
        "school": make_staff(Role.SCHOOL_REGISTRAR, tree.school),
        "county": make_staff(Role.COUNTY_REGISTRAR, tree.county),
        "province": make_staff(Role.PROVINCE_ADMIN, tree.province),
    }
    student = make_student(tree.school)
    yield tree, people, student
    unregister(ReviewThenFiling.name)


def _open(world, payload=None, today=FRIDAY_BEFORE_NATIONAL_DAY, **options):
    tree, people, student = world
    return engine.open_case(
        ReviewThenFiling.name, student, people["clerk"], payload or {"why": "illness"}, today=today, **options
    )


def _timeline(case):
    return [
        (e.step_id, e.from_state, e.to_state)
        for e in db.session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
        )
    ]


def test_a_filing_step_is_acknowledged_and_ends_the_case(world):
    tree, people, student = world
    case = _open(world)
    engine.decide(case.steps[0].id, people["school"], approve=True, today=date(2025, 10, 9))
    filing = case.steps[1]
    assert filing.mode == StepMode.FILING and filing.state == StepState.PENDING
    for reason in ("不同意", ""):
        with pytest.raises(Conflict) as refused:
            engine.decide(filing.id, people["county"], approve=False, reason=reason)
        assert refused.value.code == "step.filing_cannot_reject"
    assert filing.state == StepState.PENDING
    engine.decide(filing.id, people["county"], approve=True)
    assert filing.state == StepState.FILED
    assert case.state == CaseState.APPROVED
    assert student.status == Status.SUSPENDED
    first, second = (s.id for s in case.steps)
    assert _timeline(case) == [
        (None, None, "open"),
        (first, "waiting", "pending"),
        (first, "pending", "approved"),
        (second, "waiting", "pending"),
        (second, "pending", "filed"),
        (None, "open", "approved"),
    ]


def test_the_requester_never_decides_a_step_of_their_own_case(world):
    tree, people, student = world
    case = _open(world)
    with pytest.raises(Conflict) as refused:
        engine.decide(case.steps[0].id, people["clerk"], approve=True)
    assert refused.value.code == "step.requester_cannot_decide"
    with pytest.raises(Conflict):
        engine.return_case(case.steps[0].id, people["clerk"], missing="证明")
    assert case.steps[0].state == StepState.PENDING


def test_returned_for_more_material_then_resubmitted_with_a_fresh_deadline(world):
    tree, people, student = world
    case = _open(world, {"why": "illness", "evidence": ["doc-1"]})
    step = case.steps[0]
    assert step.due_on == date(2025, 10, 16)
    with pytest.raises(ValidationFailed) as refused:
        engine.return_case(step.id, people["school"], missing=" ")
    assert refused.value.code == "step.reason_required"
    engine.return_case(step.id, people["school"], missing="请补充医院诊断证明")
    assert (case.state, step.state, step.reason) == (
        CaseState.RETURNED,
        StepState.RETURNED,
        "请补充医院诊断证明",
    )
    # A returned step is the family's to move: the unit cannot decide it, and it never times out.
    with pytest.raises(Conflict) as refused:
        engine.decide(step.id, people["school"], approve=True)
    assert refused.value.code == "step.already_decided"
    assert engine.process_timeouts(date(2025, 12, 1)).flagged_overdue == []
    # Only the requester resubmits.
    with pytest.raises(NotFound):
        engine.resubmit(case.id, people["school"], evidence=["doc-2"])
    engine.resubmit(
        case.id,
        people["clerk"],
        evidence=["doc-2"],
        additions={"hospital": "市一院"},
        today=date(2025, 11, 3),
    )
    assert (case.state, step.state) == (CaseState.OPEN, StepState.PENDING)
    assert step.activated_on == date(2025, 11, 3)
    assert step.due_on == date(2025, 11, 17)  # 10 working days counted from the resubmission day
    assert case.payload["evidence"] == ["doc-1", "doc-2"] and case.payload["hospital"] == "市一院"
    with pytest.raises(Conflict) as refused:
        engine.resubmit(case.id, people["clerk"], evidence=["doc-3"])
    assert refused.value.code == "case.not_returned"
    engine.decide(step.id, people["school"], approve=True, today=date(2025, 11, 4))
    assert case.steps[1].state == StepState.PENDING


def test_withdrawn_by_the_requester_while_nobody_has_decided(world):
    tree, people, student = world
    case = _open(world)
    with pytest.raises(NotFound):
        engine.withdraw(case.id, people["school"])
    engine.withdraw(case.id, people["clerk"], reason="孩子病愈")
    assert case.state == CaseState.WITHDRAWN
    assert [s.state for s in case.steps] == [StepState.WITHDRAWN, StepState.WITHDRAWN]
    assert case.payload["withdrawn_hook"] is True
    with pytest.raises(Conflict) as refused:
        engine.decide(case.steps[0].id, people["school"], approve=True)
    assert refused.value.code == "step.already_decided"
    # A second request may now be opened: the withdrawn one no longer conflicts.
    assert _open(world).state == CaseState.OPEN


def test_no_withdrawal_once_a_party_has_decided(world):
    tree, people, student = world
    case = _open(world)
    engine.decide(case.steps[0].id, people["school"], approve=True)
    with pytest.raises(Conflict) as refused:
        engine.withdraw(case.id, people["clerk"])
    assert refused.value.code == "case.cannot_withdraw"
    assert case.state == CaseState.OPEN and case.steps[1].state == StepState.PENDING


def test_a_case_state_table_refuses_an_illegal_move(world):
    case = _open(world)
    engine.withdraw(case.id, world[1]["clerk"])
    with pytest.raises(Conflict) as refused:
        engine.move_case(case, CaseState.APPROVED)
    assert refused.value.code == "case.illegal_transition"
    with pytest.raises(Conflict) as refused:
        engine.move_step(case.steps[0], StepState.PENDING)
    assert refused.value.code == "step.illegal_transition"


def _counts():
    return (
        db.session.scalar(select(func.count()).select_from(Case)),
        db.session.scalar(select(func.count()).select_from(Step)),
        db.session.scalar(select(func.count()).select_from(CaseEvent)),
    )


def test_refused_at_the_door_with_nothing_written(world):
    tree, people, student = world
    before = _counts()
    with pytest.raises(Conflict) as refused:
        _open(world, {"hopeless": True})
    assert refused.value.code == "sample.hopeless"
    assert _counts() == before
    _open(world)
    before = _counts()
    with pytest.raises(Conflict) as refused:
        _open(world, {"why": "again"})
    assert refused.value.code == "case.conflicting_open_case"
    assert _counts() == before


def test_a_retried_submit_is_not_refused_as_its_own_conflict(world):
    first = _open(world, idempotency_key="tap-1")
    again = _open(world, idempotency_key="tap-1")
    assert first.id == again.id
    assert (
        db.session.scalar(select(func.count()).select_from(Case).where(Case.kind == ReviewThenFiling.name))
        == 1
    )


def test_no_request_about_a_deregistered_student(world):
    tree, people, student = world
    from portal.registry.service import change_status

    change_status(student, Status.DEREGISTERED, people["school"], reason="注销")
    before = _counts()
    with pytest.raises(Conflict) as refused:
        _open(world)
    assert refused.value.code == "case.student_deregistered"
    assert _counts() == before


@pytest.fixture
def across(app):
    kind = register(AcrossProvinces())
    home, away = make_tree(), make_tree()
    kind.other_county = away.county
    people = {
        "clerk": make_staff(Role.SCHOOL_REGISTRAR, home.school),
        "home_admin": make_staff(Role.PROVINCE_ADMIN, home.province),
        "away_admin": make_staff(Role.PROVINCE_ADMIN, away.province),
    }
    yield home, away, people, make_student(home.school)
    unregister(AcrossProvinces.name)


def test_each_step_keeps_its_own_provinces_rules_and_calendar(across):
    home, away, people, student = across
    set_rule(away.province, "*", 20, TimeoutPolicy.AUTO_APPROVE, people["away_admin"])
    case = engine.open_case(AcrossProvinces.name, student, people["clerk"], today=FRIDAY_BEFORE_NATIONAL_DAY)
    mine, theirs = case.steps
    assert (mine.province_id, mine.working_days, mine.timeout_policy) == (
        home.province.id,
        10,
        TimeoutPolicy.FLAG_OVERDUE,
    )
    assert (theirs.province_id, theirs.working_days, theirs.timeout_policy) == (
        away.province.id,
        20,
        TimeoutPolicy.AUTO_APPROVE,
    )
    # Thursday 9 October is declared a holiday in the other province only.
    set_official_day(away.province, date(2025, 10, 9), False, "地方假日", people["away_admin"])
    assert mine.due_on == date(2025, 10, 16)  # the home calendar does not know that day
    mine.state = StepState.APPROVED
    theirs.state = StepState.PENDING
    theirs.activated_on = FRIDAY_BEFORE_NATIONAL_DAY
    engine.recompute_deadlines(away.province.id)
    # 20 working days after 26 September on the other province's calendar: one day later.
    assert theirs.due_on == date(2025, 10, 31)
    engine.recompute_deadlines(home.province.id)
    assert theirs.due_on == date(2025, 10, 31)  # the home province's recount leaves it alone
