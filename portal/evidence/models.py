"""One row per accepted upload; the bytes live in the storage module (content-addressed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class Evidence(db.Model):
    """An accepted, checked, cleaned file: what it is (judged from its content), its size and hash."""

    __tablename__ = "evidence"

    # The reference cases keep in payload["evidence"]: random, so that it tells nothing.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The storage key: the sha256 of the stored bytes (identical files are stored once).
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(40))  # checked, never the one declared
    size: Mapped[int] = mapped_column(Integer)  # of the stored (cleaned) bytes
    uploader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    def __repr__(self) -> str:
        return f"<Evidence {self.id}>"
