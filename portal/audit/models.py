"""Typed audit events: who read or changed what, never the personal data itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        # The chain job's work list: tiny (only entries not yet chained), read in id order.
        Index(
            "ix_audit_events_unchained",
            "id",
            postgresql_where=text("chain_seq IS NULL"),
            sqlite_where=text("chain_seq IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Set once, later, by the chain job (portal/audit/chain.py, docs/audit.md); never on insert,
    # so writing an event never waits for another. The PostgreSQL trigger allows nothing else.
    chain_seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chain_hash: Mapped[str | None] = mapped_column(String(64))


class AuditCheckpoint(db.Model):
    """Entries up to `upto_seq` were deleted by retention; the chain resumes from `head_hash`.

    `signature` is an HMAC over the other fields with AUDIT_CHECKPOINT_KEY, so a checkpoint
    cannot be invented to hide a deletion by someone without the key.
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    upto_seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    deleted_count: Mapped[int] = mapped_column(BigInteger)
    oldest_kept_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signature: Mapped[str] = mapped_column(String(64))
