"""The transfer's verbs: apply, record a paper transfer, decide with placement, complete.

The engine does the approving; this module applies what each decision means to the
record (transferring, then the move and the archived copy) and prepares the progress view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.orm import joinedload, selectinload

from portal import clock
from portal.accounts.models import Role, User
from portal.approvals import engine
from portal.approvals.models import LIVE_CASE_STATES, Case, Step, StepState
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.evidence.service import check_references, store_upload
from portal.extensions import db
from portal.guardians.models import GuardianLink
from portal.notifications.messages import register_message
from portal.notifications.service import notify
from portal.orgs.models import STAGE_GRADES, OrgLevel, OrgUnit, SchoolStage
from portal.provinces.models import NATIONAL_STEP_WORKING_DAYS
from portal.provinces.rules import shown_calendar
from portal.registry.models import HistoryKind, Student, StudentHistory
from portal.registry.service import change_status
from portal.registry.status import Status
from portal.requests import service as requests_service
from portal.transfers.kind import (
    RECEIVING_SCHOOL,
    TRANSFER,
    TRANSFER_KIND,
    receiving_school,
    sending_school,
)
from portal.transfers.models import TransferArchive

MAX_CLASS_NAME = 20
SCHOOL_SEARCH_LIMIT = 20

COMPLETED_FOR_STAFF = register_message(
    "transfer.completed_staff",
    subject=_l("Transfer completed"),
    body=_l(
        "A student's transfer from %(from_school)s to %(to_school)s is complete (reference %(reference)s)."
    ),
)


# --- applying ------------------------------------------------------------------------------


def apply_for_transfer(
    student: Student,
    requester,
    *,
    to_school_id: int,
    reason: str,
    reason_text: str = "",
    evidence: list[str] | None = None,
    paper: dict | None = None,
    idempotency_key: str | None = None,
    today: date | None = None,
) -> Case:
    """Apply to the receiving school (its decision is the route's first step)."""
    payload = {
        "to_school_id": to_school_id,
        "from_school_id": student.school_id,
        "reason": reason,
        "reason_text": (reason_text or "").strip(),
        # Only the requester's own uploads (a reference copied from elsewhere grants nothing).
        "evidence": check_references(list(evidence or []), requester),
    }
    if paper:
        payload["paper"] = paper
    if not (
        idempotency_key and db.session.scalar(select(Case.id).where(Case.idempotency_key == idempotency_key))
    ):
        refuse_if_open(student)  # not a retry of a stored submit
    return engine.open_case(
        TRANSFER, student, requester, payload, idempotency_key=idempotency_key, today=today
    )


def refuse_if_open(student: Student) -> None:
    """A clear refusal for the commonest conflict; the engine's check under lock stays the guard."""
    live = db.session.scalar(
        select(Case.id)
        .where(Case.student_id == student.id, Case.kind == TRANSFER, Case.state.in_(list(LIVE_CASE_STATES)))
        .limit(1)
    )
    if live is not None:
        raise Conflict("transfer.already_open", _l("A transfer for this child is already in progress."))


def record_paper_transfer(
    student_number: str,
    county_registrar,
    *,
    to_school_id: int,
    paper_reference: str,
    paper_date: date,
    reason: str,
    reason_text: str = "",
    today: date | None = None,
) -> Case:
    """N16: a transfer done on paper while the system was down, now handed over electronically."""
    paper_reference = (paper_reference or "").strip()
    if not paper_reference or len(paper_reference) > 50:
        raise ValidationFailed(
            "transfer.paper_reference_required", _l("Please give the paper transfer's reference.")
        )
    if paper_date > (today or clock.today()):
        raise ValidationFailed(
            "transfer.paper_date_in_future", _l("The paper transfer's date is in the future.")
        )
    student = db.session.scalar(
        select(Student).where(Student.student_number == student_number.strip().upper())
    )
    if student is None:
        raise NotFound("student.not_found", _l("No such student."))
    paper = {"reference": paper_reference, "date": paper_date.isoformat()}
    return apply_for_transfer(
        student,
        county_registrar,
        to_school_id=to_school_id,
        reason=reason,
        reason_text=reason_text,
        paper=paper,
        today=today,
    )


def enter_for_family(
    student_number: str, registrar, *, reason: str, reason_text: str = "", evidence: list[str] | None = None
) -> Case:
    """M-15: the receiving school enters the family's application (paper form at the counter)."""
    student = _student_by_number(student_number)
    return apply_for_transfer(
        student,
        registrar,
        to_school_id=registrar.org_unit_id,
        reason=reason,
        reason_text=reason_text,
        evidence=evidence,
    )


def _student_by_number(student_number: str) -> Student:
    student = db.session.scalar(
        select(Student).where(Student.student_number == student_number.strip().upper())
    )
    if student is None:
        raise NotFound("student.not_found", _l("No such student."))
    return student


def receiving_schools(student: Student, query: str) -> list[OrgUnit]:
    """Schools of any province whose name contains, or whose code starts with, `query`, that
    teach the child's grade (the current school left out)."""
    query = (query or "").strip()
    if not query:
        return []
    stages = [stage for stage in SchoolStage if student.grade in STAGE_GRADES[stage]]
    pattern = query.replace("\\", "").replace("%", "").replace("_", "")
    return list(
        db.session.scalars(
            select(OrgUnit)
            .where(
                OrgUnit.level == OrgLevel.SCHOOL,
                OrgUnit.stage.in_(stages),
                OrgUnit.id != student.school_id,
                or_(OrgUnit.name.contains(pattern), OrgUnit.code.startswith(pattern)),
            )
            .order_by(OrgUnit.code)
            .limit(SCHOOL_SEARCH_LIMIT)
        )
    )


def school_id_by_code(code: str) -> int:
    """The id of the school with this code (0 when none: the door then asks for a school)."""
    school_id = db.session.scalar(
        select(OrgUnit.id).where(OrgUnit.code == code.strip(), OrgUnit.level == OrgLevel.SCHOOL)
    )
    return school_id or 0


def add_material(case_id: int, requester, *, note: str = "", refs=(), uploads=()) -> Case:
    """Resubmit a returned transfer with more material: a note, uploads, stored references
    (the one resubmission of every kind, `portal.requests.service.resubmit`)."""
    case = db.session.get(Case, case_id)
    if case is None:
        raise NotFound("case.not_found", _l("No such request."))
    refs = check_references(list(refs), requester, already=case.payload.get("evidence", []))
    refs += [store_upload(upload, uploader=requester).id for upload in uploads]
    return requests_service.resubmit(requester, case, note, refs)


# --- deciding --------------------------------------------------------------------------------


def decide(
    step_id: int, actor, *, approve: bool, reason: str = "", grade=None, class_name: str = "", today=None
) -> Step:
    """The engine's decision; the receiving school places the child (grade, class) when accepting
    (the kind checks the placement under the step's lock, `Transfer.before_decide`)."""
    placement = {"grade": grade, "class_name": class_name}
    return engine.decide(step_id, actor, approve=approve, reason=reason, details=placement, today=today)


def place(case: Case, grade, class_name: str) -> None:
    to_school = receiving_school(case)
    grade = case.student.grade if grade in (None, "") else grade
    if not isinstance(grade, int) or grade not in STAGE_GRADES[to_school.stage]:
        raise ValidationFailed("transfer.bad_grade", _l("This school does not teach that grade."))
    class_name = (class_name or "").strip()
    if not class_name or len(class_name) > MAX_CLASS_NAME:
        raise ValidationFailed("transfer.class_required", _l("Please give the class the child will join."))
    case.payload = {**case.payload, "grade": grade, "class_name": class_name}


# --- what each decision means for the record (called by the kind) ----------------------------


def on_open(case: Case, actor) -> None:
    if case.payload.get("paper"):  # N16: the child already moved; the record follows
        change_status(case.student, Status.TRANSFERRING, actor, reason=_reason(case), case=case)


def on_step_done(step: Step, actor) -> None:
    if step.role == RECEIVING_SCHOOL and step.case.student.status == Status.ATTENDING:
        change_status(
            step.case.student, Status.TRANSFERRING, actor, reason=_reason(step.case), case=step.case
        )


def back_to_attending(case: Case, actor) -> None:
    """Rejected or withdrawn: the child attends the sending school as before."""
    if case.student.status == Status.TRANSFERRING:
        change_status(case.student, Status.ATTENDING, actor, reason=_reason(case), case=case)


def complete(case: Case, actor) -> None:
    """Every party approved: archive the record as it was, move it, tell both schools."""
    student = _lock(case.student)
    from_school, to_school = sending_school(case), receiving_school(case)
    db.session.add(
        TransferArchive(
            case_id=case.id, student_id=student.id, school_id=from_school.id, record=_snapshot(student)
        )
    )
    before = {
        "school_id": student.school_id,
        "school": from_school.name,
        "grade": student.grade,
        "class_name": student.class_name,
    }
    student.school_id = to_school.id
    student.school = to_school
    student.grade = case.payload.get("grade", student.grade)
    student.class_name = case.payload.get("class_name") or student.class_name
    after = {
        "school_id": to_school.id,
        "school": to_school.name,
        "grade": student.grade,
        "class_name": student.class_name,
        "approvers": _approvers(case),
        "paper": case.payload.get("paper"),
    }
    db.session.add(
        StudentHistory(
            student_id=student.id,
            kind=HistoryKind.TRANSFER,
            before=before,
            after=after,
            reason=_reason(case),
            actor_id=getattr(actor, "id", None),
            case_id=case.id,
        )
    )
    change_status(student, Status.ATTENDING, actor, reason=_reason(case), case=case)
    record_event(AuditTag.TRANSFER_COMPLETED, actor=actor, student=student, case=case)
    _tell_registrars(case, from_school, to_school)


def _lock(student: Student) -> Student:
    return db.session.scalar(
        select(Student)
        .where(Student.id == student.id)
        .with_for_update(of=Student)
        .execution_options(populate_existing=True)
    )


def _snapshot(student: Student) -> dict:
    """Every column of the record as it is now (dates as ISO text)."""
    record = {}
    for column in Student.__table__.columns:
        value = getattr(student, column.key)
        record[column.key] = value.isoformat() if isinstance(value, date) else value
    return record


def _approvers(case: Case) -> list[dict]:
    """Every party of the route and what it did: unit, role, outcome, when (no staff names)."""
    return [
        {
            "role": step.role,
            "unit_id": step.org_unit_id,
            "unit": step.org_unit.name,
            "state": step.state,
            "by_role": step.decided_by.role if step.decided_by else None,
            "at": step.decided_at.isoformat() if step.decided_at else None,
        }
        for step in case.steps
    ]


def _tell_registrars(case: Case, from_school: OrgUnit, to_school: OrgUnit) -> None:
    registrars = db.session.scalars(
        select(User).where(
            User.role == Role.SCHOOL_REGISTRAR,
            User.org_unit_id.in_([from_school.id, to_school.id]),
            User.is_active_account.is_(True),
        )
    ).all()
    for registrar in registrars:
        notify(
            registrar,
            COMPLETED_FOR_STAFF.code,
            case=case,
            from_school=from_school.name,
            to_school=to_school.name,
            reference=case.reference,
        )


def _reason(case: Case) -> str:
    from portal.transfers.kind import REASONS

    label = str(REASONS.get(case.payload.get("reason"), ""))
    text = case.payload.get("reason_text", "")
    return f"{label}: {text}" if text else label


# --- reading ---------------------------------------------------------------------------------


def archives_of(user) -> list[TransferArchive]:
    """The archived copies kept by the staff member's school (M-15), newest first."""
    return list(
        db.session.scalars(
            select(TransferArchive)
            .where(TransferArchive.school_id == user.org_unit_id)
            .order_by(TransferArchive.archived_at.desc(), TransferArchive.id.desc())
        )
    )


def read_archive(user, archive_id: int) -> TransferArchive:
    archive = db.session.get(TransferArchive, archive_id)
    if archive is None or not user.is_staff or archive.school_id != user.org_unit_id:
        raise NotFound("transfer.archive_not_found", _l("No such archived record."))
    record_event(AuditTag.TRANSFER_ARCHIVE_VIEWED, actor=user, student_id_archived=archive.student_id)
    return archive


def cases_waiting_on(unit_id: int) -> list[Step]:
    """Pending transfer steps of a unit (the minimal staff list until the generic queue lands)."""
    return list(
        db.session.scalars(
            select(Step)
            .join(Case, Case.id == Step.case_id)
            .where(Step.org_unit_id == unit_id, Step.state == StepState.PENDING, Case.kind == TRANSFER)
            .order_by(Step.due_on.is_(None), Step.due_on, Step.id)
        )
    )


# --- the family's progress page ----------------------------------------------------------------

FAMILY_STEP_LABELS = {
    StepState.WAITING: _l("Waiting"),
    StepState.PENDING: _l("In progress"),
    StepState.APPROVED: _l("Approved"),
    StepState.RETURNED: _l("Returned for more material"),
    StepState.REJECTED: _l("Rejected"),
    StepState.TIMED_OUT: _l("Approved by timeout"),
    StepState.FILED: _l("Handed over"),
    StepState.SKIPPED: _l("Not needed"),
    StepState.WITHDRAWN: _l("Withdrawn"),
}
DONE_STATES = frozenset({StepState.APPROVED, StepState.TIMED_OUT, StepState.FILED})


@dataclass(frozen=True)
class PartyProgress:
    """One party of the route as the family reads it (units and roles, never staff names)."""

    step: Step
    state_label: str
    acted_by: str | None  # "东区实验小学 · 学校学籍管理员", or None
    days_left: int | None
    is_national_limit: bool


@dataclass(frozen=True)
class Progress:
    case: Case
    reference: str
    parties: list[PartyProgress]
    done: int
    can_withdraw: bool
    from_school: OrgUnit
    to_school: OrgUnit

    @property
    def total(self) -> int:
        return len(self.parties)

    @property
    def current(self) -> PartyProgress | None:
        return next(
            (p for p in self.parties if p.step.state in (StepState.PENDING, StepState.RETURNED)), None
        )


def load_transfer(case_id: int) -> Case | None:
    """The case with its steps, their units and deciders, in three queries."""
    return db.session.scalar(
        select(Case)
        .where(Case.id == case_id, Case.kind == TRANSFER)
        .options(
            selectinload(Case.steps).joinedload(Step.org_unit).lazyload(OrgUnit.parent),
            selectinload(Case.steps).joinedload(Step.decided_by).lazyload(User.org_unit),
        )
    )


@cache
def _family_transfer_query() -> Select:
    """The transfer, if the guardian is linked to its child, with its steps, their units and
    deciders: one statement (the family's progress page), built once."""
    linked = (
        select(GuardianLink.id)
        .where(
            GuardianLink.guardian_id == bindparam("guardian_id"),
            GuardianLink.student_id == Case.student_id,
            GuardianLink.revoked_at.is_(None),
        )
        .exists()
    )
    return (
        select(Case)
        .where(Case.id == bindparam("case_id"), Case.kind == TRANSFER, linked)
        .options(
            joinedload(Case.steps).joinedload(Step.org_unit).lazyload(OrgUnit.parent),
            joinedload(Case.steps).joinedload(Step.decided_by).lazyload(User.org_unit),
        )
    )


def transfer_for_family(user, case_id: int) -> Case:
    """The transfer, if `user` is a guardian linked to its child; NotFound otherwise."""
    case = None
    if not user.is_staff:
        found = db.session.execute(_family_transfer_query(), {"guardian_id": user.id, "case_id": case_id})
        case = found.unique().scalar_one_or_none()
    if case is None:
        raise NotFound("case.not_found", _l("No such request."))
    return case


def progress_of(case: Case, today: date | None = None) -> Progress:
    today = today or clock.today()
    calendars: dict[int, object] = {}

    def calendar_of(province_id: int):
        """A province's calendar, read only if a step counts its days (two queries each)."""
        if province_id not in calendars:
            calendars[province_id] = shown_calendar(province_id)
        return calendars[province_id]

    parties = [_party(step, calendar_of, today) for step in case.steps]
    done = sum(1 for step in case.steps if step.state in DONE_STATES)
    can_withdraw = case.state_enum.is_live and not any(s.state_enum.is_decided for s in case.steps)
    units = {s.org_unit_id: s.org_unit for s in case.steps}
    from_school = units.get(case.payload["from_school_id"]) or sending_school(case)
    to_school = units.get(case.payload["to_school_id"]) or receiving_school(case)
    return Progress(case, case.reference, parties, done, can_withdraw, from_school, to_school)


def _party(step: Step, calendar_of, today: date) -> PartyProgress:
    acted_by = None
    if step.decided_by is not None:
        acted_by = f"{step.org_unit.name} · {step.decided_by.role_enum.label}"
    elif step.state == StepState.TIMED_OUT:
        acted_by = str(_l("The system, when the deadline passed"))
    days_left = None
    if step.state == StepState.PENDING and step.due_on is not None and step.due_on >= today:
        days_left = calendar_of(step.province_id).working_days_between(today, step.due_on)
    national = TRANSFER_KIND.national_working_days or NATIONAL_STEP_WORKING_DAYS
    return PartyProgress(
        step=step,
        state_label=str(FAMILY_STEP_LABELS[step.state_enum]),
        acted_by=acted_by,
        days_left=days_left,
        is_national_limit=step.working_days == national,
    )
