"""Cases and their steps: the data of the one approvals engine."""

from __future__ import annotations

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.extensions import db
from portal.orgs.models import OrgUnit
from portal.registry.models import Student


class CaseState(enum.StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return str(CASE_STATE_LABELS[self])


CASE_STATE_LABELS = {
    CaseState.OPEN: _l("In progress"),
    CaseState.APPROVED: _l("Approved"),
    CaseState.REJECTED: _l("Rejected"),
}


class StepState(enum.StrEnum):
    WAITING = "waiting"  # an earlier step is not finished yet
    PENDING = "pending"  # the owning unit must act
    APPROVED = "approved"
    REJECTED = "rejected"
    TIMED_OUT = "timed_out"  # the deadline passed and the province approves on timeout
    SKIPPED = "skipped"  # the case ended before this step was reached

    @property
    def label(self) -> str:
        return str(STEP_STATE_LABELS[self])

    @property
    def is_decided(self) -> bool:
        return self in (StepState.APPROVED, StepState.REJECTED, StepState.TIMED_OUT)


STEP_STATE_LABELS = {
    StepState.WAITING: _l("Waiting"),
    StepState.PENDING: _l("Under review"),
    StepState.APPROVED: _l("Approved"),
    StepState.REJECTED: _l("Rejected"),
    StepState.TIMED_OUT: _l("Approved on timeout"),
    StepState.SKIPPED: _l("Not needed"),
}


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

    def current_step(self) -> Step | None:
        return next((s for s in self.steps if s.state == StepState.PENDING), None)


class Step(db.Model):
    """One unit's part of a case, with its working-day deadline."""

    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("case_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    role: Mapped[str] = mapped_column(String(30))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default=StepState.WAITING, index=True)
    working_days: Mapped[int] = mapped_column(SmallInteger)
    activated_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    # Set when the deadline runs past the known holiday calendar: the year still missing.
    due_awaits_calendar_year: Mapped[int | None] = mapped_column(SmallInteger)
    overdue_since: Mapped[date | None] = mapped_column(Date)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text, default="")

    case: Mapped[Case] = relationship(back_populates="steps")
    org_unit: Mapped[OrgUnit] = relationship()
    decided_by: Mapped[User | None] = relationship()

    @property
    def state_enum(self) -> StepState:
        return StepState(self.state)


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
