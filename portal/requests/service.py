"""What the request pages and the API read and do, in a bounded number of queries.

Families: start a request, read one (with each party's deadline), resubmit, withdraw.
Staff: the unit's queue (keyset-paged), one step with the record beside it, the decision,
and for county and city units the early-warning view of their area (M-23).
The engine (`portal.approvals.engine`) does every move; this module finds and checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, func, select, tuple_, union_all
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from portal import clock
from portal.approvals import engine
from portal.approvals.kinds import get_kind, kinds_in_conflict, registered_kinds
from portal.approvals.models import (
    LIVE_CASE_STATES,
    Alert,
    Case,
    CaseEvent,
    Step,
    StepMode,
    StepState,
    case_reference,
)
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.database import read
from portal.errors import DomainError, NotFound, ValidationFailed
from portal.extensions import db
from portal.orgs.models import STAGE_GRADES, OrgLevel, OrgUnit
from portal.orgs.service import subtree_ids
from portal.provinces.rules import shown_calendar
from portal.registry.models import Student, grade_label
from portal.security.scope import SCHOOL_ONLY, get_visible_student

QUEUE_PAGE_SIZE = 25
EARLY_WARNING_WORKING_DAYS = 5  # "soon due": within this many working days (the province's calendar)
EARLY_WARNING_LIMIT = 50


class QueueFilter:
    """What a queue shows: pending steps (all, or only the overdue ones), or those returned."""

    PENDING = "pending"
    OVERDUE = "overdue"
    RETURNED = "returned"
    ALL = (PENDING, OVERDUE, RETURNED)
    LABELS = {
        PENDING: _l("Waiting for a decision"),
        OVERDUE: _l("Overdue"),
        RETURNED: _l("Returned to the family"),
    }


# --- families ---------------------------------------------------------------------------


def kinds_offered(student, user, open_cases=None) -> list:
    """The kinds `user` may start for `student` now: not one the record could not reach, nor
    one in conflict with an open case (`open_cases`: the student's live cases, if loaded)."""
    offered = []
    if open_cases is None:
        live = db.session.scalars(
            select(Case.kind).where(Case.student_id == student.id, Case.state.in_(list(LIVE_CASE_STATES)))
        ).all()
    else:
        live = [case.kind for case in open_cases]
    for kind in registered_kinds():
        if any(kinds_in_conflict(kind.name, other) for other in live):
            continue  # one conflicting request is open: the door would refuse
        may_start = kind.family_can_start if not user.is_staff else getattr(kind, "staff_can_start", False)
        if not may_start or not kind.start_endpoint:
            continue
        check_status = getattr(kind, "check_status", None)
        if check_status is not None:
            try:
                check_status(student)
            except DomainError:
                continue
        offered.append(kind)
    return offered


def startable_kind(name: str, student, user):
    """The kind named in a start form, if `user` may start it for `student` now."""
    for kind in kinds_offered(student, user):
        if kind.name == name:
            return kind
    raise NotFound("case.kind_not_offered", _l("This request cannot be made for this student."))


def status_payload(kind_name: str, reason: str, return_on: str, evidence: list[str]) -> dict:
    """The payload of a status request from its form fields."""
    payload = {"reason": reason, "evidence": evidence}
    if kind_name == "suspension":
        payload["return_on"] = return_on
    return payload


def case_for_key(key: str | None, user) -> Case | None:
    """The case `user` already opened with this idempotency key (a double tap), if any."""
    if not key:
        return None
    return db.session.scalar(select(Case).where(Case.idempotency_key == key, Case.requester_id == user.id))


def case_for_family(user, case_id: int) -> Case:
    """A case about one of `user`'s children (or that they started), steps and units loaded."""
    case = db.session.scalar(
        select(Case)
        .where(Case.id == case_id)
        .options(selectinload(Case.steps).joinedload(Step.org_unit), joinedload(Case.student))
    )
    # One answer whether the case is missing or not this person's (nothing to learn by probing).
    if case is None or not _may_follow(case, user):
        raise NotFound("case.not_found", _l("No such request."))
    return case


def _may_follow(case: Case, user) -> bool:
    if case.requester_id == user.id:
        return True
    try:
        get_visible_student(user, case.student_id)  # NotFound unless a linked guardian
    except NotFound:
        return False
    return True


def case_page(case: Case) -> dict:
    """What the family's request page shows."""
    events = list(
        db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
    )
    return {
        "case": case,
        "student": case.student,
        "kind": kind_or_none(case.kind),
        "events": events,
        "calendar": shown_calendar(case.province_id),
        "today": clock.today(),
        "evidence": case.payload.get("evidence", []),
    }


def can_withdraw(case: Case, user) -> bool:
    decided = any(StepState(s.state).is_decided for s in case.steps)
    return case.state_enum.is_live and not decided and engine.acts_for_family(case, user)


def resubmission_notes(case: Case, note: str) -> dict:
    notes = list(case.payload.get("resubmission_notes", []))
    if note:
        notes.append(note)
    return {"resubmission_notes": notes}


def resubmit(user, case: Case, note: str, evidence: list[str]) -> Case:
    """The family adds what was missing to a returned case (any kind) and sends it back;
    `evidence`: checked references of stored documents."""
    note = (note or "").strip()
    if not note and not evidence:
        raise ValidationFailed("case.nothing_added", _l("Please describe or attach what was missing."))
    return engine.resubmit(case.id, user, additions=resubmission_notes(case, note), evidence=evidence)


def kind_or_none(name: str):
    try:
        return get_kind(name)
    except KeyError:
        return None


# --- the queue --------------------------------------------------------------------------


@dataclass(frozen=True)
class QueuePage:
    steps: list  # `Step`s (queue_page) or `QueueRow`s (queue_rows)
    counts: dict[str, int]  # pending steps per kind
    overdue: int
    returned: int
    next_cursor: str | None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def queue_page(
    user,
    *,
    kind: str = "",
    show: str = QueueFilter.PENDING,
    after: str | None = None,
    per_page=QUEUE_PAGE_SIZE,
) -> QueuePage:
    """One page of the steps waiting on `user`'s unit, every kind together, soonest due first
    (unknown deadlines last), by keyset: `after` is the previous page's `next_cursor`."""
    statement = (
        select(Step)
        .join(Step.case)
        .join(Case.student)
        .options(contains_eager(Step.case).contains_eager(Case.student))
    )
    return _queue(user, statement, db.session.scalars, kind, show, after, per_page)


@dataclass(frozen=True)
class QueueRow:
    """One line of the queue page: what it shows of a step, its case and student, no more."""

    id: int
    role: str
    state: str
    due_on: date | None
    overdue_since: date | None
    kind: str
    reference: str
    student_name: str
    grade: int


def queue_rows(
    user,
    *,
    kind: str = "",
    show: str = QueueFilter.PENDING,
    after: str | None = None,
    per_page=QUEUE_PAGE_SIZE,
) -> QueuePage:
    """`queue_page` for the queue page: the same steps, order, cursor and counts, each step
    a `QueueRow` read as plain columns (no Step, Case and Student objects for a page that
    only prints them)."""
    statement = (
        select(
            Step.id,
            Step.role,
            Step.state,
            Step.due_on,
            Step.overdue_since,
            Case.kind,
            Case.id.label("case_id"),
            Case.opened_at,
            Student.name,
            Student.grade,
        )
        .select_from(Step)
        .join(Case, Case.id == Step.case_id)
        .join(Student, Student.id == Case.student_id)
    )

    def run(statement):
        return [
            QueueRow(
                row.id,
                row.role,
                row.state,
                row.due_on,
                row.overdue_since,
                row.kind,
                case_reference(row.case_id, row.opened_at),
                row.name,
                row.grade,
            )
            for row in read(db.session, statement)
        ]

    return _queue(user, statement, run, kind, show, after, per_page)


def _queue(user, statement, run, kind: str, show: str, after: str | None, per_page: int) -> QueuePage:
    """Filter `statement` (over steps joined to their cases and students) to one keyset page
    of the queue; `run` executes it."""
    unit_id = user.org_unit_id
    state = StepState.RETURNED if show == QueueFilter.RETURNED else StepState.PENDING
    conditions = [Step.org_unit_id == unit_id, Step.state == state]
    if kind:
        conditions.append(Step.kind == kind)
    if show == QueueFilter.OVERDUE:
        conditions.append(Step.overdue_since.is_not(None))
    statement = statement.where(*conditions).order_by(Step.due_on.asc().nulls_last(), Step.id)
    position = _parse_cursor(after)
    if position is not None:
        statement = statement.where(_after(*position, conditions, per_page + 1))
    rows = list(run(statement.limit(per_page + 1)))
    more = len(rows) > per_page
    rows = rows[:per_page]
    counts, overdue, returned = _queue_counts(unit_id)
    return QueuePage(rows, counts, overdue, returned, _cursor_of(rows[-1]) if more else None)


def _queue_counts(unit_id: int) -> tuple[dict[str, int], int, int]:
    """Pending steps per kind, how many of them are overdue, how many are returned: one query
    (on PostgreSQL an index-only scan of the queue's index; no case is read)."""
    rows = read(db.session, _queue_counts_query(), {"unit_id": unit_id}).all()
    counts: dict[str, int] = {}
    overdue = returned = 0
    for kind, state, count, late in rows:
        if state == StepState.PENDING:
            counts[kind] = counts.get(kind, 0) + count
            overdue += late
        else:
            returned += count
    return dict(sorted(counts.items(), key=lambda item: item[0] or "")), overdue, returned


@cache
def _queue_counts_query():
    return (
        select(Step.kind, Step.state, func.count(), func.count(Step.overdue_since))
        .where(
            Step.org_unit_id == bindparam("unit_id"),
            Step.state.in_([StepState.PENDING, StepState.RETURNED]),
        )
        .group_by(Step.kind, Step.state)
    )


def _cursor_of(step) -> str:
    return f"{step.due_on.isoformat() if step.due_on else 'none'}.{step.id}"


def _parse_cursor(raw: str | None) -> tuple[date | None, int] | None:
    if not raw:
        return None
    due, _, step_id = raw.partition(".")
    try:
        return (None if due == "none" else date.fromisoformat(due)), int(step_id)
    except ValueError:
        raise ValidationFailed("queue.bad_cursor", _l("This page link is not valid.")) from None


def _after(due: date | None, step_id: int, conditions: list, most: int):
    """Rows after (due, id) in the order due_on NULLS LAST, id, as index ranges, so that a
    page deep in the queue costs what the first one does. Past a dated step: the next `most`
    dated steps (a row comparison, one range of the queue's index) and the first `most` with
    no deadline yet (they sort last); an OR of the two would be a filter over every step
    before the cursor instead."""
    if due is None:
        return and_(Step.due_on.is_(None), Step.id > step_id)
    dated = (
        select(Step.id)
        .where(*conditions, tuple_(Step.due_on, Step.id) > tuple_(due, step_id))
        .order_by(Step.due_on, Step.id)
        .limit(most)
        .subquery()
    )
    # Ordered as the index is (due_on, then id), or the planner walks the primary key instead.
    undated = (
        select(Step.id)
        .where(*conditions, Step.due_on.is_(None))
        .order_by(Step.due_on, Step.id)
        .limit(most)
        .subquery()
    )
    return Step.id.in_(union_all(select(dated.c.id), select(undated.c.id)))


# --- one step ---------------------------------------------------------------------------


def step_for_staff(user, step_id: int) -> Step:
    """A step of `user`'s own unit, its case, student and the case's other steps loaded."""
    step = db.session.scalar(
        select(Step)
        .where(Step.id == step_id, Step.org_unit_id == user.org_unit_id)
        .options(
            joinedload(Step.case).selectinload(Case.steps).joinedload(Step.org_unit),
            joinedload(Step.case).joinedload(Case.student).options(SCHOOL_ONLY),
        )
    )
    if step is None or not user.is_staff:
        raise NotFound("step.not_found", _l("No such step waiting for your unit."))
    return step


def step_page(user, step: Step) -> dict:
    """The request, its evidence and the student's record side by side (the reading is audited)."""
    case = step.case
    student = get_visible_student(user, case.student_id)
    record_event(AuditTag.STUDENT_VIEWED, actor=user, student=student, case=case)
    return {
        "step": step,
        "case": case,
        "student": student,
        "kind": kind_or_none(case.kind),
        "is_filing": step.mode == StepMode.FILING,
        "is_requester": case.requester_id == user.id,
        "grades": school_grades(student.school),
        "calendar": shown_calendar(step.province_id),
        "today": clock.today(),
        "evidence": case.payload.get("evidence", []),
    }


def school_grades(school) -> list[tuple[int, str]]:
    """The grades `school` teaches, with their labels (a decision that sets a grade offers these)."""
    return [(grade, grade_label(grade)) for grade in STAGE_GRADES.get(school.stage, ())]


class Action:
    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"
    FILE = "file"
    ALL = (APPROVE, REJECT, RETURN, FILE)


def act_on_step(user, step_id: int, action: str, reason: str, details: dict | None = None) -> Step:
    """One decision on a step: approve, reject (with a reason), return (with what is missing), file.
    `details`: what the unit adds when it approves (a transfer's placement, a resumption's grade)."""
    if action == Action.RETURN:
        return engine.return_case(step_id, user, missing=reason)
    if action in (Action.APPROVE, Action.FILE):
        step = db.session.get(Step, step_id)
        # A filing step is only ever filed; "approve" on it is the same act, under its own name.
        if step is not None and action == Action.FILE and step.mode != StepMode.FILING:
            raise ValidationFailed("step.bad_action", _l("Please choose what to do with this request."))
        return engine.decide(step_id, user, approve=True, reason=reason, details=details)
    if action == Action.REJECT:
        return engine.decide(step_id, user, approve=False, reason=reason)
    raise ValidationFailed("step.bad_action", _l("Please choose what to do with this request."))


def cases_of_student(student_id: int) -> list[Case]:
    """Every case about a student, newest first, steps and units loaded (the staff record page)."""
    return list(
        db.session.scalars(
            select(Case)
            .where(Case.student_id == student_id)
            .options(selectinload(Case.steps).joinedload(Step.org_unit))
            .order_by(Case.id.desc())
        )
    )


# --- early warning (M-23) ---------------------------------------------------------------


def early_warning(user, today: date | None = None) -> dict:
    """Overdue and soon-due steps owned in `user`'s area, and the alerts addressed to the unit."""
    today = today or clock.today()
    unit = db.session.get(OrgUnit, user.org_unit_id)
    area = subtree_ids(unit)
    base = (
        select(Step)
        .join(Step.case)
        .join(Step.org_unit)
        .where(Step.state == StepState.PENDING, Step.org_unit_id.in_(area))
        .options(contains_eager(Step.case), contains_eager(Step.org_unit))
    )
    overdue = list(
        db.session.scalars(
            base.where(Step.overdue_since.is_not(None))
            .order_by(Step.due_on, Step.id)
            .limit(EARLY_WARNING_LIMIT)
        )
    )
    soon = list(
        db.session.scalars(
            base.where(
                Step.overdue_since.is_(None),
                Step.due_on >= today,
                Step.due_on <= soon_until(shown_calendar(_province_of(unit).id), today),
            )
            .order_by(Step.due_on, Step.id)
            .limit(EARLY_WARNING_LIMIT)
        )
    )
    alerts = list(
        db.session.scalars(
            select(Alert)
            .where(Alert.org_unit_id == unit.id)
            .options(
                joinedload(Alert.step).joinedload(Step.org_unit), joinedload(Alert.step).joinedload(Step.case)
            )
            .order_by(Alert.acknowledged_at.is_not(None), Alert.id.desc())
            .limit(EARLY_WARNING_LIMIT)
        ).unique()
    )
    return {"unit": unit, "overdue": overdue, "soon": soon, "alerts": alerts, "today": today}


def _province_of(unit: OrgUnit) -> OrgUnit:
    # Every step in the area is owned by a unit of this province, and a step's calendar is its
    # owning unit's province's (Step.province_id): one calendar serves the whole area.
    return unit.ancestor_at(OrgLevel.PROVINCE)


def soon_until(calendar, today: date) -> date:
    """The last day that is at most EARLY_WARNING_WORKING_DAYS working days after `today`.

    Where the window runs past the known holiday calendar, the unknown days are counted as
    Monday to Friday: at worst a step is shown as soon due a day early; no deadline is
    stated from this (a step's own deadline then reads "awaits the calendar").
    """
    deadline = calendar.add_working_days(today, EARLY_WARNING_WORKING_DAYS)
    if deadline.due_on is not None:
        return deadline.due_on  # deadlines always fall on working days
    day = deadline.known_until
    remaining = EARLY_WARNING_WORKING_DAYS - calendar.working_days_between(today, day)
    while remaining:
        day += timedelta(days=1)
        remaining -= day.weekday() < 5
    return day


def acknowledge_alert(user, alert_id: int) -> Alert:
    """The unit an alert is addressed to acknowledges it (audited; repeating it is harmless)."""
    alert = db.session.get(Alert, alert_id)
    if alert is None or alert.org_unit_id != user.org_unit_id:
        raise NotFound("alert.not_found", _l("No such alert."))
    if alert.acknowledged_at is None:
        alert.acknowledged_at = clock.now()
        step = alert.step
        record_event(
            AuditTag.ALERT_ACKNOWLEDGED, actor=user, student=step.case.student, case=step.case, alert=alert.id
        )
        db.session.flush()
    return alert


def student_for_staff_start(user, student_id: int) -> Student:
    return get_visible_student(user, student_id)
