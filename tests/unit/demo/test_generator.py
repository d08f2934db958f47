"""The synthetic demo province: valid numbers, a sensible tree, the demo family and staff."""

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from portal import clock
from portal.accounts.models import Role, User
from portal.accounts.service import authenticate
from portal.demo.generator import DEMO_PASSWORD, DEMO_SIGN_INS, generate, is_empty
from portal.extensions import db
from portal.guardians.models import BindingCode, GuardianLink
from portal.guardians.service import redeem_code
from portal.orgs.models import STAGE_GRADES, OrgLevel, OrgUnit, SchoolStage
from portal.registry.documents import (
    DocumentType,
    Gender,
    validate_document,
    validate_student_number,
)
from portal.registry.models import Student
from portal.registry.status import FIRST_SENIOR_HIGH_GRADE, Status
from tests.factories import make_guardian, make_student

DEMO_MOBILE = "13800138000"


def _generate(students: int, seed: int):
    # The suite's database is empty outside each test's own (rolled-back) savepoint.
    assert is_empty(), "the demo generator needs an empty database"
    return generate(students=students, seed=seed)


@pytest.fixture
def demo(app):
    return _generate(300, 7)


def _students() -> list[Student]:
    return list(db.session.scalars(select(Student).order_by(Student.id)))


def test_every_document_number_validates_with_birth_date_and_gender(demo):
    students = _students()
    assert len(students) == demo.students == 300
    for student in students:
        normalized = validate_document(
            DocumentType(student.document_type),
            student.document_number,
            birth_date=student.birth_date,
            gender=Gender(student.gender),
        )
        assert normalized == student.document_number, student.id


def test_every_student_number_validates_against_the_record(demo):
    kinds = Counter()
    for student in _students():
        kind = validate_student_number(
            student.student_number,
            birth_date=student.birth_date,
            document_type=DocumentType(student.document_type),
            document_number=student.document_number,
        )
        kinds[kind] += 1
    assert kinds["G"] > 0  # and, at 300 students, some J or L numbers as well
    assert kinds["J"] + kinds["L"] > 0


def test_no_document_or_student_number_is_used_twice(demo):
    students = _students()
    documents = Counter(s.document_number for s in students)
    assert [number for number, n in documents.items() if n > 1] == []
    numbers = Counter(s.student_number for s in students)
    assert [number for number, n in numbers.items() if n > 1] == []


def test_the_tree_has_cities_counties_and_schools_of_every_stage(demo):
    units = list(db.session.scalars(select(OrgUnit)))
    by_level = Counter(unit.level for unit in units)
    assert by_level[OrgLevel.PROVINCE] == 1
    assert by_level[OrgLevel.CITY] >= 2
    assert by_level[OrgLevel.COUNTY] >= 4
    assert by_level[OrgLevel.SCHOOL] >= 20 and by_level[OrgLevel.SCHOOL] == demo.schools
    stages = {unit.stage for unit in units if unit.level == OrgLevel.SCHOOL}
    assert stages == set(SchoolStage)
    for unit in units:
        if unit.level == OrgLevel.SCHOOL:
            assert unit.parent.level == OrgLevel.COUNTY
            assert unit.path.startswith(unit.parent.path)


def test_every_student_is_at_a_school_with_a_grade_that_school_teaches(demo):
    for student in _students():
        assert student.school.level == OrgLevel.SCHOOL
        assert student.grade in STAGE_GRADES[SchoolStage(student.school.stage)], student.id
        assert student.birth_date < date.today()


def test_every_non_default_status_appears_in_a_larger_province(app):
    # Not every seed gives every status at 2000 students (withdrawal is rare: senior high only);
    # seed 7 does, and the counts are read from the database, not hard-coded.
    summary = _generate(2000, 7)
    counts = dict(db.session.execute(select(Student.status, func.count()).group_by(Student.status)).all())
    assert set(counts) == set(Status)
    assert counts == summary.status_counts
    assert sum(counts.values()) == 2000
    assert counts[Status.ATTENDING] > sum(counts.values()) / 2


@pytest.mark.parametrize("students", [300, 2000])
def test_no_compulsory_education_student_is_withdrawn(app, students):
    _generate(students, 7)
    withdrawn = db.session.scalars(select(Student).where(Student.status == Status.WITHDRAWN)).all()
    assert all(student.grade >= FIRST_SENIOR_HIGH_GRADE for student in withdrawn)
    if students == 2000:
        assert withdrawn, "seed 7 gives at least one (senior high) withdrawal"


def test_the_demo_guardian_has_two_children_and_a_code_for_the_third(demo):
    guardian = db.session.scalar(select(User).where(User.mobile == DEMO_MOBILE))
    assert guardian is not None and guardian.role == Role.GUARDIAN
    live = db.session.scalars(
        select(GuardianLink).where(GuardianLink.guardian_id == guardian.id, GuardianLink.revoked_at.is_(None))
    ).all()
    assert len(live) == 2
    open_codes = db.session.scalars(
        select(BindingCode).where(BindingCode.used_at.is_(None), BindingCode.revoked_at.is_(None))
    ).all()
    assert len(open_codes) == 1
    [code] = open_codes
    assert code.guardian_mobile == DEMO_MOBILE
    assert clock.aware(code.expires_at) > clock.now()
    assert code.student_id not in {link.student_id for link in live}

    birth = date.fromisoformat(demo.binding_code["birth_date"])
    assert birth == db.session.get(Student, code.student_id).birth_date
    link = redeem_code(guardian, demo.binding_code["code"], birth)
    assert link.student_id == code.student_id
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(GuardianLink)
            .where(GuardianLink.guardian_id == guardian.id, GuardianLink.revoked_at.is_(None))
        )
        == 3
    )


def test_the_demo_children_attend_the_demo_school(demo):
    guardian = db.session.scalar(select(User).where(User.mobile == DEMO_MOBILE))
    registrar = db.session.scalar(select(User).where(User.username == "school.demo"))
    children = db.session.scalars(
        select(Student)
        .join(GuardianLink, GuardianLink.student_id == Student.id)
        .where(GuardianLink.guardian_id == guardian.id)
    ).all()
    assert {child.school_id for child in children} == {registrar.org_unit_id}
    assert {child.status for child in children} == {Status.ATTENDING}


@pytest.mark.parametrize(
    ("login", "role", "level"),
    [
        ("school.demo", Role.SCHOOL_REGISTRAR, OrgLevel.SCHOOL),
        ("county.demo", Role.COUNTY_REGISTRAR, OrgLevel.COUNTY),
        ("city.demo", Role.CITY_OFFICER, OrgLevel.CITY),
        ("province.demo", Role.PROVINCE_ADMIN, OrgLevel.PROVINCE),
    ],
)
def test_demo_staff_exist_at_every_level_and_can_sign_in(demo, login, role, level):
    user = db.session.scalar(select(User).where(User.username == login))
    assert user is not None
    assert (user.role, user.org_unit.level) == (role, level)
    assert authenticate(login, DEMO_PASSWORD).id == user.id


def test_the_demo_units_nest_from_school_up_to_province(demo):
    school, county, city, province = (
        db.session.scalar(select(User).where(User.username == name)).org_unit
        for name in ("school.demo", "county.demo", "city.demo", "province.demo")
    )
    assert school.parent_id == county.id
    assert county.parent_id == city.id
    assert city.parent_id == province.id


def test_every_printed_sign_in_exists_and_the_counts_add_up(demo):
    for sign_in in DEMO_SIGN_INS:
        column = User.mobile if sign_in.login.isdigit() else User.username
        assert db.session.scalar(select(User.id).where(column == sign_in.login)), sign_in.login
    staff = db.session.scalar(select(func.count()).select_from(User).where(User.role != Role.GUARDIAN))
    guardians = db.session.scalar(select(func.count()).select_from(User).where(User.role == Role.GUARDIAN))
    assert (demo.staff, demo.guardians) == (staff, guardians)


def test_new_rows_after_the_bulk_insert_get_fresh_ids(demo):
    # Explicit ids were inserted in bulk; on PostgreSQL the sequences must have moved past them.
    school = db.session.scalar(
        select(OrgUnit).where(OrgUnit.level == OrgLevel.SCHOOL, OrgUnit.stage == SchoolStage.PRIMARY)
    )
    highest_student = db.session.scalar(select(func.max(Student.id)))
    highest_user = db.session.scalar(select(func.max(User.id)))
    student = make_student(school, name="新同学")
    guardian = make_guardian("13600000001")
    assert student.id > highest_student and guardian.id > highest_user


def test_a_few_demo_students_have_a_drawn_registry_photo(demo):
    import io

    from PIL import Image

    from portal.evidence import storage
    from portal.evidence.photo import check_shape

    photographed = db.session.scalars(select(Student).where(Student.photo_sha256.is_not(None))).all()
    assert demo.photos == len(photographed) == 7
    guardian = db.session.scalar(select(User).where(User.mobile == DEMO_MOBILE))
    children = db.session.scalars(
        select(Student).join(GuardianLink).where(GuardianLink.guardian_id == guardian.id).order_by(Student.id)
    ).all()
    assert children[0].photo_sha256 and not children[1].photo_sha256  # one shows "no photo yet"
    for student in photographed:
        image = Image.open(io.BytesIO(storage.read_bytes(student.photo_sha256)))
        assert image.format == "JPEG" and dict(image.getexif()) == {}
        check_shape(*image.size)  # what a family would be allowed to upload
