"""Creating and looking up org units."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.errors import ValidationFailed
from portal.extensions import db
from portal.orgs.models import PARENT_LEVEL, OrgLevel, OrgUnit, SchoolStage


def add_unit(
    code: str,
    name: str,
    level: OrgLevel,
    parent: OrgUnit | None = None,
    stage: SchoolStage | None = None,
) -> OrgUnit:
    """Add a unit under `parent`, keeping the tree's levels in order."""
    expected_parent = PARENT_LEVEL.get(level)
    if (parent.level if parent else None) != expected_parent:
        raise ValidationFailed("org.bad_parent", _l("This unit cannot be placed there."))
    if (level == OrgLevel.SCHOOL) != (stage is not None):
        raise ValidationFailed("org.bad_stage", _l("Schools, and only schools, have a stage."))
    path = f"{parent.path if parent else '/'}{code}/"
    unit = OrgUnit(code=code, name=name, level=level, parent=parent, stage=stage, path=path)
    db.session.add(unit)
    db.session.flush()
    return unit


def subtree_ids(unit: OrgUnit):
    """A subquery of the ids of `unit` and every unit under it."""
    return select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path, autoescape=True))
