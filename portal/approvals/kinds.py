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
    return str(kind.label) if kind is not None and kind.label else name


def get_kind(name: str) -> RequestKind:
    return _KINDS[name]


def unregister(name: str) -> None:
    """Forget a kind (tests register sample kinds and clean up)."""
    _KINDS.pop(name, None)
