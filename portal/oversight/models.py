"""Early warnings (M-23, N16), their province thresholds, and de-identified exports (M-24)."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, LargeBinary, SmallInteger, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.orgs.models import OrgUnit

# The warning rules (warnings.py) read audit events of a few tags within a time window
# (`tag IN (...) AND at >= :since`): one index range per tag instead of every event of the tag.
Index("ix_audit_events_tag_at", AuditEvent.tag, AuditEvent.at)


class WarningRule(enum.StrEnum):
    HEAVY_READER = "heavy_reader"
    RECORD_WALK = "record_walk"
    UNUSUAL_HOUR = "unusual_hour"
    REPEATED_FAILURES = "repeated_failures"
    IDLE_WITH_WORK = "idle_with_work"  # N16
    ABOUT_TO_BE_SEALED = "about_to_be_sealed"

    @property
    def label(self) -> str:
        return str(WARNING_RULE_LABELS[self])


WARNING_RULE_LABELS = {
    WarningRule.HEAVY_READER: _l("Reads far more records than peers"),
    WarningRule.RECORD_WALK: _l("Walked through many records in a short time"),
    WarningRule.UNUSUAL_HOUR: _l("Signed in at an unusual hour for this account"),
    WarningRule.REPEATED_FAILURES: _l("Repeated failed sign-ins"),
    WarningRule.IDLE_WITH_WORK: _l("Registrar not signed in for a week while requests wait"),
    WarningRule.ABOUT_TO_BE_SEALED: _l("Account about to be sealed for disuse"),
}


class SecurityWarning(db.Model):
    """One warning about one staff account; raised once per rule, account and period."""

    __tablename__ = "warnings"
    __table_args__ = (Index("ix_warnings_open", "org_unit_id", "acknowledged_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(30))
    # Unique: the job may run twice over the same period without raising the warning twice.
    key: Mapped[str] = mapped_column(String(80), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # counts and thresholds, never names
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledgement_note: Mapped[str] = mapped_column(Text, default="")

    account: Mapped[User] = relationship(foreign_keys=[account_id], lazy="joined", innerjoin=True)
    org_unit: Mapped[OrgUnit] = relationship(lazy="joined", innerjoin=True)

    @property
    def rule_enum(self) -> WarningRule:
        return WarningRule(self.rule)


class WarningThresholds(db.Model):
    """A province's early-warning thresholds; a province without a row uses the defaults."""

    __tablename__ = "province_warning_thresholds"

    province_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    reads_window_days: Mapped[int] = mapped_column(SmallInteger, default=7)
    reads_mad_factor: Mapped[float] = mapped_column(Float, default=5.0)
    reads_minimum: Mapped[int] = mapped_column(default=50)
    walk_records: Mapped[int] = mapped_column(default=100)
    walk_minutes: Mapped[int] = mapped_column(SmallInteger, default=10)
    failures_count: Mapped[int] = mapped_column(SmallInteger, default=5)
    failures_minutes: Mapped[int] = mapped_column(SmallInteger, default=60)
    unusual_hour_history: Mapped[int] = mapped_column(SmallInteger, default=10)
    idle_days: Mapped[int] = mapped_column(SmallInteger, default=7)
    seal_notice_days: Mapped[int] = mapped_column(SmallInteger, default=14)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class ExportState(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REFUSED = "refused"
    PRODUCED = "produced"

    @property
    def label(self) -> str:
        return str(EXPORT_STATE_LABELS[self])


EXPORT_STATE_LABELS = {
    ExportState.REQUESTED: _l("Waiting for approval"),
    ExportState.APPROVED: _l("Approved, being produced"),
    ExportState.REFUSED: _l("Refused"),
    ExportState.PRODUCED: _l("Ready"),
}


class DataExport(db.Model):
    """A de-identified export for approved external use (M-24: who approves is responsible)."""

    __tablename__ = "data_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(12), default=ExportState.REQUESTED)
    purpose: Mapped[str] = mapped_column(Text)
    recipient: Mapped[str] = mapped_column(String(200))
    scope_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    produced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    content: Mapped[dict | None] = mapped_column(JSON)  # rows and the suppression statement

    scope_unit: Mapped[OrgUnit] = relationship(foreign_keys=[scope_unit_id], lazy="joined", innerjoin=True)

    @property
    def state_enum(self) -> ExportState:
        return ExportState(self.state)


class FamilyCopy(db.Model):
    """Everything the portal holds about a child, for a guardian, offered for a limited time."""

    __tablename__ = "family_copies"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    produced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    content: Mapped[dict | None] = mapped_column(JSON)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
