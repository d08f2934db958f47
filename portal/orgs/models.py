"""The administrative tree: province → city → county → school (M-5, M-23)."""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db


class OrgLevel(enum.StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    SCHOOL = "school"

    @property
    def label(self) -> str:
        return str(ORG_LEVEL_LABELS[self])


ORG_LEVEL_LABELS = {
    OrgLevel.PROVINCE: _l("Province"),
    OrgLevel.CITY: _l("City"),
    OrgLevel.COUNTY: _l("County"),
    OrgLevel.SCHOOL: _l("School"),
}

# Which level may sit directly under which: the tree is never skipped.
PARENT_LEVEL = {
    OrgLevel.CITY: OrgLevel.PROVINCE,
    OrgLevel.COUNTY: OrgLevel.CITY,
    OrgLevel.SCHOOL: OrgLevel.COUNTY,
}


class SchoolStage(enum.StrEnum):
    PRIMARY = "primary"
    JUNIOR = "junior"
    SENIOR = "senior"
    SPECIAL = "special"  # 特殊教育学校
    CORRECTIONAL = "correctional"  # 专门学校

    @property
    def label(self) -> str:
        return str(STAGE_LABELS[self])


STAGE_LABELS = {
    SchoolStage.PRIMARY: _l("Primary school"),
    SchoolStage.JUNIOR: _l("Junior high school"),
    SchoolStage.SENIOR: _l("Senior high school"),
    SchoolStage.SPECIAL: _l("Special education school"),
    SchoolStage.CORRECTIONAL: _l("Specialized school"),
}


# The grades each kind of school teaches (1–6 primary, 7–9 junior, 10–12 senior high).
STAGE_GRADES = {
    SchoolStage.PRIMARY: range(1, 7),
    SchoolStage.JUNIOR: range(7, 10),
    SchoolStage.SENIOR: range(10, 13),
    SchoolStage.SPECIAL: range(1, 10),
    SchoolStage.CORRECTIONAL: range(7, 10),
}


class OrgUnit(db.Model):
    """One unit of the tree; `path` holds the codes from the root down, for subtree queries."""

    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[OrgLevel] = mapped_column(String(10))
    stage: Mapped[SchoolStage | None] = mapped_column(String(12))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    path: Mapped[str] = mapped_column(String(80), index=True)

    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], lazy="joined", join_depth=3)

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code} {self.level}>"

    @property
    def level_enum(self) -> OrgLevel:
        return OrgLevel(self.level)

    def ancestor_at(self, level: OrgLevel) -> OrgUnit | None:
        """The unit at `level` on the way up from here (itself included)."""
        unit: OrgUnit | None = self
        while unit is not None and unit.level != level:
            unit = unit.parent
        return unit
