"""The transfer (转学, M-15, AH-21 … AH-25) as a declaration for the approvals engine.

The guardian applies to the receiving school; that school's decision is the first step of
the route, so accepting, declining and returning for more material are engine verbs.
Payload:
- `to_school_id`: the receiving school;
- `reason`: `family_moved` | `job_moved` | `other`, with `reason_text` for `other`;
- `evidence`: stored document references;
- `paper`: `{"reference": …, "date": …}` for a transfer already done on paper (N16);
- `grade`, `class_name`: set by the receiving school when it accepts (default: same grade).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import clock
from portal.accounts.models import Role
from portal.approvals.kinds import RequestKind, RouteStep
from portal.approvals.models import StepMode, StepState
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.guardians.models import GuardianLink
from portal.orgs.models import STAGE_GRADES, OrgLevel, OrgUnit
from portal.provinces.models import TransferRouteOrder
from portal.registry.status import Status, check_transition
from portal.transfers import windows

TRANSFER = "transfer"
REASONS = {
    "family_moved": _l("The family moved"),
    "job_moved": _l("A guardian's job moved"),
    "other": _l("Other reason"),
}
MAX_TEXT = 500
MAX_EVIDENCE = 20

# Step roles of a transfer route, beyond the engine's own (labels in approvals/kinds.py).
RECEIVING_SCHOOL = "receiving_school"
HANDOVER = "handover"


def receiving_school(case) -> OrgUnit:
    return db.session.get(OrgUnit, case.payload["to_school_id"])


def sending_school(case) -> OrgUnit:
    return db.session.get(OrgUnit, case.payload["from_school_id"])


class Transfer(RequestKind):
    name = TRANSFER
    label = _l("Transfer to another school")
    conflicts = frozenset({"suspension", "resumption", "withdrawal", "abroad", "deregistration", TRANSFER})
    family_can_start = True
    start_endpoint = "transfers.apply"
    progress_endpoint = "transfers.progress"
    review_template = "transfers/_review.html"
    decide_endpoint = "transfers.decide"

    def check_eligible(self, student, requester, payload: dict) -> None:
        to_school = self.check_receiving_school(student, payload)
        self.check_requester(student, requester, to_school, payload)
        self.check_payload(payload)
        try:
            check_transition(student.status_enum, Status.TRANSFERRING, grade=student.grade)
        except Conflict:
            raise Conflict(
                "transfer.status_not_allowed",
                _l("A record that is “%(status)s” cannot be transferred."),
                status=student.status_enum.label,
            ) from None
        if not payload.get("paper"):  # a paper transfer already happened (N16)
            self.check_window(student.school, to_school)

    def check_receiving_school(self, student, payload: dict) -> OrgUnit:
        to_school = db.session.get(OrgUnit, payload.get("to_school_id") or 0)
        if to_school is None or to_school.level != OrgLevel.SCHOOL:
            raise ValidationFailed("transfer.unknown_school", _l("Please choose the receiving school."))
        if to_school.id == student.school_id:
            raise Conflict("transfer.same_school", _l("The child already attends this school."))
        if to_school.stage is None or student.grade not in STAGE_GRADES[to_school.stage]:
            raise Conflict(
                "transfer.wrong_stage",
                _l("This school does not teach the child's grade (%(grade)s)."),
                grade=student.grade_label,
            )
        return to_school

    def check_requester(self, student, requester, to_school, payload: dict) -> None:
        """A linked guardian; the receiving school's registrar; a county registrar for a paper one."""
        if not requester.is_staff:
            linked = db.session.scalar(
                select(GuardianLink.id).where(
                    GuardianLink.guardian_id == requester.id,
                    GuardianLink.student_id == student.id,
                    GuardianLink.revoked_at.is_(None),
                )
            )
            if linked is None:
                raise NotFound("student.not_found", _l("No such student."))
            return
        if payload.get("paper"):
            counties = {student.school.parent_id, to_school.parent_id}
            if requester.role != Role.COUNTY_REGISTRAR or requester.org_unit_id not in counties:
                raise Conflict(
                    "transfer.paper_by_county",
                    _l("A paper transfer is recorded by the registrar of one of the two counties."),
                )
            return
        if requester.role != Role.SCHOOL_REGISTRAR or requester.org_unit_id != to_school.id:
            raise Conflict(
                "transfer.receiving_school_starts",
                _l("A transfer is applied for by the family or entered by the receiving school."),
            )

    def check_payload(self, payload: dict) -> None:
        reason = payload.get("reason")
        if reason not in REASONS:
            raise ValidationFailed("transfer.reason_required", _l("Please give the reason for the transfer."))
        text = payload.get("reason_text", "")
        if not isinstance(text, str) or len(text) > MAX_TEXT:
            raise ValidationFailed(
                "transfer.reason_too_long",
                _l("The reason is too long (at most %(max)s characters)."),
                max=MAX_TEXT,
            )
        if reason == "other" and not text.strip():
            raise ValidationFailed("transfer.reason_text_required", _l("Please describe the reason."))
        evidence = payload.get("evidence", [])
        if not (
            isinstance(evidence, list)
            and len(evidence) <= MAX_EVIDENCE
            and all(isinstance(ref, str) and 0 < len(ref) <= 100 for ref in evidence)
        ):
            raise ValidationFailed("case.bad_evidence", _l("The attached documents could not be read."))

    def check_window(self, from_school, to_school) -> None:
        today = clock.today()
        for school in (to_school, from_school):
            province = school.ancestor_at(OrgLevel.PROVINCE)
            if not windows.is_open_on(province.id, today):
                upcoming = windows.next_window(province.id, today)
                raise Conflict(
                    "transfer.outside_window",
                    _l("%(province)s accepts transfer applications only in its transfer windows%(next)s."),
                    province=province.name,
                    next=_next_window_text(upcoming),
                )

    def route(self, case) -> list[RouteStep]:
        to_school, from_school = receiving_school(case), case.student.school
        to_county, from_county = to_school.parent, from_school.parent
        steps = [RouteStep(RECEIVING_SCHOOL, to_school)]
        if to_county.id == from_county.id:  # M-15: one department for both schools
            return [*steps, RouteStep("sending_school", from_school), RouteStep("county", from_county)]
        steps.append(RouteStep("receiving_county", to_county))
        to_province = to_school.ancestor_at(OrgLevel.PROVINCE)
        from_province = from_school.ancestor_at(OrgLevel.PROVINCE)
        if to_province.id != from_province.id:
            if windows.setting_for(to_province.id).provincial_step:
                steps.append(RouteStep("receiving_province", to_province))
            # The record crosses provinces (AH-22: pulled by its number): a step of its own.
            steps.append(RouteStep(HANDOVER, from_province, StepMode.FILING))
            if windows.setting_for(from_province.id).provincial_step:
                steps.append(RouteStep("sending_province", from_province))
        sending = [RouteStep("sending_school", from_school), RouteStep("sending_county", from_county)]
        if windows.setting_for(from_province.id).route_order == TransferRouteOrder.COUNTY_FIRST:
            sending.reverse()  # AH-21: the sending department checks with the school
        return [*steps, *sending]

    def before_decide(self, step, actor, outcome, details: dict) -> None:
        """The receiving school places the child (grade, class) when it accepts."""
        if step.role == RECEIVING_SCHOOL and outcome == StepState.APPROVED:
            from portal.transfers import service

            service.place(step.case, details.get("grade"), details.get("class_name", ""))

    def on_open(self, case, actor) -> None:
        from portal.transfers import service

        service.on_open(case, actor)

    def on_step_done(self, step, actor) -> None:
        from portal.transfers import service

        service.on_step_done(step, actor)

    def on_approve(self, case, actor) -> None:
        from portal.transfers import service

        service.complete(case, actor)

    def on_reject(self, case, actor) -> None:
        from portal.transfers import service

        service.back_to_attending(case, actor)


def _next_window_text(upcoming) -> str:
    if upcoming is None:
        return ""
    return str(_l(" (next: %(start)s to %(end)s)")) % {
        "start": upcoming[0].isoformat(),
        "end": upcoming[1].isoformat(),
    }


TRANSFER_KIND = Transfer()
