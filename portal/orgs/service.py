"""Creating and looking up org units."""

from __future__ import annotations

import time

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import aliased

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
    _school_ids.clear()
    return unit


def subtree_ids(unit: OrgUnit):
    """A subquery of the ids of `unit` and every unit under it."""
    return select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path, autoescape=True))


# How long a worker trusts its list of the schools under a unit. Units are added (or
# moved) rarely; a new school shows in a county's searches within this time everywhere,
# at once in the worker that added it.
SCHOOL_IDS_SECONDS = 60
_school_ids: dict[int, tuple[float, tuple[int, ...]]] = {}


def school_ids_under(unit_id: int) -> tuple[int, ...]:
    """The ids of the schools at or under unit `unit_id`, cached per worker (one query a minute)."""
    now = time.monotonic()
    cached = _school_ids.get(unit_id)
    if cached is not None and now - cached[0] < SCHOOL_IDS_SECONDS:
        return cached[1]
    unit = aliased(OrgUnit)
    ids = tuple(
        db.session.scalars(
            select(OrgUnit.id)
            .join(unit, OrgUnit.path.startswith(unit.path))
            .where(unit.id == unit_id, OrgUnit.level == OrgLevel.SCHOOL)
            .order_by(OrgUnit.id)
        )
    )
    _school_ids[unit_id] = (now, ids)
    return ids
