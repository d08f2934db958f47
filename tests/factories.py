"""Test data: a small org tree, students with valid synthetic documents, accounts.

Every person here is invented; document numbers are built with valid check characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import count

from portal.accounts.models import Role
from portal.accounts.service import create_guardian, create_staff
from portal.approvals.kinds import RequestKind, RouteStep
from portal.orgs.models import OrgLevel, OrgUnit, SchoolStage
from portal.orgs.service import add_unit
from portal.registry.documents import DocumentType, Gender
from portal.registry.service import NewStudent, enroll
from portal.registry.synthetic import make_resident_id

PASSWORD = "correct horse battery"
_serial = count(1)


@dataclass
class Tree:
    province: OrgUnit
    city: OrgUnit
    county: OrgUnit
    school: OrgUnit
    senior_school: OrgUnit
    other_county: OrgUnit
    other_school: OrgUnit


def make_tree() -> Tree:
    """Province → city → two counties; a primary and a senior school in one, a school in the other."""
    n = next(_serial)
    province = add_unit(f"9{n:02d}000", "测试省", OrgLevel.PROVINCE)
    city = add_unit(f"9{n:02d}100", "测试市", OrgLevel.CITY, province)
    county = add_unit(f"9{n:02d}101", "东区", OrgLevel.COUNTY, city)
    other_county = add_unit(f"9{n:02d}102", "西区", OrgLevel.COUNTY, city)
    school = add_unit(f"31{n:02d}000001", "东区实验小学", OrgLevel.SCHOOL, county, SchoolStage.PRIMARY)
    senior = add_unit(f"31{n:02d}000002", "东区第一中学", OrgLevel.SCHOOL, county, SchoolStage.SENIOR)
    other = add_unit(f"31{n:02d}000003", "西区小学", OrgLevel.SCHOOL, other_county, SchoolStage.PRIMARY)
    return Tree(province, city, county, school, senior, other_county, other)


def new_student(
    *,
    name: str = "李小明",
    birth: date = date(2016, 3, 14),
    gender: Gender = Gender.MALE,
    grade: int = 4,
    region: str = "110105",
    sequence: int | None = None,
) -> NewStudent:
    # Even sequences: make_resident_id sets the parity bit for the gender, so they never collide.
    if sequence is None:
        sequence = next(_serial) * 2 % 1000
    number = make_resident_id(region, birth, sequence, gender)
    return NewStudent(
        student_number="G" + number,
        document_type=DocumentType.RESIDENT_ID,
        document_number=number,
        name=name,
        gender=gender,
        birth_date=birth,
        ethnicity="01",
        hukou_region_code=region,
        grade=grade,
        class_name="2班",
        enrolled_on=date(2022, 9, 1),
    )


def make_student(school: OrgUnit, actor=None, **fields):
    return enroll(new_student(**fields), school, actor)


def make_guardian(mobile: str | None = None, name: str = "张家长"):
    mobile = mobile or f"137{next(_serial):08d}"
    return create_guardian(mobile, name, PASSWORD)


def make_staff(role: Role, unit: OrgUnit, username: str | None = None):
    return create_staff(username or f"{role.value}.{next(_serial)}", "测试管理员", PASSWORD, role, unit)


def approved_correction(student, requester=None):
    """A correction case already approved, as if its route had completed: what lets the
    registry service change a key field (service tests; the real path is portal/corrections)."""
    from portal.approvals.models import Case, CaseState
    from portal.extensions import db

    province = student.school
    while province.parent is not None:
        province = province.parent
    requester = requester or make_guardian()
    case = Case(
        kind="correction",
        student_id=student.id,
        requester_id=requester.id,
        province_id=province.id,
        state=CaseState.APPROVED,
        payload={},
    )
    db.session.add(case)
    db.session.flush()
    return case


def registrar_for(tree: Tree):
    return make_staff(Role.SCHOOL_REGISTRAR, tree.school)


class SchoolThenCountyKind(RequestKind):
    """A sample route for tests: the student's school reviews, then its county approves."""

    name = "sample_school_then_county"

    def route(self, case):
        school = case.student.school
        return [RouteStep("school", school), RouteStep("county", school.parent)]
