"""A synthetic province for demos and benchmarks: invented people, valid check characters.

Rows are written with bulk INSERTs in chunks (not one ORM object at a time), so that
`--students 1000000` fills a database in minutes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import count

from faker.providers.person.zh_CN import Provider as ChineseNames
from sqlalchemy import func, insert, select, text

from portal import clock
from portal.accounts.models import Role, User
from portal.accounts.passwords import hash_password
from portal.approvals.models import LIVE_CASE_STATES, Case
from portal.demo.cases import add_demo_cases
from portal.demo.photos import add_demo_photos
from portal.extensions import db
from portal.guardians.models import BindingCode, GuardianLink, Relation
from portal.orgs.models import STAGE_GRADES, OrgLevel, OrgUnit, SchoolStage
from portal.provinces.models import ProvinceRule, TimeoutPolicy
from portal.registry.documents import DocumentType, Gender
from portal.registry.models import HistoryKind, Student, StudentHistory
from portal.registry.status import Status
from portal.registry.synthetic import (
    make_j_number,
    make_l_number,
    make_permanent_residence_id,
    make_resident_id,
)

DEMO_PASSWORD = "Demo@2026"
DEMO_BINDING_CODE = "DEMO2026"  # printed: lets a newcomer try linking a third child
DEMO_CHILDREN = 3


@dataclass(frozen=True)
class DemoSignIn:
    who: str
    login: str
    password: str = DEMO_PASSWORD


DEMO_SIGN_INS = (
    DemoSignIn("Guardian (two children)", "13800138000"),
    DemoSignIn("School registrar", "school.demo"),
    DemoSignIn("County registrar", "county.demo"),
    DemoSignIn("City officer", "city.demo"),
    DemoSignIn("Province administrator", "province.demo"),
)

PROVINCE = ("340000", "安徽省")
CITIES = {
    "340100": ("合肥市", {"340102": "瑶海区", "340103": "庐阳区", "340104": "蜀山区"}),
    "340200": ("芜湖市", {"340202": "镜湖区", "340207": "鸠江区"}),
}
SCHOOL_PLAN = (  # per county, in order: the first county's first school is the demo school
    (SchoolStage.PRIMARY, "第一实验小学"),
    (SchoolStage.PRIMARY, "青松路小学"),
    (SchoolStage.JUNIOR, "第三十中学"),
    (SchoolStage.SENIOR, "第一中学"),
)
EXTRA_SCHOOLS = ((SchoolStage.SPECIAL, "特殊教育学校"), (SchoolStage.CORRECTIONAL, "专门学校"))
# Household registrations come from all over China (migrant families: 人籍分离 is common).
HUKOU_REGIONS = (
    "340102",
    "340103",
    "340104",
    "340202",
    "340207",
    "341502",
    "342401",
    "320102",
    "330106",
    "360102",
    "410105",
    "420102",
    "510104",
    "440106",
)
# A few in every non-default status, as a real registry has.
STATUS_MIX = (
    (Status.SUSPENDED, 0.01),
    (Status.TRANSFERRING, 0.01),
    (Status.ABROAD, 0.004),
    (Status.SPECIAL_PLACEMENT, 0.003),
    (Status.DEREGISTERED, 0.001),
    (Status.GRADUATED, 0.004),
    (Status.COMPLETED, 0.002),
    (Status.LEFT_UNCOMPLETED, 0.002),
    (Status.WITHDRAWN, 0.002),
)
SCHOOL_YEAR_START = date(2026, 9, 1)
CHUNK = 5000


@dataclass
class DemoSummary:
    schools: int = 0
    students: int = 0
    guardians: int = 0
    photos: int = 0
    staff: int = 0
    sign_ins: tuple = DEMO_SIGN_INS
    binding_code: dict = field(default_factory=dict)
    status_counts: dict = field(default_factory=dict)
    case_counts: dict = field(default_factory=dict)


def is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(OrgUnit))


def generate(students: int = 5000, seed: int = 2025) -> DemoSummary:
    """Fill an empty database with a synthetic province; returns what was made."""
    rng = random.Random(seed)
    summary = DemoSummary()
    schools = _build_tree()
    summary.schools = len(schools)
    staff_hash = hash_password(DEMO_PASSWORD)
    summary.staff = _add_staff(schools, staff_hash)
    _add_province_rules(schools[0])
    first_id = (db.session.scalar(select(func.max(Student.id))) or 0) + 1
    summary.status_counts = _add_students(rng, schools, students, first_id)
    summary.students = students
    summary.guardians = _add_guardians(rng, first_id, students, staff_hash)
    summary.case_counts, resuming = add_demo_cases(rng, schools, first_id)
    counts = summary.status_counts
    counts[Status.ATTENDING] -= resuming
    counts[Status.SUSPENDED] = counts.get(Status.SUSPENDED, 0) + resuming
    _advance_sequences()
    summary.binding_code = _issue_demo_code(first_id + DEMO_CHILDREN - 1)
    _add_transfers(rng, schools, first_id, students)
    summary.photos = add_demo_photos(rng, _photographed(first_id, students))
    return summary


DEMO_PHOTOS = 6  # besides the demo guardian's first child's; the second has none yet


def _photographed(first_id: int, total: int) -> list[int]:
    """The demo guardian's first child, and a few other students, have a registry photo."""
    others = range(first_id + DEMO_CHILDREN, min(first_id + total, first_id + DEMO_CHILDREN + DEMO_PHOTOS))
    return [first_id, *others]


DEMO_TRANSFERS = 4  # besides the demo guardian's child's


def _add_transfers(rng, schools, first_id: int, total: int) -> None:
    """A few transfers in flight, one of them the demo guardian's first child's application
    (before the receiving school), so the progress page has something to show."""
    from portal.errors import DomainError
    from portal.transfers import service

    def elsewhere(student) -> OrgUnit | None:
        fits = [
            s
            for s in schools
            if s.parent_id != student.school.parent_id and student.grade in STAGE_GRADES[s.stage]
        ]
        return rng.choice(fits) if fits else None

    guardian = db.session.scalar(select(User).where(User.mobile == "13800138000"))
    candidates = db.session.scalars(
        select(Student).where(
            Student.id >= first_id + DEMO_CHILDREN,
            Student.id < first_id + total,
            Student.status == Status.ATTENDING,
        )
    ).all()
    # The demo guardian's first linked child with no request open (add_demo_cases gives
    # the other one something to follow already).
    live = select(Case.student_id).where(Case.state.in_(list(LIVE_CASE_STATES)))
    own = db.session.scalar(
        select(Student)
        .where(Student.id.in_([first_id, first_id + 1]), Student.id.not_in(live))
        .order_by(Student.id)
    )
    chosen = [(own, guardian)] if own is not None else []
    chosen += [(s, None) for s in rng.sample(candidates, min(DEMO_TRANSFERS, len(candidates)))]
    for student, requester in chosen:
        to_school = elsewhere(student)
        if to_school is None:
            continue
        # Without a guardian, the receiving school enters it (a colleague there decides).
        requester = requester or db.session.scalar(
            select(User)
            .where(User.org_unit_id == to_school.id, User.role == Role.SCHOOL_REGISTRAR)
            .order_by(User.id)
        )
        try:
            with db.session.begin_nested():
                service.apply_for_transfer(
                    student, requester, to_school_id=to_school.id, reason="family_moved"
                )
        except DomainError:  # another demo request is open for this student
            continue


def _issue_demo_code(student_id: int) -> dict:
    """A known code for the demo guardian's third child, so linking can be tried at once."""
    from portal.guardians.service import hash_code

    student = db.session.get(Student, student_id)
    registrar = db.session.scalar(select(User).where(User.username == "school.demo"))
    db.session.add(
        BindingCode(
            student_id=student.id,
            guardian_name="王丽",
            guardian_mobile="13800138000",
            relation=Relation.MOTHER,
            code_hash=hash_code(DEMO_BINDING_CODE),
            created_by_id=registrar.id,
            expires_at=clock.now() + timedelta(days=365),
        )
    )
    db.session.flush()
    return {"code": DEMO_BINDING_CODE, "birth_date": student.birth_date.isoformat()}


def _build_tree() -> list[OrgUnit]:
    from portal.orgs.service import add_unit

    province = add_unit(PROVINCE[0], PROVINCE[1], OrgLevel.PROVINCE)
    schools: list[OrgUnit] = []
    serial = count(1)
    for city_code, (city_name, counties) in CITIES.items():
        city = add_unit(city_code, city_name, OrgLevel.CITY, province)
        for index, (county_code, county_name) in enumerate(counties.items()):
            county = add_unit(county_code, county_name, OrgLevel.COUNTY, city)
            plan = SCHOOL_PLAN + (EXTRA_SCHOOLS[index % 2],)
            for stage, suffix in plan:
                code = f"3134{next(serial):06d}"  # 学校标识码: 31 + province + serial
                name = f"{city_name}{county_name}{suffix}"
                schools.append(add_unit(code, name, OrgLevel.SCHOOL, county, stage))
    return schools


def _add_staff(schools: list[OrgUnit], password_hash: str) -> int:
    demo_school = schools[0]
    county = demo_school.parent
    rows = [
        _staff("province.demo", "省级管理员", Role.PROVINCE_ADMIN, county.parent.parent, password_hash),
        _staff("city.demo", "市级管理员", Role.CITY_OFFICER, county.parent, password_hash),
        _staff("county.demo", "县级学籍管理员", Role.COUNTY_REGISTRAR, county, password_hash),
        _staff("school.demo", "学校学籍管理员", Role.SCHOOL_REGISTRAR, demo_school, password_hash),
    ]
    counties = {s.parent.id: s.parent for s in schools}
    rows += [
        _staff(f"county.{c.code}", f"{c.name}学籍管理员", Role.COUNTY_REGISTRAR, c, password_hash)
        for c in counties.values()
        if c.id != county.id
    ]
    rows += [
        _staff(f"school.{s.code}", f"{s.name}学籍管理员", Role.SCHOOL_REGISTRAR, s, password_hash)
        for s in schools[1:]
    ]
    db.session.execute(insert(User), rows)
    return len(rows)


def _staff(username, display_name, role, unit, password_hash) -> dict:
    return {
        "role": role,
        "username": username,
        "display_name": display_name,
        "password_hash": password_hash,
        "org_unit_id": unit.id,
        "mobile": None,
        "email": f"{username}@example.edu.cn",  # synthetic: example.edu.cn receives nothing
    }


def _add_province_rules(any_school: OrgUnit) -> None:
    """Anhui's own rule (AH-24): transfers get 20 working days and approve on timeout."""
    province = any_school.ancestor_at(OrgLevel.PROVINCE)
    db.session.add(
        ProvinceRule(
            province_id=province.id,
            kind="transfer",
            step_working_days=20,
            timeout_policy=TimeoutPolicy.AUTO_APPROVE,
        )
    )
    db.session.flush()


def _add_students(rng: random.Random, schools, total: int, first_id: int) -> dict:
    surnames = list(ChineseNames.last_names)
    weights = list(ChineseNames.last_names.values())
    given = {Gender.MALE: ChineseNames.first_names_male, Gender.FEMALE: ChineseNames.first_names_female}
    sequences: dict[tuple, int] = {}
    counts: dict[str, int] = {}
    students, history = [], []
    for offset in range(total):
        # The demo guardian's children (two linked, one waiting for a code) attend the demo school.
        school = schools[0] if offset < DEMO_CHILDREN else rng.choice(schools)
        row = _student_row(rng, first_id + offset, school, surnames, weights, given, sequences)
        if offset >= DEMO_CHILDREN:
            row["status"] = _pick_status(rng, row["grade"])
        counts[row["status"]] = counts.get(row["status"], 0) + 1
        students.append(row)
        history.extend(_history_rows(row))
        if len(students) >= CHUNK:
            _flush_rows(students, history)
    _flush_rows(students, history)
    return counts


def _flush_rows(students: list, history: list) -> None:
    if students:
        db.session.execute(insert(Student), students)
        db.session.execute(insert(StudentHistory), history)
    students.clear()
    history.clear()


def _student_row(rng, student_id, school, surnames, weights, given, sequences) -> dict:
    stage = SchoolStage(school.stage)
    grade = rng.choice(STAGE_GRADES[stage])
    gender = rng.choice((Gender.MALE, Gender.FEMALE))
    birth = date(SCHOOL_YEAR_START.year - 6 - grade + 1, 9, 1) + timedelta(days=rng.randrange(365))
    name = rng.choices(surnames, weights)[0] + "".join(
        rng.choice(given[gender]) for _ in range(rng.choice((1, 2, 2)))
    )
    region = rng.choice(HUKOU_REGIONS)
    document_type, document_number = _document(rng, region, birth, gender, sequences)
    return {
        "id": student_id,
        "name": name,
        "gender": gender,
        "birth_date": birth,
        "document_type": document_type,
        "document_number": document_number,
        "student_number": _student_number(rng, document_type, document_number, school, birth, sequences),
        "ethnicity": "01" if rng.random() < 0.92 else rng.choice(("02", "03", "04", "08", "11")),
        "hukou_region_code": region,
        "school_id": school.id,
        "grade": grade,
        "class_name": f"{rng.randint(1, 8)}班",
        "status": Status.ATTENDING,
        "enrolled_on": _enrollment_date(grade),
        "needs_review": False,
        "version": 1,
    }


def _next_sequence(sequences: dict, key: tuple, gender: Gender | None) -> int:
    """Sequence numbers unique per region and birth date, with the gender's parity."""
    n = sequences.get(key, 0)
    sequences[key] = n + 1
    parity = 0 if gender is None else (1 if gender is Gender.MALE else 0)
    return (2 * n + parity) % 1000


def _document(rng, region, birth, gender, sequences) -> tuple[str, str]:
    roll = rng.random()
    if roll < 0.96:
        seq = _next_sequence(sequences, ("id", region, birth, gender), gender)
        return DocumentType.RESIDENT_ID, make_resident_id(region, birth, seq, gender)
    if roll < 0.975:
        seq = _next_sequence(sequences, ("hk", birth, gender), gender)
        return DocumentType.HONG_KONG, make_resident_id("810000", birth, seq, gender)
    if roll < 0.985:
        seq = _next_sequence(sequences, ("pr", birth, gender), gender)
        return DocumentType.PERMANENT_RESIDENCE, make_permanent_residence_id("34", "840", birth, seq, gender)
    return DocumentType.PASSPORT, f"E{rng.randrange(10**7, 10**8)}{rng.randrange(10)}"


def _student_number(rng, document_type, document_number, school, birth, sequences) -> str:
    county_code = school.parent.code
    if document_type == DocumentType.RESIDENT_ID:
        if rng.random() < 0.95:
            return "G" + document_number
        serial = _next_sequence(sequences, ("L", county_code, birth), None) % 10000
        return make_l_number(county_code, birth, serial)
    seq = _next_sequence(sequences, ("J", county_code, birth), None)
    return make_j_number(county_code, birth, seq)


def _enrollment_date(grade: int) -> date:
    first_grade_of_stage = 1 if grade <= 6 else (7 if grade <= 9 else 10)
    return date(SCHOOL_YEAR_START.year - (grade - first_grade_of_stage), 9, 1)


def _pick_status(rng, grade: int) -> Status:
    roll = rng.random()
    for status, share in STATUS_MIX:
        if roll < share:
            if status == Status.WITHDRAWN and grade < 10:
                return Status.ATTENDING  # compulsory education cannot withdraw (M-18)
            return status
        roll -= share
    return Status.ATTENDING


def _history_rows(row: dict) -> list[dict]:
    rows = [
        {
            "student_id": row["id"],
            "kind": HistoryKind.CREATED,
            "before": {},
            "after": {"status": Status.ATTENDING},
            "reason": "",
            "actor_id": None,
        }
    ]
    if row["status"] != Status.ATTENDING:
        rows.append(
            {
                "student_id": row["id"],
                "kind": HistoryKind.STATUS,
                "before": {"status": Status.ATTENDING},
                "after": {"status": row["status"]},
                "reason": "",
                "actor_id": None,
            }
        )
    return rows


def _add_guardians(rng, first_id: int, total: int, password_hash: str) -> int:
    """About one guardian per eight students; some have two children; all linked by the school."""
    guardians = [
        {
            "role": Role.GUARDIAN,
            "mobile": "13800138000",
            "display_name": "王丽",
            "password_hash": password_hash,
            "username": None,
            "org_unit_id": None,
        }
    ]
    links = [(0, first_id, Relation.MOTHER), (0, first_id + 1, Relation.MOTHER)]
    student_id = first_id + DEMO_CHILDREN
    while student_id < first_id + total and len(guardians) < max(total // 8, 2):
        index = len(guardians)
        guardians.append(
            {
                "role": Role.GUARDIAN,
                "mobile": f"139{index:08d}",
                "display_name": "家长",
                "password_hash": password_hash,
                "username": None,
                "org_unit_id": None,
            }
        )
        relation = rng.choice((Relation.FATHER, Relation.MOTHER, Relation.MOTHER, Relation.OTHER))
        for _ in range(2 if rng.random() < 0.2 else 1):
            if student_id < first_id + total:
                links.append((index, student_id, relation))
                student_id += rng.randint(1, 6)
    first_user_id = (db.session.scalar(select(func.max(User.id))) or 0) + 1
    for offset, row in enumerate(guardians):
        row["id"] = first_user_id + offset
    for start in range(0, len(guardians), CHUNK):
        db.session.execute(insert(User), guardians[start : start + CHUNK])
    link_rows = [{"guardian_id": first_user_id + g, "student_id": s, "relation": r} for g, s, r in links]
    for start in range(0, len(link_rows), CHUNK):
        db.session.execute(insert(GuardianLink), link_rows[start : start + CHUNK])
    return len(guardians)


def _advance_sequences() -> None:
    """Explicit ids were inserted; PostgreSQL's sequences must move past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in ("students", "users", "cases", "steps"):
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )
