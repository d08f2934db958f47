"""The sending school's archived copy of a transferred record (M-15), read-only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, event, func
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.extensions import db


class ArchivedRecordIsReadOnly(Exception):
    """Raised when anything tries to change or delete an archived copy."""


class TransferArchive(db.Model):
    """The record as it was when it left the sending school, kept by that school (M-15).

    Written once when a transfer completes, never changed: the ORM refuses updates and
    deletes (below) and, on PostgreSQL, a trigger refuses them in the database too
    (the migration `*_transfers_*`).
    """

    __tablename__ = "transfer_archives"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)  # the sending school
    record: Mapped[dict] = mapped_column(JSON)
    archived_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


@event.listens_for(Session, "before_flush")
def _refuse_archive_changes(session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, TransferArchive) and (obj in session.deleted or session.is_modified(obj)):
            raise ArchivedRecordIsReadOnly(f"archived copy {obj.id} is read-only")
