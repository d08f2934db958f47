"""The one approvals engine: open a case, decide its steps, time them out.

Every request kind goes through here. Steps are decided under a row lock so
two registrars pressing "approve" at once cannot both win; a repeated identical
decision by the same person is answered as already done (idempotent).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import clock
from portal.approvals.kinds import get_kind
from portal.approvals.models import Alert, Case, CaseState, Step, StepState
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import Conflict, DomainError, NotFound, ValidationFailed
from portal.extensions import db
from portal.orgs.models import OrgLevel
from portal.provinces.models import TimeoutPolicy
from portal.provinces.rules import rule_for, working_calendar
from portal.security.scope import can_act_for_unit

MAX_REASON_LENGTH = 500
logger = logging.getLogger(__name__)


def open_case(
    kind_name: str,
    student,
    requester,
    payload: dict | None = None,
    *,
    idempotency_key: str | None = None,
    today: date | None = None,
) -> Case:
    """Open a case of `kind_name` about `student` and start its first step."""
    payload = payload or {}
    if idempotency_key:
        existing = _case_for_key(idempotency_key, kind_name, student, requester, payload)
        if existing is not None:
            return existing
    kind = get_kind(kind_name)
    province = student.school.ancestor_at(OrgLevel.PROVINCE)
    case = Case(
        kind=kind_name,
        student=student,
        requester=requester,
        province_id=province.id,
        payload=payload,
        idempotency_key=idempotency_key,
    )
    rule = rule_for(province.id, kind_name)
    for position, route_step in enumerate(kind.route(case)):
        case.steps.append(
            Step(
                position=position,
                role=route_step.role,
                org_unit=route_step.org_unit,
                working_days=rule.step_working_days,
                state=StepState.WAITING,
            )
        )
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
    _activate(case.steps[0], today or clock.today())
    record_event(AuditTag.CASE_OPENED, actor=requester, student=student, case=case, kind=kind_name)
    return case


def _case_for_key(key: str, kind_name: str, student, requester, payload: dict) -> Case | None:
    case = db.session.scalar(select(Case).where(Case.idempotency_key == key))
    if case is None:
        return None
    request = (kind_name, student.id, requester.id, payload)
    if (case.kind, case.student_id, case.requester_id, case.payload) != request:
        raise Conflict("case.idempotency_key_reused", _l("This request was already used."))
    return case


def _activate(step: Step, today: date) -> None:
    step.state = StepState.PENDING
    step.activated_on = today
    _set_deadline(step, working_calendar(step.case.province_id))


def _set_deadline(step: Step, calendar) -> None:
    deadline = calendar.add_working_days(step.activated_on, step.working_days)
    step.due_on = deadline.due_on
    step.due_awaits_calendar_year = deadline.missing_year


def decide(step_id: int, actor, *, approve: bool, reason: str = "", today=None) -> Step:
    """Approve or reject a pending step owned by the actor's unit."""
    reason = reason.strip()
    if not approve and not reason:
        raise ValidationFailed("step.reason_required", _l("Please give a reason the family can read."))
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationFailed(
            "step.reason_too_long",
            _l("The reason is too long (at most %(max)s characters)."),
            max=MAX_REASON_LENGTH,
        )
    step = _lock_step(step_id)
    if step is None or not can_act_for_unit(actor, step.org_unit):
        raise NotFound("step.not_found", _l("No such step waiting for your unit."))
    outcome = StepState.APPROVED if approve else StepState.REJECTED
    if step.state != StepState.PENDING:
        if step.state == outcome and step.decided_by_id == actor.id:
            return step  # the same person's retried submit: already done
        raise Conflict("step.already_decided", _l("This step has already been decided."))
    _finish_step(step, outcome, actor, reason)
    _advance(step.case, actor, today or clock.today())
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


_STEP_TAGS = {
    StepState.APPROVED: AuditTag.STEP_APPROVED,
    StepState.REJECTED: AuditTag.STEP_REJECTED,
    StepState.TIMED_OUT: AuditTag.STEP_TIMED_OUT,
}


def _finish_step(step: Step, outcome: StepState, actor, reason: str) -> None:
    step.state = outcome
    step.decided_at = clock.now()
    step.decided_by_id = getattr(actor, "id", None)
    step.reason = reason
    record_event(
        _STEP_TAGS[outcome],
        actor=actor,
        student=step.case.student,
        case=step.case,
        step=step.position,
    )


def _advance(case: Case, actor, today: date) -> None:
    """After a decision: start the next step, or close the case."""
    if any(s.state == StepState.REJECTED for s in case.steps):
        _close(case, CaseState.REJECTED, actor)
        return
    upcoming = next((s for s in case.steps if s.state == StepState.WAITING), None)
    if upcoming is not None:
        _activate(upcoming, today)
    else:
        _close(case, CaseState.APPROVED, actor)


def _close(case: Case, state: CaseState, actor) -> None:
    for step in case.steps:
        if step.state == StepState.WAITING:
            step.state = StepState.SKIPPED
    case.state = state
    case.closed_at = clock.now()
    kind = get_kind(case.kind)
    if state == CaseState.APPROVED:
        kind.on_approved(case, actor)
        record_event(AuditTag.CASE_APPROVED, actor=actor, student=case.student, case=case)
    else:
        kind.on_rejected(case, actor)
        record_event(AuditTag.CASE_REJECTED, actor=actor, student=case.student, case=case)


@dataclass
class TimeoutReport:
    auto_approved: list[int] = field(default_factory=list)
    flagged_overdue: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)  # step id -> error code


def process_timeouts(today: date | None = None, *, after_each=None) -> TimeoutReport:
    """Apply each province's timeout policy to pending steps whose deadline has passed.

    Each step runs in its own savepoint: one step that cannot be approved (its record
    changed meanwhile) is reported and skipped, not allowed to undo the whole run.
    A batch job passes `after_each=db.session.commit` to release each lock as it goes.
    """
    today = today or clock.today()
    report = TimeoutReport()
    late_ids = db.session.scalars(
        select(Step.id).where(Step.state == StepState.PENDING, Step.due_on < today).order_by(Step.id)
    ).all()
    for step_id in late_ids:
        try:
            with db.session.begin_nested():
                outcome = _apply_timeout(step_id, today)
        except DomainError as error:
            logger.warning("timeout of step %s refused: %s", step_id, error.code)
            report.refused[step_id] = error.code
            outcome = None
        if outcome is not None:
            getattr(report, outcome).append(step_id)
        if after_each is not None:
            after_each()
    return report


def _apply_timeout(step_id: int, today: date) -> str | None:
    """Time out one step under its lock; None when it no longer needs it."""
    step = _lock_step(step_id)
    still_late = step is not None and step.state == StepState.PENDING
    # Re-checked under the lock: a decision or a calendar correction may have come first.
    if not still_late or step.due_on is None or step.due_on >= today:
        return None
    if rule_for(step.case.province_id, step.case.kind).timeout_policy == TimeoutPolicy.AUTO_APPROVE:
        _finish_step(step, StepState.TIMED_OUT, None, "")
        _advance(step.case, None, today)
        return "auto_approved"
    if step.overdue_since is None:
        _flag_overdue(step, today)
        return "flagged_overdue"
    return None


def _flag_overdue(step: Step, today: date) -> None:
    step.overdue_since = today
    alerted = step.org_unit.parent or step.org_unit
    db.session.add(Alert(org_unit_id=alerted.id, step_id=step.id, kind="step_overdue"))
    record_event(AuditTag.STEP_OVERDUE, student=step.case.student, case=step.case, step=step.position)


def recompute_deadlines(province_id: int, today: date | None = None) -> int:
    """Recount every pending step's deadline after the province's calendar changed.

    A step whose new deadline has not passed is no longer overdue. Returns how many
    deadlines moved (a date appeared, changed, or became unknown).
    """
    today = today or clock.today()
    calendar = working_calendar(province_id)
    pending = db.session.scalars(
        select(Step).join(Case).where(Case.province_id == province_id, Step.state == StepState.PENDING)
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
