"""The request kinds the portal offers, registered explicitly at start-up."""

from __future__ import annotations

from portal.approvals.kinds import register
from portal.corrections.kind import Correction
from portal.requests.status import STATUS_REQUEST_KINDS
from portal.transfers.kind import TRANSFER_KIND


def register_request_kinds() -> None:
    """Make every request kind known to the engine (called once by `create_app`)."""
    from portal.requests import reminders  # noqa: F401  (its message kind, for the inbox)

    for kind in STATUS_REQUEST_KINDS:
        register(kind)
    register(TRANSFER_KIND)
    register(Correction())
