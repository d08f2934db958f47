"""Request kinds declare their route; the engine does the approving.

A kind is a declaration: its route (who acts, in order, and how: decide or file), its
label, its check at the door, the kinds it cannot be open beside, and its effects on the
record. Kinds are registered explicitly at start-up (`portal.requests.register_request_kinds`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from portal.approvals.models import StepMode
from portal.orgs.models import OrgUnit

# What a unit does at a step, as the family reads it; kinds pick from these.
STEP_ROLE_LABELS = {
    "school": _l("School review"),
    "county": _l("County approval"),
    "county_filing": _l("County filing"),
    "receiving_school": _l("Receiving school"),
    "receiving_county": _l("Receiving county"),
    "sending_school": _l("Sending school"),
    "sending_county": _l("Sending county"),
    "receiving_province": _l("Receiving province"),
    "sending_province": _l("Sending province"),
    "handover": _l("Hand-over between provinces"),
}


def step_role_label(role: str) -> str:
    return str(STEP_ROLE_LABELS.get(role, role))


# The request kinds of the national rules (DOMAIN §4), known before each is built, so that
# a province can already set its deadlines for them.
NATIONAL_REQUEST_KINDS = {
    "transfer": _l("Transfer to another school"),
    "correction": _l("Correction of registry details"),
    "suspension": _l("Suspension of studies"),
    "resumption": _l("Return to school"),
    "withdrawal": _l("Withdrawal"),
    "abroad": _l("Study abroad"),
    "deregistration": _l("Deregistration"),
}


@dataclass(frozen=True)
class RouteStep:
    role: str  # what the unit does here, e.g. "receiving_school"; shown to the guardian
    org_unit: OrgUnit
    mode: StepMode = StepMode.DECISION  # FILING: 备案, the unit acknowledges and cannot reject


class RequestKind:
    """Base for every request kind (transfer, correction, suspension ...).

    Only `name`, `label` and `route` are required. The engine calls, in this order:
    `check_eligible` before anything is stored (raise a DomainError to refuse), `route`,
    `on_open` once the case and its steps exist, then exactly one of `on_approve`,
    `on_reject`, `on_withdraw` when the case ends; all in the request's one transaction.
    """

    name: str = ""
    label = ""  # a lazy_gettext string the family reads
    # Kinds that cannot be open for the same student at the same time as this one. The
    # check is symmetric (either side's declaration suffices); include `name` itself for
    # "one at a time".
    conflicts: frozenset[str] = frozenset()
    # The national deadline per step when the province has set none (None: the national
    # 10 working days; deregistration: 60, M-21).
    national_working_days: int | None = None
    # Where the generic pages meet the kind (WAVE2: the family's "start a request" link,
    # the staff step page's partial and decision endpoint, the family's request page).
    family_can_start: bool = False
    start_endpoint: str | None = None
    review_template: str | None = None
    decide_endpoint: str | None = None
    summary_template: str | None = None
    progress_endpoint: str | None = None

    # Extension points the generic request pages use (WAVE2 §1).
    # Families: the child page offers "start a request" for every kind they may start,
    # linking to `url_for(start_endpoint, student_id=...)`.
    family_can_start: bool = False
    start_endpoint: str | None = None
    # Staff step page: a Jinja partial included beside the request (context: case, step,
    # student); decisions post to `decide_endpoint` (with step_id=...) when a kind has its own.
    review_template: str | None = None
    decide_endpoint: str | None = None
    # Staff step page: a partial of extra fields inside the generic decision form (context:
    # case, step, student, grades); what they post reaches `before_decide` as `details`.
    decision_template: str | None = None
    # Family request page: a partial included in the request's page (context: case, student);
    # the family's request list links to `progress_endpoint` (with case_id=...) when set.
    summary_template: str | None = None
    progress_endpoint: str | None = None

    def check_eligible(self, student, requester, payload: dict) -> None:
        """Refuse, with a DomainError the family can read, a request that can never succeed."""

    def route(self, case) -> list[RouteStep]:
        raise NotImplementedError

    def before_decide(self, step, actor, outcome, details: dict) -> None:
        """Check and record what the deciding unit adds to `outcome` (a StepState), under the
        step's lock, before the step moves: raise a DomainError to refuse the decision."""

    def on_open(self, case, actor) -> None:
        """Put in place what the open case means for the record (e.g. 'transfer in progress')."""

    def on_step_done(self, step, actor) -> None:
        """A step was approved, filed or timed out (e.g. the receiving school accepted a transfer)."""

    def on_approve(self, case, actor) -> None:
        """Apply the approved request to the registry."""

    def on_reject(self, case, actor) -> None:
        """Undo whatever opening the case put in place."""

    def on_withdraw(self, case, actor) -> None:
        """Undo whatever opening the case put in place (by default as on rejection)."""
        self.on_reject(case, actor)


_KINDS: dict[str, RequestKind] = {}


def register(kind: RequestKind) -> RequestKind:
    if not kind.name:
        raise ValueError("a request kind needs a name")
    _KINDS[kind.name] = kind
    return kind


def case_kind_label(name: str) -> str:
    kind = _KINDS.get(name)
    if kind is not None and kind.label:
        return str(kind.label)
    return str(NATIONAL_REQUEST_KINDS.get(name, name))


def is_known_kind(name: str) -> bool:
    return name in NATIONAL_REQUEST_KINDS or name in _KINDS


def get_kind(name: str) -> RequestKind:
    return _KINDS[name]


def registered_kinds() -> list[RequestKind]:
    """Every registered kind, in registration order."""
    return list(_KINDS.values())


def kinds_in_conflict(a: str, b: str) -> bool:
    """Whether a case of kind `a` and one of kind `b` may not be open for one student at once."""
    first, second = _KINDS.get(a), _KINDS.get(b)
    return bool((first and b in first.conflicts) or (second and a in second.conflicts))


def unregister(name: str) -> None:
    """Forget a kind (tests register sample kinds and clean up)."""
    _KINDS.pop(name, None)
