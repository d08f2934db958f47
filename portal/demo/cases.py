"""Demo requests: a case behind every status that needs one, and a believable live mix.

- Every suspended, abroad, withdrawn or deregistered student gets the approved case that
  put them there (a suspension's end date is stored on the record).
- The demo school's queue and its county's have open requests of every status kind, some
  overdue (with the alerts the sweep would have written), some returned to the family,
  some at a deadline not yet known; and closed ones: rejected with a reason, withdrawn.
- The demo guardian's two children have requests: one at the county, one returned for
  more material, and a finished one each.

Rows go in with bulk INSERTs and explicit ids, so a 1,000,000-student load stays fast.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import insert, select

from portal import clock
from portal.accounts.models import User
from portal.approvals.models import Alert, Case, CaseEvent, CaseState, Step, StepMode, StepState
from portal.extensions import db
from portal.guardians.models import GuardianLink
from portal.orgs.models import OrgLevel, OrgUnit, SchoolStage
from portal.provinces.rules import working_calendar
from portal.registry.models import Student
from portal.registry.status import Status

CHUNK = 5000
WORKING_DAYS = 10
DEREGISTRATION_DAYS = 60

# What put a student in each status: the kind and its route ((role, level, mode), …).
ROUTES = {
    "suspension": (("school", "school", StepMode.DECISION), ("county", "county", StepMode.DECISION)),
    "resumption": (("school", "school", StepMode.DECISION),),
    "withdrawal": (("school", "school", StepMode.DECISION), ("county_filing", "county", StepMode.FILING)),
    "abroad": (("school", "school", StepMode.DECISION), ("county_filing", "county", StepMode.FILING)),
    "deregistration": (("county", "county", StepMode.DECISION),),
}
BEHIND_STATUS = {
    Status.SUSPENDED: "suspension",
    Status.ABROAD: "abroad",
    Status.WITHDRAWN: "withdrawal",
    Status.DEREGISTERED: "deregistration",
}
REASONS = {
    "suspension": ("因病需住院治疗，医生建议休养", "骨折术后需长期康复", "因心理健康原因需休养治疗"),
    "resumption": ("病已痊愈，申请复学", "出境学习结束，申请复学", "康复良好，医院建议返校"),
    "withdrawal": ("随家庭出国定居", "已被境外学校录取", "家庭原因申请退学"),
    "abroad": ("随父母赴境外工作地就读", "赴境外参加交换学习", "随家庭出境定居一年"),
    "deregistration": ("学生已在境外定居并取得当地学籍", "经核实已死亡", "重复学籍，予以注销"),
}
MISSING = ("请补充二级以上医院出具的诊断证明", "请补充出入境证件复印件", "请补充监护人签字的申请表")
REJECTIONS = ("提供的证明材料与申请理由不符", "计划复学日期超出规定期限")


@dataclass
class _Batch:
    """Rows waiting for their bulk INSERT."""

    cases: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    events: list = field(default_factory=list)
    alerts: list = field(default_factory=list)
    next_case: int = 1
    next_step: int = 1


@dataclass
class _Places:
    province_id: int
    county_of: dict  # school id -> county id
    registrar_of: dict  # unit id -> a registrar's user id
    calendar: object


def add_demo_cases(rng: random.Random, schools: list[OrgUnit], first_student_id: int) -> tuple[dict, int]:
    """Add the cases; returns how many cases of each state were made, and how many
    attending students were turned into suspended ones (with their case behind them)."""
    places = _places(schools)
    batch = _Batch(
        next_case=(db.session.scalar(select(db.func.max(Case.id))) or 0) + 1,
        next_step=(db.session.scalar(select(db.func.max(Step.id))) or 0) + 1,
    )
    today = clock.today()
    _cases_behind_statuses(rng, batch, places, today)
    suspended = _live_mix(rng, batch, places, schools, first_student_id, today)
    _flush(batch, final=True)
    counts: dict[str, int] = {}
    for state, number in db.session.execute(select(Case.state, db.func.count()).group_by(Case.state)).all():
        counts[state] = number
    return counts, suspended


def _places(schools: list[OrgUnit]) -> _Places:
    county_of = {school.id: school.parent_id for school in schools}
    registrars = db.session.execute(
        select(User.org_unit_id, db.func.min(User.id))
        .where(User.role.in_(("school_registrar", "county_registrar")))
        .group_by(User.org_unit_id)
    ).all()
    province = schools[0].ancestor_at(OrgLevel.PROVINCE)
    return _Places(province.id, county_of, dict(registrars), working_calendar(province.id))


def _cases_behind_statuses(rng, batch: _Batch, places: _Places, today: date) -> None:
    rows = db.session.execute(
        select(Student.id, Student.school_id, Student.status).where(Student.status.in_(list(BEHIND_STATUS)))
    ).all()
    requesters = _guardians_of([row.id for row in rows])
    until_updates = []
    for student_id, school_id, status in rows:
        kind = BEHIND_STATUS[Status(status)]
        opened = today - timedelta(days=rng.randint(30, 200))
        requester = requesters.get(student_id)
        if kind == "deregistration" or requester is None:
            requester = places.registrar_of.get(school_id)
        payload = {"reason": rng.choice(REASONS[kind]), "evidence": []}
        if kind == "suspension":
            end = min(opened + timedelta(days=rng.randint(120, 360)), opened + timedelta(days=364))
            if end <= today:
                end = today + timedelta(days=rng.randint(5, 120))
            payload["return_on"] = end.isoformat()
            until_updates.append({"b_id": student_id, "b_until": end})
        _case(
            batch, places, kind, student_id, school_id, requester, payload, opened, decided=len(ROUTES[kind])
        )
        _flush(batch)
    if until_updates:
        from sqlalchemy import bindparam, update

        statement = (
            update(Student.__table__)
            .where(Student.__table__.c.id == bindparam("b_id"))
            .values(status_until=bindparam("b_until"))
        )
        for start in range(0, len(until_updates), CHUNK):
            db.session.execute(statement, until_updates[start : start + CHUNK])


def _live_mix(rng, batch: _Batch, places: _Places, schools, first_student_id: int, today: date) -> int:
    """Open, returned, overdue and closed requests in the demo school, its county and the
    demo guardian's children."""
    demo_school = schools[0]
    county_id = places.county_of[demo_school.id]
    senior = next(
        (s for s in schools if s.parent_id == county_id and s.stage == SchoolStage.SENIOR), demo_school
    )
    busy = {row.student_id for row in db.session.execute(select(Case.student_id)).all()}
    busy.update(case["student_id"] for case in batch.cases)

    guardian_children = [first_student_id, first_student_id + 1]
    demo_guardian = db.session.scalar(select(User.id).where(User.mobile == "13800138000"))
    # The demo guardian: a suspension now with the county (the school approved), and an
    # application to study abroad returned for a missing document; a finished one each.
    first, second = guardian_children
    _case(
        batch,
        places,
        "suspension",
        first,
        demo_school.id,
        demo_guardian,
        _payload(rng, "suspension", today),
        today - timedelta(days=9),
        decided=1,
    )
    _case(
        batch,
        places,
        "resumption",
        first,
        demo_school.id,
        demo_guardian,
        {"reason": "康复后复学", "evidence": []},
        today - timedelta(days=300),
        decided=0,
        end=CaseState.WITHDRAWN,
    )
    _case(
        batch,
        places,
        "abroad",
        second,
        demo_school.id,
        demo_guardian,
        _payload(rng, "abroad", today),
        today - timedelta(days=6),
        decided=0,
        returned=True,
    )
    _case(
        batch,
        places,
        "suspension",
        second,
        demo_school.id,
        demo_guardian,
        _payload(rng, "suspension", today - timedelta(days=200)),
        today - timedelta(days=200),
        decided=1,
        end=CaseState.REJECTED,
    )
    busy.update(guardian_children)

    # A few pupils of the demo school stay without any request, so a newcomer can try one.
    _free_students(demo_school.id, "suspension", 4, busy)
    plan = [
        # (school, kind, how many, days ago opened, steps decided, how it stands)
        (demo_school, "suspension", 6, (1, 8), 0, "open"),
        (demo_school, "abroad", 3, (1, 8), 0, "open"),
        (demo_school, "suspension", 2, (20, 30), 0, "overdue"),
        (demo_school, "abroad", 1, (18, 25), 0, "overdue"),
        (demo_school, "suspension", 2, (3, 9), 0, "returned"),
        (demo_school, "suspension", 3, (5, 12), 1, "open"),  # with the county
        (demo_school, "suspension", 2, (40, 90), 1, "rejected"),
        (demo_school, "abroad", 2, (10, 60), 0, "withdrawn"),
        (senior, "withdrawal", 3, (2, 9), 0, "open"),
        (senior, "withdrawal", 2, (4, 10), 1, "open"),  # with the county, to file
        (senior, "suspension", 2, (22, 35), 1, "overdue"),  # late at the county
        (senior, "abroad", 2, (3, 9), 0, "open"),
    ]
    for school, kind, number, (early, late), decided, stands in plan:
        for student_id in _free_students(school.id, kind, number, busy):
            requester = _guardians_of([student_id]).get(student_id) or places.registrar_of.get(school.id)
            opened = today - timedelta(days=rng.randint(early, late))
            _case(
                batch,
                places,
                kind,
                student_id,
                school.id,
                requester,
                _payload(rng, kind, opened),
                opened,
                decided=decided,
                returned=stands == "returned",
                overdue=stands == "overdue",
                end={"rejected": CaseState.REJECTED, "withdrawn": CaseState.WITHDRAWN}.get(stands),
            )
    # Two pupils of the demo school came back from a suspension approved months ago and now
    # ask to return to school (the status, its history and its approved case agree).
    returning = _free_students(demo_school.id, "resumption", 2, busy)
    for student_id in returning:
        requester = _guardians_of([student_id]).get(student_id) or places.registrar_of.get(demo_school.id)
        began = today - timedelta(days=rng.randint(150, 250))
        back_on = today + timedelta(days=rng.randint(3, 30))
        payload = {
            "reason": rng.choice(REASONS["suspension"]),
            "evidence": [],
            "return_on": back_on.isoformat(),
        }
        _case(batch, places, "suspension", student_id, demo_school.id, requester, payload, began, decided=2)
        _suspend(student_id, back_on, _moment(began + timedelta(days=6)))
        _case(
            batch,
            places,
            "resumption",
            student_id,
            demo_school.id,
            requester,
            _payload(rng, "resumption", today),
            today - timedelta(days=rng.randint(1, 5)),
            decided=0,
        )
    return len(returning)


def _suspend(student_id: int, until: date, at: datetime) -> None:
    from sqlalchemy import update

    from portal.registry.models import HistoryKind, StudentHistory

    db.session.execute(
        update(Student).where(Student.id == student_id).values(status=Status.SUSPENDED, status_until=until)
    )
    db.session.execute(
        insert(StudentHistory),
        [
            {
                "student_id": student_id,
                "kind": HistoryKind.STATUS,
                "before": {"status": Status.ATTENDING},
                "after": {"status": Status.SUSPENDED},
                "reason": "",
                "actor_id": None,
                "at": at,
            }
        ],
    )


def _payload(rng, kind: str, opened: date) -> dict:
    payload = {"reason": rng.choice(REASONS[kind]), "evidence": []}
    if kind == "suspension":
        payload["return_on"] = (opened + timedelta(days=rng.randint(90, 300))).isoformat()
    return payload


def _free_students(school_id: int, kind: str, number: int, busy: set) -> list[int]:
    """Attending students of a school with no case yet (and a grade the kind allows)."""
    statement = select(Student.id).where(Student.school_id == school_id, Student.status == Status.ATTENDING)
    if kind == "withdrawal":
        statement = statement.where(Student.grade >= 10)
    found = []
    for student_id in db.session.scalars(statement.order_by(Student.id).limit(number + len(busy) + 50)):
        if student_id not in busy:
            found.append(student_id)
            busy.add(student_id)
        if len(found) == number:
            break
    return found


def _guardians_of(student_ids: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for start in range(0, len(student_ids), CHUNK):
        for student_id, guardian_id in db.session.execute(
            select(GuardianLink.student_id, GuardianLink.guardian_id).where(
                GuardianLink.student_id.in_(student_ids[start : start + CHUNK]),
                GuardianLink.revoked_at.is_(None),
            )
        ).all():
            found.setdefault(student_id, guardian_id)
    return found


def _case(
    batch: _Batch,
    places: _Places,
    kind: str,
    student_id: int,
    school_id: int,
    requester: int,
    payload: dict,
    opened: date,
    *,
    decided: int,
    returned: bool = False,
    overdue: bool = False,
    end: CaseState | None = None,
) -> None:
    """One case and its steps: `decided` steps passed, then the next one pending (or returned,
    or late), unless `end` closes it (rejected at that step, or withdrawn before it)."""
    case_id = batch.next_case
    batch.next_case += 1
    route = ROUTES[kind]
    units = {"school": school_id, "county": places.county_of[school_id]}
    working_days = DEREGISTRATION_DAYS if kind == "deregistration" else WORKING_DAYS
    all_decided = decided >= len(route) and end is None
    state = (
        CaseState.APPROVED if all_decided else (end or (CaseState.RETURNED if returned else CaseState.OPEN))
    )
    opened_at = _moment(opened)
    day = opened
    closed_at = None
    batch.events.append(_event(case_id, None, None, CaseState.OPEN, requester, "", opened_at))
    for position, (role, level, mode) in enumerate(route):
        unit = units[level]
        step = {
            "id": batch.next_step,
            "case_id": case_id,
            "position": position,
            "role": role,
            "kind": kind,
            "mode": mode,
            "org_unit_id": unit,
            "province_id": places.province_id,
            "working_days": working_days,
            "timeout_policy": "flag_overdue",
            "state": StepState.WAITING,
            "activated_on": None,
            "due_on": None,
            "due_awaits_calendar_year": None,
            "overdue_since": None,
            "decided_at": None,
            "decided_by_id": None,
            "reason": "",
        }
        batch.next_step += 1
        if position < decided or (position == decided and end is not None):
            step["activated_on"] = day
            _deadline(step, places)
            day = min(day + timedelta(days=3), clock.today())
            outcome = StepState.FILED if mode == StepMode.FILING else StepState.APPROVED
            if position == decided and end == CaseState.REJECTED:
                outcome, step["reason"] = StepState.REJECTED, REJECTIONS[case_id % len(REJECTIONS)]
            if position == decided and end == CaseState.WITHDRAWN:
                outcome = StepState.WITHDRAWN
            step["state"] = outcome
            if outcome != StepState.WITHDRAWN:
                step["decided_at"] = _moment(day)
                step["decided_by_id"] = places.registrar_of.get(unit)
            closed_at = _moment(day)
            batch.events.append(
                _event(
                    case_id,
                    step["id"],
                    StepState.PENDING,
                    outcome,
                    step["decided_by_id"],
                    step["reason"],
                    closed_at,
                )
            )
        elif position == decided and end is None:
            step["activated_on"] = day
            _deadline(step, places)
            if returned:
                step.update(state=StepState.RETURNED, due_on=None, reason=MISSING[case_id % len(MISSING)])
                step["decided_at"], step["decided_by_id"] = (
                    _moment(day + timedelta(days=1)),
                    places.registrar_of.get(unit),
                )
            else:
                step["state"] = StepState.PENDING
                if overdue and step["due_on"] and step["due_on"] < clock.today():
                    step["overdue_since"] = step["due_on"] + timedelta(days=1)
                    batch.alerts.append(
                        {"org_unit_id": _parent(places, unit), "step_id": step["id"], "kind": "step_overdue"}
                    )
        elif end is not None or all_decided:
            step["state"] = StepState.SKIPPED if end == CaseState.REJECTED else StepState.WITHDRAWN
        batch.steps.append(step)
    if state not in (CaseState.OPEN, CaseState.RETURNED):
        batch.events.append(
            _event(case_id, None, CaseState.OPEN, state, requester, "", closed_at or opened_at)
        )
    batch.cases.append(
        {
            "id": case_id,
            "kind": kind,
            "student_id": student_id,
            "requester_id": requester,
            "province_id": places.province_id,
            "state": state,
            "payload": payload,
            "idempotency_key": None,
            "opened_at": opened_at,
            "closed_at": None if state in (CaseState.OPEN, CaseState.RETURNED) else (closed_at or opened_at),
        }
    )


def _deadline(step: dict, places: _Places) -> None:
    deadline = places.calendar.add_working_days(step["activated_on"], step["working_days"])
    step["due_on"], step["due_awaits_calendar_year"] = deadline.due_on, deadline.missing_year


def _parent(places: _Places, unit_id: int) -> int:
    for school, county in places.county_of.items():
        if school == unit_id:
            return county
    return db.session.scalar(select(OrgUnit.parent_id).where(OrgUnit.id == unit_id)) or unit_id


def _event(case_id, step_id, before, after, actor, reason, at) -> dict:
    return {
        "case_id": case_id,
        "step_id": step_id,
        "from_state": str(before) if before is not None else None,
        "to_state": str(after),
        "actor_id": actor,
        "reason": reason,
        "at": at,
    }


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(9, 30), tzinfo=UTC)


def _flush(batch: _Batch, final: bool = False) -> None:
    if not final and len(batch.cases) < CHUNK:
        return
    if batch.cases:
        db.session.execute(insert(Case), batch.cases)
        db.session.execute(insert(Step), batch.steps)
        db.session.execute(insert(CaseEvent), batch.events)
    if batch.alerts:
        db.session.execute(insert(Alert), batch.alerts)
    batch.cases.clear()
    batch.steps.clear()
    batch.events.clear()
    batch.alerts.clear()
