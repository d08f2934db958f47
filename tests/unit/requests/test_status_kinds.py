"""The status requests, each through its route, and their refusals at the door."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import clock
from portal.accounts.models import Role
from portal.approvals import engine
from portal.approvals.models import Case, CaseState, StepMode, StepState
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.registry.models import StudentHistory
from portal.registry.service import read_student
from portal.registry.status import Status
from tests.factories import make_guardian, make_staff, make_student, make_tree


@pytest.fixture
def world(app):
    tree = make_tree()
    people = {
        "guardian": make_guardian(),
        "clerk": make_staff(Role.SCHOOL_REGISTRAR, tree.school),
        "school": make_staff(Role.SCHOOL_REGISTRAR, tree.school),
        "county": make_staff(Role.COUNTY_REGISTRAR, tree.county),
        "senior": make_staff(Role.SCHOOL_REGISTRAR, tree.senior_school),
        "senior_clerk": make_staff(Role.SCHOOL_REGISTRAR, tree.senior_school),
    }
    pupil = make_student(tree.school, grade=4)
    senior = make_student(tree.senior_school, grade=11)
    for child in (pupil, senior):
        db.session.add(
            GuardianLink(guardian_id=people["guardian"].id, student_id=child.id, relation=Relation.MOTHER)
        )
    db.session.flush()
    return tree, people, pupil, senior


def _suspension(months_away: int = 6, **extra):
    return_on = clock.today() + timedelta(days=30 * months_away)
    return {
        "reason": "因病需长期治疗",
        "evidence": ["upload-17"],
        "return_on": return_on.isoformat(),
        **extra,
    }


def _run(case, *deciders):
    for step, person in zip(case.steps, deciders, strict=True):
        assert step.state == StepState.PENDING
        engine.decide(step.id, person, approve=True)


def test_suspension_school_confirms_county_approves_end_date_stored(world):
    tree, people, pupil, senior = world
    case = engine.open_case("suspension", pupil, people["guardian"], _suspension())
    assert [(s.role, s.org_unit_id) for s in case.steps] == [
        ("school", tree.school.id),
        ("county", tree.county.id),
    ]
    engine.decide(case.steps[0].id, people["school"], approve=True)
    assert pupil.status == Status.ATTENDING  # nothing changes before the last step
    engine.decide(case.steps[1].id, people["county"], approve=True)
    assert case.state == CaseState.APPROVED
    assert pupil.status == Status.SUSPENDED
    assert pupil.status_until.isoformat() == case.payload["return_on"]


def test_suspension_beyond_one_year_is_refused_at_the_door(world):
    tree, people, pupil, senior = world
    with pytest.raises(ValidationFailed) as refused:
        engine.open_case("suspension", pupil, people["guardian"], _suspension(months_away=13))
    assert refused.value.code == "suspension.beyond_one_year"
    with pytest.raises(ValidationFailed) as refused:
        engine.open_case("suspension", pupil, people["guardian"], _suspension(evidence="not a list"))
    assert refused.value.code == "case.bad_evidence"
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_resumption_after_suspension_returns_to_attending(world):
    tree, people, pupil, senior = world
    pupil.status, pupil.status_until = Status.SUSPENDED, clock.today()
    case = engine.open_case("resumption", pupil, people["guardian"], {"reason": "病愈返校"})
    assert [s.role for s in case.steps] == ["school"]
    _run(case, people["school"])
    assert (pupil.status, pupil.status_until) == (Status.ATTENDING, None)


def test_resumption_of_an_attending_student_is_refused_by_the_status_machine(world):
    tree, people, pupil, senior = world
    with pytest.raises(Conflict) as refused:
        engine.open_case("resumption", pupil, people["guardian"], {"reason": "x"})
    assert refused.value.code == "status.illegal_transition"


def test_withdrawal_in_senior_high_ends_with_a_county_filing(world):
    tree, people, pupil, senior = world
    case = engine.open_case("withdrawal", senior, people["guardian"], {"reason": "就业"})
    assert [s.mode for s in case.steps] == [StepMode.DECISION, StepMode.FILING]
    engine.decide(case.steps[0].id, people["senior"], approve=True)
    with pytest.raises(Conflict) as refused:
        engine.decide(case.steps[1].id, people["county"], approve=False, reason="no")
    assert refused.value.code == "step.filing_cannot_reject"
    engine.decide(case.steps[1].id, people["county"], approve=True)
    assert case.steps[1].state == StepState.FILED
    assert senior.status == Status.WITHDRAWN


def test_withdrawal_in_compulsory_education_is_refused_at_the_door_with_the_rule(world, app):
    tree, people, pupil, senior = world
    with pytest.raises(Conflict) as refused:
        engine.open_case("withdrawal", pupil, people["guardian"], {"reason": "外出务工"})
    assert refused.value.code == "withdrawal.compulsory_education"
    with app.test_request_context(headers={"Accept-Language": "zh-Hans"}):
        from flask_babel import force_locale

        with force_locale("zh_Hans"):
            assert "义务教育" in str(refused.value.message) and "M-18" in str(refused.value.message)
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_study_abroad_is_filed_and_the_return_is_marked(world):
    tree, people, pupil, senior = world
    case = engine.open_case(
        "abroad", pupil, people["guardian"], {"reason": "随父母出国", "evidence": ["passport-1"]}
    )
    assert [(s.role, s.mode) for s in case.steps] == [
        ("school", StepMode.DECISION),
        ("county_filing", StepMode.FILING),
    ]
    _run(case, people["school"], people["county"])
    assert pupil.status == Status.ABROAD
    back = engine.open_case("resumption", pupil, people["guardian"], {"reason": "回国"})
    _run(back, people["school"])
    assert pupil.status == Status.ATTENDING
    marks = db.session.scalars(
        select(StudentHistory)
        .where(StudentHistory.student_id == pupil.id, StudentHistory.kind == "status")
        .order_by(StudentHistory.id)
    ).all()
    assert [(h.before["status"], h.after["status"], h.case_id) for h in marks] == [
        ("attending", "abroad", case.id),
        ("abroad", "attending", back.id),
    ]


def test_deregistration_is_started_by_the_school_and_approved_by_the_county(world):
    tree, people, pupil, senior = world
    with pytest.raises(Conflict) as refused:
        engine.open_case("deregistration", pupil, people["guardian"], {"reason": "x"})
    assert refused.value.code == "case.school_starts"
    case = engine.open_case("deregistration", pupil, people["clerk"], {"reason": "死亡注销"})
    assert [(s.role, s.working_days) for s in case.steps] == [("county", 60)]  # M-21
    _run(case, people["county"])
    assert pupil.status == Status.DEREGISTERED
    with pytest.raises(Conflict) as refused:
        engine.open_case("resumption", pupil, people["guardian"], {"reason": "x"})
    assert refused.value.code == "case.student_deregistered"


def test_one_status_request_at_a_time(world):
    tree, people, pupil, senior = world
    engine.open_case("suspension", pupil, people["guardian"], _suspension())
    with pytest.raises(Conflict) as refused:
        engine.open_case("abroad", pupil, people["clerk"], {"reason": "出国"})
    assert refused.value.code == "case.conflicting_open_case"
    # Another student is not affected.
    engine.open_case("withdrawal", senior, people["guardian"], {"reason": "就业"})


def test_a_registrar_starts_on_the_familys_behalf_and_cannot_decide_it(world):
    tree, people, pupil, senior = world
    case = engine.open_case("suspension", pupil, people["clerk"], _suspension())
    with pytest.raises(Conflict) as refused:
        engine.decide(case.steps[0].id, people["clerk"], approve=True)
    assert refused.value.code == "step.requester_cannot_decide"
    engine.decide(case.steps[0].id, people["school"], approve=True)
    assert case.steps[1].state == StepState.PENDING


def test_a_stranger_can_start_nothing(world):
    tree, people, pupil, senior = world
    stranger = make_guardian()
    other_school = make_staff(Role.SCHOOL_REGISTRAR, tree.other_school)
    for person in (stranger, other_school):
        with pytest.raises(NotFound):
            engine.open_case("suspension", pupil, person, _suspension())


def test_staff_of_a_unit_owning_a_step_read_the_record_for_the_life_of_the_case(world):
    tree, people, pupil, senior = world
    other_county = make_staff(Role.COUNTY_REGISTRAR, tree.other_county)

    class ToTheOtherCounty(engine.get_kind("resumption").__class__):
        name = "sample_other_county"

        def route(self, case):
            from portal.approvals.kinds import RouteStep

            return [RouteStep("receiving_county", tree.other_county)]

    from portal.approvals.kinds import register, unregister

    register(ToTheOtherCounty())
    try:
        with pytest.raises(NotFound):
            read_student(other_county, pupil.id)
        pupil.status = Status.SUSPENDED
        case = engine.open_case("sample_other_county", pupil, people["clerk"], {"reason": "x"})
        assert read_student(other_county, pupil.id) is pupil
        engine.withdraw(case.id, people["clerk"])
        with pytest.raises(NotFound):
            read_student(other_county, pupil.id)
    finally:
        unregister("sample_other_county")
