"""Two provinces' trees, a child linked to a guardian, and a registrar at every unit."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from werkzeug.datastructures import FileStorage

from portal.accounts.models import Role
from portal.evidence.service import store_upload
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.orgs.models import OrgLevel, SchoolStage
from portal.orgs.service import add_unit
from tests import evidence_files
from tests.factories import make_guardian, make_staff, make_student, make_tree


def upload_photo(uploader) -> str:
    """A real, stored evidence photo of `uploader` (cases accept only their requester's uploads)."""
    photo = FileStorage(stream=io.BytesIO(evidence_files.jpeg_with_gps()), filename="证明.jpg")
    return store_upload(photo, uploader=uploader).id


@dataclass
class World:
    home: object  # the child's province tree (sending side)
    away: object  # another province's tree
    guardian: object
    child: object
    staff: dict
    photo: str  # an evidence reference the guardian uploaded


@pytest.fixture
def world(app, tmp_path):
    app.config["EVIDENCE_DIR"] = str(tmp_path / "evidence")
    home, away = make_tree(), make_tree()
    neighbour = add_unit(
        home.school.code[:-1] + "9", "东区第二小学", OrgLevel.SCHOOL, home.county, SchoolStage.PRIMARY
    )
    units = {
        "sending_school": home.school,
        "sending_county": home.county,
        "same_county_school": neighbour,
        "other_county_school": home.other_school,
        "other_county": home.other_county,
        "away_school": away.school,
        "away_county": away.county,
    }
    staff = {}
    for key, unit in units.items():
        role = Role.SCHOOL_REGISTRAR if unit.level == "school" else Role.COUNTY_REGISTRAR
        staff[key] = make_staff(role, unit)
    staff["home_province"] = make_staff(Role.PROVINCE_ADMIN, home.province)
    staff["away_province"] = make_staff(Role.PROVINCE_ADMIN, away.province)
    guardian = make_guardian()
    child = make_student(home.school, grade=4)
    db.session.add(GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.MOTHER))
    db.session.flush()
    return World(home, away, guardian, child, staff, upload_photo(guardian))
