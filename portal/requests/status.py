"""The status requests (DOMAIN §3, §4): suspension, resumption, withdrawal, study abroad,
deregistration. Each is a declaration for the approvals engine; none decides anything.

Payloads (what the requester sends):
- suspension: `reason`, `evidence` (a list of stored document references), `return_on`
  (ISO date, at most one year away, M-16);
- resumption, withdrawal, abroad, deregistration: `reason`, optional `evidence`.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import clock
from portal.accounts.models import Role
from portal.approvals.kinds import RequestKind, RouteStep
from portal.approvals.models import StepMode, StepState
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.guardians.models import GuardianLink
from portal.orgs.models import STAGE_GRADES
from portal.registry.service import change_fields, change_status
from portal.registry.status import FIRST_SENIOR_HIGH_GRADE, Status, check_transition
from portal.security.scope import get_visible_student

MAX_REASON_LENGTH = 500
MAX_EVIDENCE = 20

# One status request open at a time for a student (transfers and corrections declare
# their own conflicts, with these names, on their side).
STATUS_KIND_NAMES = frozenset({"suspension", "resumption", "withdrawal", "abroad", "deregistration"})


class StatusRequest(RequestKind):
    """A request whose approval moves the record to `target` status."""

    target: Status
    conflicts = STATUS_KIND_NAMES
    guardian_may_start = True
    # The generic request pages (portal/requests/views.py) serve every status kind.
    family_can_start = True
    start_endpoint = "requests.start"
    staff_can_start = True  # a registrar, from the family's paper form

    def check_eligible(self, student, requester, payload: dict) -> None:
        self.check_requester(student, requester)
        self.check_status(student)
        self.check_payload(payload)

    def check_status(self, student) -> None:
        """The status machine must allow the change the approval will make."""
        check_transition(student.status_enum, self.target, grade=student.grade)

    def check_requester(self, student, requester) -> None:
        """A linked guardian, or staff who may see the student (a paper form at the counter)."""
        if requester.is_staff:
            get_visible_student(requester, student.id)
            return
        linked = db.session.scalar(
            select(GuardianLink.id).where(
                GuardianLink.guardian_id == requester.id,
                GuardianLink.student_id == student.id,
                GuardianLink.revoked_at.is_(None),
            )
        )
        if linked is None:
            raise NotFound("student.not_found", _l("No such student."))
        if not self.guardian_may_start:
            raise Conflict("case.school_starts", _l("The school starts this request."))

    def check_payload(self, payload: dict) -> None:
        reason = payload.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ValidationFailed("case.reason_required", _l("Please give the reason for the request."))
        if len(reason) > MAX_REASON_LENGTH:
            raise ValidationFailed(
                "case.reason_too_long",
                _l("The reason is too long (at most %(max)s characters)."),
                max=MAX_REASON_LENGTH,
            )
        evidence = payload.get("evidence", [])
        if not (
            isinstance(evidence, list)
            and len(evidence) <= MAX_EVIDENCE
            and all(isinstance(ref, str) and 0 < len(ref) <= 100 for ref in evidence)
        ):
            raise ValidationFailed("case.bad_evidence", _l("The attached documents could not be read."))

    def on_approve(self, case, actor) -> None:
        change_status(case.student, self.target, actor, reason=case.payload.get("reason", ""), case=case)


def _school_and_county(case) -> tuple:
    school = case.student.school
    return school, school.parent


class Suspension(StatusRequest):
    """休学 (M-16): the guardian applies; the school confirms; the county approves."""

    name = "suspension"
    label = _l("Suspension of studies")
    target = Status.SUSPENDED

    def check_payload(self, payload: dict) -> None:
        super().check_payload(payload)
        return_on = _date(payload.get("return_on"))
        today = clock.today()
        if return_on is None or return_on <= today:
            raise ValidationFailed(
                "suspension.bad_return_date", _l("Please give the planned date of return to school.")
            )
        if return_on > _one_year_after(today):
            raise ValidationFailed(
                "suspension.beyond_one_year",
                _l(
                    "A suspension lasts at most one year (M-16); "
                    "for a longer stay, apply again before it ends."
                ),
            )

    def route(self, case):
        school, county = _school_and_county(case)
        return [RouteStep("school", school), RouteStep("county", county)]

    def on_approve(self, case, actor) -> None:
        super().on_approve(case, actor)
        case.student.status_until = _date(case.payload["return_on"])


class Resumption(StatusRequest):
    """复学: back to attending, after a suspension or a stay abroad (the return is marked).

    M-16 keeps the record while the student is away and leaves the procedure to the school
    ("复学时,学校应及时办理相关手续") under the province's rules: no rule fixes the grade the
    student returns to (the same one, the one below, the one the class reached meanwhile). So
    the school's registrar sets it when approving, among the grades the school teaches
    (`portal.orgs.models.STAGE_GRADES`); without one the grade on record stays.
    """

    name = "resumption"
    label = _l("Return to school")
    target = Status.ATTENDING
    decision_template = "requests/_resumption_grade.html"

    def route(self, case):
        return [RouteStep("school", case.student.school)]

    def before_decide(self, step, actor, outcome, details: dict) -> None:
        if outcome != StepState.APPROVED or details.get("grade") in (None, ""):
            return
        grade = returning_grade(step.case.student.school, details["grade"])
        step.case.payload = {**step.case.payload, "grade": grade}

    def on_approve(self, case, actor) -> None:
        super().on_approve(case, actor)
        case.student.status_until = None
        grade = case.payload.get("grade")
        if grade is not None and grade != case.student.grade:
            change_fields(case.student, {"grade": grade}, actor, reason=str(self.label), case=case)


def returning_grade(school, raw) -> int:
    """`raw` (a number, or its digits from a form) as a grade `school` teaches; refused otherwise."""
    grade = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
    if isinstance(raw, str) and raw.strip().isdigit():
        grade = int(raw.strip())
    if grade is None or grade not in STAGE_GRADES.get(school.stage, ()):
        raise ValidationFailed(
            "resumption.bad_grade",
            _l("%(school)s does not teach that grade: please choose one of its grades."),
            school=school.name,
        )
    return grade


class Withdrawal(StatusRequest):
    """退学 (M-18): senior high only; the school confirms; the county files."""

    name = "withdrawal"
    label = _l("Withdrawal")
    target = Status.WITHDRAWN

    def check_status(self, student) -> None:
        if student.grade < FIRST_SENIOR_HIGH_GRADE:
            raise Conflict(
                "withdrawal.compulsory_education",
                _l(
                    "Students in compulsory education (grades 1–9) cannot withdraw "
                    "(M-18: no withdrawal in compulsory education)."
                ),
            )
        super().check_status(student)

    def route(self, case):
        school, county = _school_and_county(case)
        return [RouteStep("school", school), RouteStep("county_filing", county, StepMode.FILING)]


class StudyAbroad(StatusRequest):
    """出境 (M-20): the school approves; the county files; the history marks it."""

    name = "abroad"
    label = _l("Study abroad")
    target = Status.ABROAD

    def route(self, case):
        school, county = _school_and_county(case)
        return [RouteStep("school", school), RouteStep("county_filing", county, StepMode.FILING)]


class Deregistration(StatusRequest):
    """注销 (M-21): started by the school; the county approves."""

    name = "deregistration"
    label = _l("Deregistration")
    target = Status.DEREGISTERED
    guardian_may_start = False
    family_can_start = False
    national_working_days = 60  # M-21: within 60 working days

    def check_requester(self, student, requester) -> None:
        super().check_requester(student, requester)
        if requester.role != Role.SCHOOL_REGISTRAR or requester.org_unit_id != student.school_id:
            raise Conflict("case.school_starts", _l("The school starts this request."))

    def route(self, case):
        return [RouteStep("county", case.student.school.parent)]


STATUS_REQUEST_KINDS = (Suspension(), Resumption(), Withdrawal(), StudyAbroad(), Deregistration())


def _date(value) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)
