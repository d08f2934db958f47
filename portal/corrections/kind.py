"""The `correction` request kind: a declaration for the approvals engine (docs/approvals.md)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.approvals.kinds import RequestKind, RouteStep
from portal.corrections import service
from portal.errors import ValidationFailed


class Correction(RequestKind):
    """信息更正 (M-13): the school confirms; key fields also go to the county (AH-29, N16)."""

    name = service.KIND
    label = _l("Correction of registry details")
    conflicts = frozenset({service.KIND})  # one correction at a time per student
    family_can_start = True
    start_endpoint = "corrections.start"
    review_template = "corrections/_review.html"
    decide_endpoint = "corrections.decide"
    summary_template = "corrections/_summary.html"

    def check_eligible(self, student, requester, payload: dict) -> None:
        """What `service.propose` built, checked again at the engine's door (the API and
        retried submits arrive here too): the same changes must come out of the same input."""
        service.check_requester(student, requester)
        raw = {
            name: value
            for name, value in payload.get("changes", {}).items()
            if name in service.PROPOSABLE_FIELDS
        }
        rebuilt = service.build_payload(
            student, requester, raw, payload.get("reason", ""), payload.get("evidence", [])
        )
        if {k: payload.get(k) for k in rebuilt} != rebuilt:
            raise ValidationFailed("correction.bad_payload", _l("Please check the values entered."))

    def route(self, case):
        school = case.student.school
        steps = [RouteStep("school", school)]
        if case.payload.get("key"):
            steps.append(RouteStep("county", school.parent))
        return steps

    def on_approve(self, case, actor) -> None:
        service.apply(case, actor)
