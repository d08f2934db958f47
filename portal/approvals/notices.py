"""Who hears of a case's moves: the one place the engine tells people (WAVE2 §2).

`case_moved` is called by the engine for every recorded move of a case or a step
(`engine._add_event`), and `steps_overdue` by the sweep for each chunk it flags. Kinds never
call these for ordinary moves.

- The family: every live guardian of the student (the requester among them, when a
  guardian started it) gets an inbox message and an SMS when the case is opened, a step is
  passed, the case is returned (with what is missing), approved, rejected (with the reason),
  withdrawn, or a step runs late.
- Staff: the registrars of the unit owning a step that becomes pending (a colleague's case
  they may not decide excepted) get an inbox message (and an e-mail).

Messages say "your child" and quote the case reference; they never carry a name or an ID
number. Free text a registrar wrote (what is missing, the reason) has numbers redacted.
Params are stored as codes and rendered in each reader's language.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.approvals.kinds import case_kind_label
from portal.approvals.models import Case, CaseState, Step, StepState, case_reference
from portal.extensions import db
from portal.guardians.models import GuardianLink
from portal.logging_filters import scrub
from portal.notifications.messages import register_message
from portal.notifications.service import notify, notify_many
from portal.orgs.models import OrgUnit

DECIDING_ROLES = (Role.SCHOOL_REGISTRAR, Role.COUNTY_REGISTRAR)


def _display(params: dict) -> dict:
    """Stored codes -> labels in the reader's language."""
    shown = dict(params)
    if "request_kind" in shown:
        shown["kind"] = case_kind_label(shown.pop("request_kind"))
    if "outcome" in shown:
        shown["outcome"] = _enum_label(StepState, shown["outcome"])
    return shown


def _enum_label(enum_class, code) -> str:
    try:
        return enum_class(code).label
    except ValueError:
        return str(code)


OPENED = register_message(
    "requests.opened",
    subject=_l("Request received"),
    body=_l(
        "Your child’s request (%(kind)s, reference %(reference)s) has been received and is now with %(unit)s."
    ),
    prepare=_display,
)
STEP_PASSED = register_message(
    "requests.step_passed",
    subject=_l("Request moving on"),
    body=_l(
        "Your child’s request (%(kind)s, reference %(reference)s): %(unit)s — %(outcome)s. "
        "It is now with %(next_unit)s."
    ),
    prepare=_display,
)
RETURNED = register_message(
    "requests.returned",
    subject=_l("More material needed"),
    body=_l(
        "Your child’s request (%(kind)s, reference %(reference)s) was returned by %(unit)s "
        "for more material: %(missing)s. Please add it and resubmit."
    ),
    prepare=_display,
)
APPROVED = register_message(
    "requests.approved",
    subject=_l("Request approved"),
    body=_l("Your child’s request (%(kind)s, reference %(reference)s) has been approved."),
    prepare=_display,
)
REJECTED = register_message(
    "requests.rejected",
    subject=_l("Request rejected"),
    body=_l(
        "Your child’s request (%(kind)s, reference %(reference)s) was rejected by %(unit)s. "
        "Reason: %(reason)s"
    ),
    prepare=_display,
)
WITHDRAWN = register_message(
    "requests.withdrawn",
    subject=_l("Request withdrawn"),
    body=_l("Your child’s request (%(kind)s, reference %(reference)s) has been withdrawn."),
    prepare=_display,
)
OVERDUE = register_message(
    "requests.overdue",
    subject=_l("Request past its deadline"),
    body=_l(
        "Your child’s request (%(kind)s, reference %(reference)s) has passed the deadline "
        "at %(unit)s. The unit above it has been alerted."
    ),
    prepare=_display,
)
STEP_PENDING = register_message(
    "requests.step_pending",
    subject=_l("A request is waiting for your unit"),
    body=_l("A request (%(kind)s, reference %(reference)s) is waiting for your unit’s decision."),
    prepare=_display,
)


def case_url(case_id: int) -> str:
    return f"/requests/{case_id}"


def step_url(step_id: int) -> str:
    return f"/staff/queue/steps/{step_id}"


def case_moved(case: Case, step: Step | None, before, after, actor, reason: str) -> None:
    """Tell the family and the units what the move means to them."""
    if step is not None:
        _step_moved(case, step, before, after)
        return
    after = CaseState(after)
    if before is None:
        _tell_family(case, OPENED.code, unit=case.steps[0].org_unit.name)
    elif after == CaseState.RETURNED:
        step = next(s for s in case.steps if s.state == StepState.RETURNED)
        _tell_family(case, RETURNED.code, unit=step.org_unit.name, missing=scrub(reason))
    elif after == CaseState.APPROVED:
        _tell_family(case, APPROVED.code)
    elif after == CaseState.REJECTED:
        step = next(s for s in case.steps if s.state == StepState.REJECTED)
        _tell_family(case, REJECTED.code, unit=step.org_unit.name, reason=scrub(step.reason))
    elif after == CaseState.WITHDRAWN:
        _tell_family(case, WITHDRAWN.code)


def _step_moved(case: Case, step: Step, before, after) -> None:
    after = StepState(after)
    if after == StepState.PENDING:
        _tell_unit(case, step)
    elif after in (StepState.APPROVED, StepState.FILED, StepState.TIMED_OUT):
        following = next((s for s in case.steps if s.position > step.position), None)
        if following is not None:  # the last step's news is the case's own
            _tell_family(
                case,
                STEP_PASSED.code,
                unit=step.org_unit.name,
                outcome=str(after),
                next_unit=following.org_unit.name,
            )


def _tell_family(case: Case, kind: str, **params) -> None:
    for guardian in _guardians_of(case.student_id):
        notify(
            guardian,
            kind,
            student=case.student,
            case=case,
            url=case_url(case.id),
            request_kind=case.kind,
            reference=case.reference,
            **params,
        )


def _guardians_of(student_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(GuardianLink, GuardianLink.guardian_id == User.id)
            .where(
                GuardianLink.student_id == student_id,
                GuardianLink.revoked_at.is_(None),
                User.is_active_account.is_(True),
            )
            .order_by(User.id)
        )
    )


def _tell_unit(case: Case, step: Step) -> None:
    staff = db.session.scalars(
        select(User)
        .where(
            User.org_unit_id == step.org_unit_id,
            User.role.in_(DECIDING_ROLES),
            User.is_active_account.is_(True),
            User.id != case.requester_id,
        )
        .order_by(User.id)
    )
    for user in staff:
        url = step_url(step.id)
        notify(user, STEP_PENDING.code, case=case, url=url, request_kind=case.kind, reference=case.reference)


def steps_overdue(step_ids: list[int]) -> int:
    """The families of steps the sweep just flagged (one chunk), told in bulk. Returns how many."""
    if not step_ids:
        return 0
    rows = db.session.execute(
        select(Case.id, Case.kind, Case.student_id, Case.opened_at, OrgUnit.name, User)
        .join(Step, Step.case_id == Case.id)
        .join(OrgUnit, OrgUnit.id == Step.org_unit_id)
        .join(GuardianLink, GuardianLink.student_id == Case.student_id)
        .join(User, User.id == GuardianLink.guardian_id)
        .where(
            Step.id.in_(step_ids),
            GuardianLink.revoked_at.is_(None),
            User.is_active_account.is_(True),
        )
        .order_by(Case.id, User.id)
    ).all()
    entries = [
        (
            user,
            {
                "student_id": student_id,
                "case_id": case_id,
                "url": case_url(case_id),
                "params": {
                    "request_kind": kind,
                    "reference": case_reference(case_id, opened_at),
                    "unit": unit_name,
                },
            },
        )
        for case_id, kind, student_id, opened_at, unit_name, user in rows
    ]
    notify_many(OVERDUE.code, entries)
    return len(entries)
