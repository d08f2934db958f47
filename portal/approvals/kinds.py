"""Request kinds declare their route; the engine does the approving.

A kind is registered once at import time. Its `route` names, in order, which
unit acts at each step; its hooks apply the outcome to the registry.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

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


class RequestKind:
    """Base for every request kind (transfer, correction, suspension ...)."""

    name: str = ""
    label = ""  # a lazy_gettext string the family reads

    def route(self, case) -> list[RouteStep]:
        raise NotImplementedError

    def on_approved(self, case, actor) -> None:
        """Apply the approved request to the registry."""

    def on_rejected(self, case, actor) -> None:
        """Undo whatever opening the case put in place."""


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


def unregister(name: str) -> None:
    """Forget a kind (tests register sample kinds and clean up)."""
    _KINDS.pop(name, None)
