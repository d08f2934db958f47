"""The one approvals engine: open a case, decide, return, resubmit, withdraw, time out.

Every request kind goes through here. Steps are decided under a row lock so
two registrars pressing "approve" at once cannot both win; a repeated identical
decision by the same person is answered as already done (idempotent). Every move
of a case or a step goes through `move_case` / `move_step`, which consult the state
tables in `models.py`, write the case's timeline (`case_events`) and the audit log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import ARRAY, JSON, Integer, any_, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from portal import clock
from portal.accounts.sessions import user_record
from portal.approvals import notices
from portal.approvals.kinds import get_kind, kinds_in_conflict
from portal.approvals.models import (
    CASE_TRANSITIONS,
    DECIDED_STEP_STATES,
    LIVE_CASE_STATES,
    STEP_TRANSITIONS,
    Alert,
    Case,
    CaseEvent,
    CaseState,
    Step,
    StepMode,
    StepState,
)
from portal.audit.models import AuditEvent
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import Conflict, DomainError, NotFound, ValidationFailed
from portal.extensions import db
from portal.guardians.models import GuardianLink
from portal.orgs.models import OrgLevel, OrgUnit
from portal.provinces.models import TimeoutPolicy
from portal.provinces.rules import NATIONAL_RULE, EffectiveRule, rule_for, working_calendar
from portal.registry.models import Student
from portal.registry.status import Status
from portal.security.scope import can_act_for_unit

MAX_REASON_LENGTH = 500
SWEEP_CHUNK = 5000
logger = logging.getLogger(__name__)


# --- the two movers ---------------------------------------------------------------------

_STEP_TAGS = {
    StepState.APPROVED: AuditTag.STEP_APPROVED,
    StepState.REJECTED: AuditTag.STEP_REJECTED,
    StepState.TIMED_OUT: AuditTag.STEP_TIMED_OUT,
    StepState.FILED: AuditTag.STEP_FILED,
    StepState.RETURNED: AuditTag.STEP_RETURNED,
}
_CASE_TAGS = {
    CaseState.APPROVED: AuditTag.CASE_APPROVED,
    CaseState.REJECTED: AuditTag.CASE_REJECTED,
    CaseState.RETURNED: AuditTag.CASE_RETURNED,
    CaseState.WITHDRAWN: AuditTag.CASE_WITHDRAWN,
}


def move_step(step: Step, target: StepState, actor=None, reason: str = "") -> None:
    """Move one step, if the step table allows it; history and audit follow."""
    current = StepState(step.state)
    if target not in STEP_TRANSITIONS[current]:
        raise Conflict(
            "step.illegal_transition",
            _l("This step cannot go from “%(current)s” to “%(target)s”."),
            current=current.label,
            target=target.label,
        )
    step.state = target
    if target in DECIDED_STEP_STATES or target == StepState.RETURNED:
        step.decided_at = clock.now()
        step.decided_by_id = getattr(actor, "id", None)
        step.reason = reason
    _add_event(step.case, step, current, target, actor, reason)
    if target in _STEP_TAGS:
        record_event(
            _STEP_TAGS[target], actor=actor, student=step.case.student, case=step.case, step=step.position
        )


def move_case(case: Case, target: CaseState, actor=None, reason: str = "") -> None:
    """Move a case, if the case table allows it; history and audit follow."""
    current = CaseState(case.state)
    if target not in CASE_TRANSITIONS[current]:
        raise Conflict(
            "case.illegal_transition",
            _l("This request cannot go from “%(current)s” to “%(target)s”."),
            current=current.label,
            target=target.label,
        )
    case.state = target
    if target not in LIVE_CASE_STATES:
        case.closed_at = clock.now()
    _add_event(case, None, current, target, actor, reason)
    if target in _CASE_TAGS:
        record_event(_CASE_TAGS[target], actor=actor, student=case.student, case=case)


def _add_event(case: Case, step: Step | None, before, after, actor, reason: str) -> None:
    db.session.add(
        CaseEvent(
            case=case,
            step_id=step.id if step is not None else None,
            from_state=str(before) if before is not None else None,
            to_state=str(after),
            actor_id=getattr(actor, "id", None),
            reason=reason,
        )
    )
    notices.case_moved(case, step, before, after, actor, reason)


# --- opening ----------------------------------------------------------------------------


def open_case(
    kind_name: str,
    student,
    requester,
    payload: dict | None = None,
    *,
    idempotency_key: str | None = None,
    today: date | None = None,
) -> Case:
    """Open a case of `kind_name` about `student` and start its first step.

    Checked at the door first: nothing is stored for a request that can never succeed.
    """
    payload = payload or {}
    if idempotency_key:
        existing = _case_for_key(idempotency_key, kind_name, student, requester, payload)
        if existing is not None:
            return existing
    kind = get_kind(kind_name)
    check_at_the_door(kind_name, student, requester, payload)
    province = student.school.ancestor_at(OrgLevel.PROVINCE)
    case = Case(
        kind=kind_name,
        student=student,
        requester=user_record(requester),
        province_id=province.id,
        payload=payload,
        idempotency_key=idempotency_key,
        state=CaseState.OPEN,
    )
    for position, route_step in enumerate(kind.route(case)):
        case.steps.append(_new_step(position, route_step, kind_name))
    if not case.steps:
        raise ValueError(f"request kind {kind_name} declared an empty route")
    try:
        with db.session.begin_nested():
            db.session.add(case)
    except IntegrityError:
        # A retry of the same submit, in flight at the same moment, stored its case first.
        existing = idempotency_key and _case_for_key(idempotency_key, kind_name, student, requester, payload)
        if not existing:
            raise
        return existing
    _add_event(case, None, None, CaseState.OPEN, requester, "")
    record_event(AuditTag.CASE_OPENED, actor=requester, student=student, case=case, kind=kind_name)
    kind.on_open(case, requester)
    _activate(case.steps[0], today or clock.today(), requester)
    return case


def check_at_the_door(kind_name: str, student, requester, payload: dict) -> None:
    """Refuse a request that can never succeed, before anything is stored."""
    if student.status == Status.DEREGISTERED:
        raise Conflict(
            "case.student_deregistered",
            _l("This registry record has been closed (deregistered); no request can be made about it."),
        )
    # Under the student's row lock: two different requests submitted at the same moment
    # cannot both find the other not yet open.
    db.session.execute(select(Student.id).where(Student.id == student.id).with_for_update(of=Student))
    open_kinds = db.session.scalars(
        select(Case.kind).where(Case.student_id == student.id, Case.state.in_(list(LIVE_CASE_STATES)))
    ).all()
    if any(kinds_in_conflict(kind_name, other) for other in open_kinds):
        raise Conflict(
            "case.conflicting_open_case",
            _l("Another request about this student is still open; please wait until it is finished."),
        )
    get_kind(kind_name).check_eligible(student, requester, payload)


def _new_step(position: int, route_step, kind_name: str) -> Step:
    province = route_step.org_unit.ancestor_at(OrgLevel.PROVINCE)
    national_days = get_kind(kind_name).national_working_days
    national = EffectiveRule(national_days, TimeoutPolicy.FLAG_OVERDUE) if national_days else NATIONAL_RULE
    rule = rule_for(province.id, kind_name, national)
    return Step(
        position=position,
        role=route_step.role,
        kind=kind_name,
        mode=route_step.mode,
        org_unit=route_step.org_unit,
        province_id=province.id,
        working_days=rule.step_working_days,
        timeout_policy=rule.timeout_policy,
        state=StepState.WAITING,
    )


def _case_for_key(key: str, kind_name: str, student, requester, payload: dict) -> Case | None:
    case = db.session.scalar(select(Case).where(Case.idempotency_key == key))
    if case is None:
        return None
    request = (kind_name, student.id, requester.id, payload)
    if (case.kind, case.student_id, case.requester_id, case.payload) != request:
        raise Conflict("case.idempotency_key_reused", _l("This request was already used."))
    return case


def _activate(step: Step, today: date, actor=None) -> None:
    move_step(step, StepState.PENDING, actor)
    _start_clock(step, today)


def _start_clock(step: Step, today: date) -> None:
    step.activated_on = today
    step.overdue_since = None
    _set_deadline(step, working_calendar(step.province_id))


def _set_deadline(step: Step, calendar) -> None:
    deadline = calendar.add_working_days(step.activated_on, step.working_days)
    step.due_on = deadline.due_on
    step.due_awaits_calendar_year = deadline.missing_year


# --- deciding ---------------------------------------------------------------------------


def decide(
    step_id: int, actor, *, approve: bool, reason: str = "", details: dict | None = None, today=None
) -> Step:
    """Approve or reject a pending decision step; approve (acknowledge) a filing step.

    `details`: what the deciding unit adds to its decision (a transfer's placement, a
    resumption's grade); the kind checks and records them (`RequestKind.before_decide`).
    """
    reason = _checked_reason(reason, required=False)
    step = _lock_step_for(step_id, actor)
    if step.mode == StepMode.FILING:
        if not approve:
            raise Conflict(
                "step.filing_cannot_reject", _l("A filing step is acknowledged; it cannot be rejected.")
            )
        outcome = StepState.FILED
    else:
        outcome = StepState.APPROVED if approve else StepState.REJECTED
    if outcome == StepState.REJECTED and not reason:
        raise ValidationFailed("step.reason_required", _l("Please give a reason the family can read."))
    if step.state != StepState.PENDING:
        if step.state == outcome and step.decided_by_id == actor.id:
            return step  # the same person's retried submit: already done
        raise Conflict("step.already_decided", _l("This step has already been decided."))
    get_kind(step.case.kind).before_decide(step, actor, outcome, details or {})
    move_step(step, outcome, actor, reason)
    _advance(step.case, actor, today or clock.today())
    return step


def return_case(step_id: int, actor, *, missing: str, today=None) -> Step:
    """Send the case back to the requester with what is missing (退回补正); the step waits."""
    missing = _checked_reason(missing, required=True)
    step = _lock_step_for(step_id, actor)
    if step.state != StepState.PENDING:
        if step.state == StepState.RETURNED and step.decided_by_id == actor.id:
            return step
        raise Conflict("step.already_decided", _l("This step has already been decided."))
    move_step(step, StepState.RETURNED, actor, missing)
    move_case(step.case, CaseState.RETURNED, actor, missing)
    return step


def resubmit(
    case_id: int, actor, *, additions: dict | None = None, evidence: list[str] | None = None, today=None
) -> Case:
    """The family adds what was missing; the returned step resumes with a fresh deadline."""
    case = _lock_case_for_family(case_id, actor)
    if case.state != CaseState.RETURNED:
        raise Conflict("case.not_returned", _l("This request is not waiting for more material."))
    today = today or clock.today()
    payload = dict(case.payload)
    if additions:
        payload.update(additions)
    if evidence:
        payload["evidence"] = [*payload.get("evidence", []), *evidence]
    payload["resubmitted"] = [*payload.get("resubmitted", []), today.isoformat()]
    case.payload = payload
    step = next(s for s in case.steps if s.state == StepState.RETURNED)
    move_case(case, CaseState.OPEN, actor)
    record_event(AuditTag.CASE_RESUBMITTED, actor=actor, student=case.student, case=case)
    move_step(step, StepState.PENDING, actor)
    _start_clock(step, today)
    return case


def withdraw(case_id: int, actor, *, reason: str = "") -> Case:
    """The family withdraws the case, while no party has decided any step of it."""
    reason = _checked_reason(reason, required=False)
    case = _lock_case_for_family(case_id, actor)
    if case.state == CaseState.WITHDRAWN:
        return case  # a retried tap
    decided = any(StepState(s.state) in DECIDED_STEP_STATES for s in case.steps)
    if decided or case.state not in LIVE_CASE_STATES:
        raise Conflict(
            "case.cannot_withdraw",
            _l("This request can no longer be withdrawn: a party has already decided on it."),
        )
    for step in case.steps:
        if step.state in (StepState.PENDING, StepState.RETURNED, StepState.WAITING):
            move_step(step, StepState.WITHDRAWN, actor, reason)
    move_case(case, CaseState.WITHDRAWN, actor, reason)
    get_kind(case.kind).on_withdraw(case, actor)
    return case


def _checked_reason(reason: str, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise ValidationFailed("step.reason_required", _l("Please give a reason the family can read."))
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationFailed(
            "step.reason_too_long",
            _l("The reason is too long (at most %(max)s characters)."),
            max=MAX_REASON_LENGTH,
        )
    return reason


def _lock_step_for(step_id: int, actor) -> Step:
    """The step under its row lock, if `actor` may act for its unit and did not start the case."""
    step = _lock_step(step_id)
    if step is None or not can_act_for_unit(actor, step.org_unit):
        raise NotFound("step.not_found", _l("No such step waiting for your unit."))
    if step.case.requester_id == actor.id:
        raise Conflict(
            "step.requester_cannot_decide",
            _l("You started this request, so a colleague must decide on it."),
        )
    return step


def _lock_step(step_id: int) -> Step | None:
    # populate_existing: re-read the row after the lock, not the copy this session may hold.
    query = (
        select(Step)
        .where(Step.id == step_id)
        .with_for_update(of=Step)
        .execution_options(populate_existing=True)
    )
    return db.session.scalar(query)


def _lock_case_for_family(case_id: int, actor) -> Case:
    case = db.session.scalar(
        select(Case)
        .where(Case.id == case_id)
        .with_for_update(of=Case)
        .execution_options(populate_existing=True)
    )
    if case is None or not acts_for_family(case, actor):
        raise NotFound("case.not_found", _l("No such request."))
    return case


def acts_for_family(case: Case, user) -> bool:
    """Whether `user` may follow a case up for the family (resubmit, withdraw): the person who
    started it (a guardian, or a registrar from a paper form), or any guardian linked to the
    child now (the other parent; the family of a case a registrar opened for them)."""
    if case.requester_id == getattr(user, "id", None):
        return True
    if user is None or user.is_staff:
        return False
    link = select(GuardianLink.id).where(
        GuardianLink.guardian_id == user.id,
        GuardianLink.student_id == case.student_id,
        GuardianLink.revoked_at.is_(None),
    )
    return db.session.scalar(link) is not None


def _advance(case: Case, actor, today: date) -> None:
    """After a decision: start the next step, or close the case."""
    if any(s.state == StepState.REJECTED for s in case.steps):
        _close(case, CaseState.REJECTED, actor)
        return
    done = max((s for s in case.steps if s.state_enum.is_decided), key=lambda s: s.position)
    get_kind(case.kind).on_step_done(done, actor)
    upcoming = next((s for s in case.steps if s.state == StepState.WAITING), None)
    if upcoming is not None:
        _activate(upcoming, today)
    else:
        _close(case, CaseState.APPROVED, actor)


def _close(case: Case, state: CaseState, actor) -> None:
    for step in case.steps:
        if step.state == StepState.WAITING:
            move_step(step, StepState.SKIPPED, actor)
    move_case(case, state, actor)
    kind = get_kind(case.kind)
    if state == CaseState.APPROVED:
        kind.on_approve(case, actor)
    else:
        kind.on_reject(case, actor)


# --- the daily sweep --------------------------------------------------------------------


@dataclass
class TimeoutReport:
    auto_approved: list[int] = field(default_factory=list)
    flagged_overdue: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)  # step id -> error code


def process_timeouts(
    today: date | None = None, *, after_each=None, chunk_size: int = SWEEP_CHUNK
) -> TimeoutReport:
    """Apply each step's timeout policy to pending steps whose deadline has passed.

    Set-based, in chunks: steps to flag are flagged by one UPDATE per chunk that re-checks
    `overdue_since IS NULL`, so a flagged step is never touched again and two sweeps at once
    flag (and alert) each step once. Steps approved on timeout go one by one (the kind's
    effect on the record runs), each in its own savepoint, under its row lock.
    `after_each` (e.g. `db.session.commit`) runs after each chunk and each auto-approval.
    """
    today = today or clock.today()
    report = TimeoutReport()
    last_id = 0
    while flagged := _flag_chunk(today, chunk_size, last_id):
        report.flagged_overdue.extend(flagged)
        last_id = max(flagged)
        if after_each is not None:
            after_each()
    _auto_approve_late(today, report, after_each, chunk_size)
    report.flagged_overdue.sort()
    return report


def _late(policy: TimeoutPolicy, today: date):
    return select(Step.id).where(
        Step.state == StepState.PENDING, Step.timeout_policy == policy, Step.due_on < today
    )


def _flag_chunk(today: date, chunk_size: int, after_id: int) -> list[int]:
    """Flag the next chunk of late steps (by id, after `after_id`) as overdue; alert the unit
    above each. Returns their ids."""
    chunk = (
        _late(TimeoutPolicy.FLAG_OVERDUE, today)
        .where(Step.overdue_since.is_(None), Step.id > after_id)
        .order_by(Step.id)
        .limit(chunk_size)
        # PostgreSQL: a second sweep skips the rows the first is flagging (no waits, no
        # deadlocks); the UPDATE re-checks `overdue_since IS NULL` either way. SQLite: ignored.
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    flagged = db.session.execute(
        update(Step)
        .where(Step.id.in_(chunk), Step.state == StepState.PENDING, Step.overdue_since.is_(None))
        .values(overdue_since=today)
        .returning(Step.id, Step.position)
        .execution_options(synchronize_session=False)
    ).all()
    if not flagged:
        return []
    flagged_ids = [row.id for row in flagged]
    # Alerts and audit events are written by the database from the flagged rows (INSERT …
    # SELECT): no row travels to Python and back.
    db.session.execute(
        insert(Alert).from_select(
            ["org_unit_id", "step_id", "kind"],
            select(func.coalesce(OrgUnit.parent_id, Step.org_unit_id), Step.id, literal("step_overdue"))
            .join(OrgUnit, OrgUnit.id == Step.org_unit_id)
            .where(_among(flagged_ids)),
        )
    )
    for position in sorted({row.position for row in flagged}):
        db.session.execute(
            insert(AuditEvent).from_select(
                ["tag", "student_id", "case_id", "data"],
                select(
                    literal(str(AuditTag.STEP_OVERDUE)),
                    Case.student_id,
                    Case.id,
                    literal({"step": position}, JSON),
                )
                .join(Step, Step.case_id == Case.id)
                .where(_among(flagged_ids), Step.position == position),
            )
        )
    notices.steps_overdue(flagged_ids)
    # Objects this session already holds must not keep a stale `overdue_since`.
    held = set(flagged_ids)
    for step in list(db.session.identity_map.values()):
        if isinstance(step, Step) and step.id in held:
            db.session.expire(step, ["overdue_since"])
    return flagged_ids


def _among(step_ids: list[int]):
    """`steps.id` among a chunk's ids: one bound array on PostgreSQL, not an IN list of
    5,000 parameters (SQLite has no arrays)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return Step.id == any_(literal(step_ids, ARRAY(Integer)))
    return Step.id.in_(step_ids)


def _auto_approve_late(today: date, report: TimeoutReport, after_each, chunk_size: int) -> None:
    last_id = 0
    while True:
        ids = db.session.scalars(
            _late(TimeoutPolicy.AUTO_APPROVE, today)
            .where(Step.id > last_id)
            .order_by(Step.id)
            .limit(chunk_size)
        ).all()
        if not ids:
            return
        last_id = ids[-1]
        for step_id in ids:
            try:
                with db.session.begin_nested():
                    done = _apply_auto_approval(step_id, today)
            except DomainError as error:
                logger.warning("timeout of step %s refused: %s", step_id, error.code)
                report.refused[step_id] = error.code
                done = False
            if done:
                report.auto_approved.append(step_id)
            if after_each is not None:
                after_each()


def _apply_auto_approval(step_id: int, today: date) -> bool:
    """Time out one step under its lock; False when it no longer needs it."""
    step = _lock_step(step_id)
    still_late = step is not None and step.state == StepState.PENDING
    # Re-checked under the lock: a decision or a calendar correction may have come first.
    if not still_late or step.due_on is None or step.due_on >= today:
        return False
    move_step(step, StepState.TIMED_OUT)
    _advance(step.case, None, today)
    return True


def recompute_deadlines(province_id: int, today: date | None = None) -> int:
    """Recount every pending step's deadline after the province's calendar changed.

    Only steps owned in this province move (a step counts on its own province's calendar).
    A step whose new deadline has not passed is no longer overdue. Returns how many
    deadlines moved (a date appeared, changed, or became unknown).
    """
    today = today or clock.today()
    calendar = working_calendar(province_id)
    pending = db.session.scalars(
        select(Step).where(Step.province_id == province_id, Step.state == StepState.PENDING)
    ).all()
    moved = 0
    for step in pending:
        before = (step.due_on, step.due_awaits_calendar_year)
        _set_deadline(step, calendar)
        moved += before != (step.due_on, step.due_awaits_calendar_year)
        if step.overdue_since and (step.due_on is None or step.due_on >= today):
            step.overdue_since = None
    return moved


def queue_for(unit) -> list[Step]:
    """Every step waiting on `unit`, soonest deadline first (unknown deadlines last)."""
    return list(
        db.session.scalars(
            select(Step)
            .where(Step.org_unit_id == unit.id, Step.state == StepState.PENDING)
            .order_by(Step.due_on.is_(None), Step.due_on, Step.id)
        )
    )
