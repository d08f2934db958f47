"""De-identified exports: approval at county level, and what leaves holds no identity."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pytest

from portal.accounts.models import Role
from portal.errors import NotFound, ValidationFailed
from portal.oversight.exports import (
    K_ANONYMITY,
    QUASI_IDENTIFIERS,
    decide_export,
    download_export,
    produce_export,
    request_export,
)
from portal.oversight.models import ExportState
from portal.registry.documents import Gender
from tests.factories import make_staff, make_student, make_tree

PURPOSE = "Education statistics for the county's annual report (statistics law)."
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张"


@pytest.fixture
def registry(app):
    """Groups on (school, grade, gender, birth year, ethnicity) of 6, 5, 2 and 1 students."""
    tree = make_tree()
    registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school)
    names = iter(SURNAMES)
    students = []
    for count, school, grade, gender, year in (
        (6, tree.school, 4, Gender.MALE, 2016),
        (5, tree.school, 4, Gender.FEMALE, 2016),
        (2, tree.school, 5, Gender.MALE, 2015),
        (1, tree.senior_school, 10, Gender.FEMALE, 2010),
    ):
        for n in range(count):
            birth = date(year, 1 + n, 10 + n)
            name = next(names) + "小同"
            students.append(
                make_student(school, registrar, name=name, birth=birth, gender=gender, grade=grade)
            )
    return tree, registrar, students


def test_only_a_county_level_unit_other_than_the_requester_approves(registry):
    tree, registrar, _students = registry
    with pytest.raises(ValidationFailed, match="export.scope_outside"):
        request_export(registrar, purpose=PURPOSE, recipient="x", scope_unit_id=tree.county.id)
    export = request_export(
        registrar, purpose=PURPOSE, recipient="Statistics office", scope_unit_id=tree.school.id
    )
    other_school = make_staff(Role.SCHOOL_REGISTRAR, tree.school)
    with pytest.raises(ValidationFailed) as refused:
        decide_export(other_school, export.id, approve=True, note="")
    assert refused.value.code == "export.approver_level"
    other_county = make_staff(Role.COUNTY_REGISTRAR, tree.other_county)
    with pytest.raises(NotFound):
        decide_export(other_county, export.id, approve=True, note="")
    county = make_staff(Role.COUNTY_REGISTRAR, tree.county)
    decided = decide_export(county, export.id, approve=True, note="Within the statistics plan")
    assert decided.state == ExportState.APPROVED
    assert (decided.decided_by_id, decided.decided_unit_id) == (county.id, tree.county.id)
    with pytest.raises(ValidationFailed, match="export.already_decided"):
        decide_export(county, export.id, approve=False, note="changed my mind")


def test_the_export_holds_no_identity_and_every_group_has_five(registry):
    tree, registrar, students = registry
    county = make_staff(Role.COUNTY_REGISTRAR, tree.county)
    export = request_export(
        county, purpose=PURPOSE, recipient="Statistics office", scope_unit_id=tree.county.id
    )
    decide_export(make_staff(Role.CITY_OFFICER, tree.city), export.id, approve=True, note="")
    with pytest.raises(NotFound):  # produced by the job, not on approval
        download_export(county, export.id)
    produce_export(export.id)
    content = download_export(county, export.id)
    text = json.dumps(content, ensure_ascii=False)
    for student in students:
        assert student.name not in text
        assert student.document_number not in text
        assert student.student_number not in text
        assert student.birth_date.isoformat() not in text
    groups = Counter(tuple(row[name] for name in QUASI_IDENTIFIERS) for row in content["rows"])
    assert groups and min(groups.values()) >= K_ANONYMITY
    assert len(content["rows"]) == 11
    assert content["suppression"]["suppressed_rows"] == 3
    assert content["suppression"]["suppressed_groups"] == 2
    assert content["approved_by_unit"] == tree.city.name


def test_pseudonyms_differ_between_exports(registry):
    tree, _registrar, _students = registry
    county = make_staff(Role.COUNTY_REGISTRAR, tree.county)
    city = make_staff(Role.CITY_OFFICER, tree.city)
    pseudonyms = []
    for _ in range(2):
        export = request_export(
            county, purpose=PURPOSE, recipient="Statistics office", scope_unit_id=tree.county.id
        )
        decide_export(city, export.id, approve=True, note="")
        produce_export(export.id)
        pseudonyms.append({row["student"] for row in download_export(county, export.id)["rows"]})
    assert len(pseudonyms[0]) == 11 and not pseudonyms[0] & pseudonyms[1]


def test_a_refusal_needs_a_reason_and_is_never_produced(registry):
    tree, registrar, _students = registry
    export = request_export(registrar, purpose=PURPOSE, recipient="A company", scope_unit_id=tree.school.id)
    county = make_staff(Role.COUNTY_REGISTRAR, tree.county)
    with pytest.raises(ValidationFailed, match="export.reason_required"):
        decide_export(county, export.id, approve=False, note="")
    decide_export(county, export.id, approve=False, note="No legal basis for a company")
    assert produce_export(export.id) is None
