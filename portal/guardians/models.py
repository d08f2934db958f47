"""Links between guardians and children, made only through the school."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, ForeignKey, Index, SmallInteger, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.extensions import db
from portal.registry.models import Student


class Relation(enum.StrEnum):
    FATHER = "father"
    MOTHER = "mother"
    OTHER = "other"  # another legal guardian (其他法定监护人)

    @property
    def label(self) -> str:
        return str(RELATION_LABELS[self])


RELATION_LABELS = {
    Relation.FATHER: _l("Father"),
    Relation.MOTHER: _l("Mother"),
    Relation.OTHER: _l("Other legal guardian"),
}


class GuardianLink(db.Model):
    __tablename__ = "guardian_links"
    __table_args__ = (
        # At most one live link per guardian and child; revoked links stay as history.
        Index(
            "uq_guardian_links_live",
            "guardian_id",
            "student_id",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
            sqlite_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    relation: Mapped[str] = mapped_column(String(10))
    binding_code_id: Mapped[int | None] = mapped_column(ForeignKey("binding_codes.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    guardian: Mapped[User] = relationship(foreign_keys=[guardian_id])
    student: Mapped[Student] = relationship()

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None


class BindingCode(db.Model):
    """A one-time code a school registrar issues to one named guardian of one child."""

    __tablename__ = "binding_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    guardian_name: Mapped[str] = mapped_column(String(50))
    guardian_mobile: Mapped[str] = mapped_column(String(11))
    relation: Mapped[str] = mapped_column(String(10))
    # Only a hash is kept: the code itself is shown once, to the registrar who prints it.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_attempts: Mapped[int] = mapped_column(SmallInteger, default=0)

    student: Mapped[Student] = relationship()
