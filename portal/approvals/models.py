"""Cases and their steps: the data of the one approvals engine."""

from __future__ import annotations

import enum
import re
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal import clock
from portal.accounts.models import User
from portal.extensions import db
from portal.orgs.models import OrgUnit
from portal.provinces.models import TimeoutPolicy
from portal.registry.models import Student


class CaseState(enum.StrEnum):
    OPEN = "open"
    RETURNED = "returned"  # 退回补正: waiting for the requester to add what is missing
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # by the requester, before any party decided

    @property
    def is_live(self) -> bool:
        return self in LIVE_CASE_STATES

    @property
    def label(self) -> str:
        return str(CASE_STATE_LABELS[self])


CASE_STATE_LABELS = {
    CaseState.OPEN: _l("In progress"),
    CaseState.RETURNED: _l("Returned for more material"),
    CaseState.APPROVED: _l("Approved"),
    CaseState.REJECTED: _l("Rejected"),
    CaseState.WITHDRAWN: _l("Withdrawn"),
}

LIVE_CASE_STATES = frozenset({CaseState.OPEN, CaseState.RETURNED})

# The whole truth about which case state may follow which (`engine.move_case` consults it).
CASE_TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    CaseState.OPEN: frozenset(
        {CaseState.RETURNED, CaseState.APPROVED, CaseState.REJECTED, CaseState.WITHDRAWN}
    ),
    CaseState.RETURNED: frozenset({CaseState.OPEN, CaseState.WITHDRAWN}),
    CaseState.APPROVED: frozenset(),
    CaseState.REJECTED: frozenset(),
    CaseState.WITHDRAWN: frozenset(),
}


class StepState(enum.StrEnum):
    WAITING = "waiting"  # an earlier step is not finished yet
    PENDING = "pending"  # the owning unit must act
    APPROVED = "approved"
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"  # the deadline passed and the province approves on timeout
    SKIPPED = "skipped"  # the case ended before this step was reached
    RETURNED = "returned"  # sent back to the requester for more material (退回补正)
    FILED = "filed"  # a filing step (备案), acknowledged
    WITHDRAWN = "withdrawn"  # the requester withdrew while this step was before its unit

    @property
    def label(self) -> str:
        return str(STEP_STATE_LABELS[self])

    @property
    def is_decided(self) -> bool:
        return self in DECIDED_STEP_STATES


DECIDED_STEP_STATES = frozenset(
    {StepState.APPROVED, StepState.REJECTED, StepState.TIMED_OUT, StepState.FILED}
)

# The whole truth about which step state may follow which (`engine.move_step` consults it).
STEP_TRANSITIONS: dict[StepState, frozenset[StepState]] = {
    StepState.WAITING: frozenset({StepState.PENDING, StepState.SKIPPED, StepState.WITHDRAWN}),
    StepState.PENDING: frozenset(
        {
            StepState.APPROVED,
            StepState.REJECTED,
            StepState.FILED,
            StepState.TIMED_OUT,
            StepState.RETURNED,
            StepState.WITHDRAWN,
        }
    ),
    StepState.RETURNED: frozenset({StepState.PENDING, StepState.WITHDRAWN}),
    StepState.APPROVED: frozenset(),
    StepState.REJECTED: frozenset(),
    StepState.FILED: frozenset(),
    StepState.TIMED_OUT: frozenset(),
    StepState.SKIPPED: frozenset(),
    StepState.WITHDRAWN: frozenset(),
}


class StepMode(enum.StrEnum):
    DECISION = "decision"  # approve, or reject with a reason
    FILING = "filing"  # 备案: the unit acknowledges; it cannot reject


STEP_STATE_LABELS = {
    StepState.WAITING: _l("Waiting"),
    StepState.PENDING: _l("Under review"),
    StepState.APPROVED: _l("Approved"),
    StepState.REJECTED: _l("Rejected"),
    StepState.TIMED_OUT: _l("Approved on timeout"),
    StepState.SKIPPED: _l("Not needed"),
    StepState.RETURNED: _l("Returned for more material"),
    StepState.FILED: _l("Filed"),
    StepState.WITHDRAWN: _l("Withdrawn"),
}


def case_reference(case_id: int, opened_at: datetime | None) -> str:
    """The one format of every case's reference, whatever its kind: XJ-<year opened>-<id>."""
    year = opened_at.year if opened_at else clock.today().year
    return f"XJ-{year}-{case_id:06d}"


# Transfers once read ZX<year><id, 7 digits> (ZX20260000123); those references were quoted to
# families and sent in messages, so they still find their case.
_LEGACY_TRANSFER_REFERENCE = re.compile(r"ZX(\d{4})(\d{7})")


def case_id_from_reference(reference: str) -> int | None:
    """The case id in a reference the family typed (XJ-2026-000123, or a transfer's older
    ZX20260000123), or None."""
    typed = "".join(str(reference or "").split()).upper()
    legacy = _LEGACY_TRANSFER_REFERENCE.fullmatch(typed)
    if legacy:
        return int(legacy.group(2))
    prefix, _, rest = typed.partition("-")
    year, _, number = rest.partition("-")
    if prefix != "XJ" or not (len(year) == 4 and year.isdigit() and number.isdigit()):
        return None
    return int(number)


class Case(db.Model):
    """One request about one student, moving through an ordered route of steps."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    province_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    state: Mapped[str] = mapped_column(String(10), default=CaseState.OPEN)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    # A retried submit from a flaky phone network carries the same key and finds this case.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    student: Mapped[Student] = relationship()
    requester: Mapped[User] = relationship()
    steps: Mapped[list[Step]] = relationship(
        back_populates="case", order_by="Step.position", cascade="all, delete-orphan"
    )

    @property
    def state_enum(self) -> CaseState:
        return CaseState(self.state)

    @property
    def reference(self) -> str:
        """The number the family quotes (XJ-2026-000123): the year it opened and the case id."""
        return case_reference(self.id, self.opened_at)

    def current_step(self) -> Step | None:
        """The step before a unit now, or the one returned to the requester."""
        live = (StepState.PENDING, StepState.RETURNED)
        return next((s for s in self.steps if s.state in live), None)


class Step(db.Model):
    """One unit's part of a case, with its working-day deadline."""

    __tablename__ = "steps"
    __table_args__ = (
        UniqueConstraint("case_id", "position"),
        # The approval queue: one unit's steps in one state, soonest due first (NULLs last);
        # on PostgreSQL the counts per kind are read from this index alone.
        Index(
            "ix_steps_unit_state_due",
            "org_unit_id",
            "state",
            "due_on",
            "id",
            postgresql_include=["kind", "overdue_since"],
        ),
        # The daily sweep's search: late steps not yet flagged (flagged ones leave the index).
        Index(
            "ix_steps_unflagged_due",
            "due_on",
            postgresql_where=text("state = 'pending' AND overdue_since IS NULL"),
            sqlite_where=text("state = 'pending' AND overdue_since IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    role: Mapped[str] = mapped_column(String(30))
    # The case's kind, copied when the step is made: the queue counts and filters by it
    # without joining every case.
    kind: Mapped[str | None] = mapped_column(String(30))
    mode: Mapped[str] = mapped_column(String(10), default=StepMode.DECISION, server_default=StepMode.DECISION)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default=StepState.WAITING, index=True)
    # The rules of the province of the owning unit, stored when the case opens (per step:
    # a route that crosses provinces counts each step on its own province's calendar).
    province_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    working_days: Mapped[int] = mapped_column(SmallInteger)
    timeout_policy: Mapped[str] = mapped_column(
        String(20), default=TimeoutPolicy.FLAG_OVERDUE, server_default=TimeoutPolicy.FLAG_OVERDUE
    )
    activated_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    # Set when the deadline runs past the known holiday calendar: the year still missing.
    due_awaits_calendar_year: Mapped[int | None] = mapped_column(SmallInteger)
    overdue_since: Mapped[date | None] = mapped_column(Date)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text, default="")

    case: Mapped[Case] = relationship(back_populates="steps")
    org_unit: Mapped[OrgUnit] = relationship(foreign_keys=[org_unit_id])
    decided_by: Mapped[User | None] = relationship()

    @property
    def state_enum(self) -> StepState:
        return StepState(self.state)

    @property
    def mode_enum(self) -> StepMode:
        return StepMode(self.mode)


class Alert(db.Model):
    """A notice to a unit that something under it needs attention (an overdue step)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("steps.id"))
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    step: Mapped[Step] = relationship()


class CaseEvent(db.Model):
    """One move of a case or of one of its steps: the family's timeline reads these."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("steps.id"))  # None: the case itself
    from_state: Mapped[str | None] = mapped_column(String(10))  # None: just opened
    to_state: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    case: Mapped[Case] = relationship()
