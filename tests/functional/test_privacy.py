"""Personal data stays out of logs and out of pages and API answers that should not show it.

Log capture: every logger at DEBUG, SQLAlchemy's engine log included (switched on before the
test's connection is opened, so the statements and rows are logged). Two views of each record:
- `raw`: the message as the code logged it, taken by a handler placed before every other
  handler on the root logger (before the app's scrubbing filter rewrites the record);
- `final`: what a root handler of the running app writes, i.e. after the app's
  `ScrubSensitiveNumbers` filter (installed here on caplog's handler as the app installs it on
  the root logger's handlers).
"""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest
from sqlalchemy import insert, select

from portal.accounts.models import Role, User
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.logging_filters import ScrubSensitiveNumbers
from portal.registry.documents import DocumentType, Gender
from portal.registry.masking import mask_document_number, mask_student_number
from portal.registry.models import Student
from portal.registry.service import NewStudent, change_fields, enroll
from portal.registry.synthetic import make_j_number, make_resident_id
from tests.factories import approved_correction, make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import post_form, sign_in

CHILD_NAME = "周小北"
PASSPORT_NAME = "欧阳天宇"
GUARDIAN_MOBILE = "13955550000"
BIRTH = date(2016, 3, 14)


class _RawCapture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, str]] = []

    def emit(self, record):
        self.records.append((record.name, record.getMessage()))


@pytest.fixture
def logs(caplog):
    """Every logger at DEBUG; must be requested before `app` so SQL echo is on for the test."""
    caplog.set_level(logging.DEBUG)
    for name in (
        "sqlalchemy",
        "sqlalchemy.engine",
        "sqlalchemy.pool",
        "sqlalchemy.orm",
        "werkzeug",
        "flask.app",
        "portal",
    ):
        caplog.set_level(logging.DEBUG, logger=name)
    added_filter = None
    if not any(isinstance(f, ScrubSensitiveNumbers) for f in caplog.handler.filters):
        added_filter = ScrubSensitiveNumbers()
        caplog.handler.addFilter(added_filter)
    raw = _RawCapture()
    root = logging.getLogger()
    root.handlers.insert(0, raw)
    caplog.raw = raw.records
    try:
        yield caplog
    finally:
        root.removeHandler(raw)
        if added_filter is not None:
            caplog.handler.removeFilter(added_filter)


@pytest.fixture
def people(app):
    tree = make_tree()
    registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school, "priv.registrar")
    guardian = make_guardian(GUARDIAN_MOBILE, "周家长")
    child = make_student(tree.school, registrar, name=CHILD_NAME, birth=BIRTH)
    passport_birth = date(2015, 7, 1)
    passport_child = enroll(
        NewStudent(
            student_number=make_j_number("110105", passport_birth, 40),
            document_type=DocumentType.PASSPORT,
            document_number="E12345678",
            name=PASSPORT_NAME,
            gender=Gender.MALE,
            birth_date=passport_birth,
            ethnicity="01",
            hukou_region_code="110105",
            grade=5,
            class_name="1班",
            enrolled_on=date(2021, 9, 1),
        ),
        tree.school,
        registrar,
    )
    for student in (child, passport_child):
        db.session.add(GuardianLink(guardian_id=guardian.id, student_id=student.id, relation=Relation.MOTHER))
    db.session.commit()
    return {
        "child": child.id,
        "passport_child": passport_child.id,
        "guardian": guardian.id,
        "registrar": registrar.id,
        "secrets": {
            "names": [CHILD_NAME, PASSPORT_NAME],
            "numbers": [
                child.document_number,
                child.student_number,
                passport_child.document_number,
                passport_child.student_number,
                GUARDIAN_MOBILE,
            ],
        },
    }


def _staff_flow(client, people):
    sign_in(client, "priv.registrar")
    client.get(f"/staff/students?q={CHILD_NAME}")
    client.get(f"/staff/students?q={PASSPORT_NAME[:2]}")
    number = people["secrets"]["numbers"][1]
    client.get(f"/staff/students?q={number}")
    for student_id in (people["child"], people["passport_child"]):
        page = f"/staff/students/{student_id}"
        assert client.get(page).status_code == 200
        assert post_form(client, f"{page}/reveal", {}, form_page=page).status_code == 200
    client.get(f"/api/v1/students?q={CHILD_NAME[:1]}")
    client.get(f"/api/v1/students/{people['child']}")


def _guardian_flow(client, people):
    sign_in(client, GUARDIAN_MOBILE)
    client.get("/children/")
    for student_id in (people["child"], people["passport_child"]):
        assert client.get(f"/children/{student_id}").status_code == 200
        client.get(f"/api/v1/me/children/{student_id}")
    client.get("/api/v1/me/children")
    post_form(client, "/children/link", {"code": "ABCDEFGH", "birth_date": BIRTH.isoformat()})


FLOWS = {"staff": _staff_flow, "guardian": _guardian_flow}


def _json_text(response) -> str:
    """The JSON answer as a person reads it (no \\u escapes hiding a name)."""
    return json.dumps(response.get_json(), ensure_ascii=False)


def _leaks(messages, values) -> list[tuple[str, str]]:
    return [(name, value) for name, message in messages for value in values if value in message]


def _final(caplog) -> list[tuple[str, str]]:
    return [(record.name, record.getMessage()) for record in caplog.records]


# --- Logs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("flow", FLOWS)
def test_no_resident_id_student_number_or_mobile_number_reaches_the_written_logs(logs, client, people, flow):
    logs.clear()
    logs.raw.clear()
    FLOWS[flow](client, people)
    assert logs.raw, "the capture saw nothing: the test would prove nothing"
    child_numbers = people["secrets"]["numbers"][:2] + [people["secrets"]["numbers"][3], GUARDIAN_MOBILE]
    assert _leaks(_final(logs), child_numbers) == []


@pytest.mark.parametrize("flow", FLOWS)
def test_the_portal_itself_never_logs_personal_data(logs, client, people, flow):
    """Outside SQLAlchemy's engine log, nothing personal is even attempted (before scrubbing)."""
    logs.clear()
    logs.raw.clear()
    FLOWS[flow](client, people)
    own = [(name, message) for name, message in logs.raw if not name.startswith("sqlalchemy")]
    secrets = people["secrets"]["names"] + people["secrets"]["numbers"]
    assert _leaks(own, secrets) == []


@pytest.mark.parametrize("flow", FLOWS)
def test_sql_echo_keeps_names_and_other_documents_out_of_the_logs(logs, client, people, flow):
    logs.clear()
    FLOWS[flow](client, people)
    secrets = people["secrets"]["names"] + people["secrets"]["numbers"]
    assert _leaks(_final(logs), secrets) == []


def test_a_logged_database_error_keeps_the_id_number_out_of_the_log(logs, app, people):
    from flask import current_app
    from sqlalchemy.exc import IntegrityError

    child = db.session.get(Student, people["child"])
    row = {
        column.name: getattr(child, column.name)
        for column in Student.__table__.columns
        if column.name not in ("id", "created_at", "updated_at")
    }
    logs.clear()
    try:
        with db.session.begin_nested():
            db.session.execute(insert(Student), [row])  # the same person twice: refused
    except IntegrityError:
        # What Flask's log_exception does with an unhandled error in a request.
        current_app.logger.error("Exception on /staff/students [POST]", exc_info=True)
    written = logs.text
    assert "Exception on /staff/students [POST]" in written
    assert child.document_number not in written
    assert CHILD_NAME not in written


# --- Guardian pages and API ------------------------------------------------------------------


def test_guardian_pages_never_show_the_full_document_or_student_number(client, people):
    sign_in(client, GUARDIAN_MOBILE)
    child = db.session.get(Student, people["child"])
    document, student_number = child.document_number, child.student_number
    home = client.get("/children/").get_data(as_text=True)
    page = client.get(f"/children/{people['child']}").get_data(as_text=True)
    assert CHILD_NAME in home and CHILD_NAME in page
    for body in (home, page):
        assert document not in body and student_number not in body
    assert mask_document_number(document) in page
    assert mask_student_number(student_number) in page


def _correct_document_number(people) -> tuple[str, str]:
    """The school corrects a mistyped ID number; the history keeps before and after."""
    child = db.session.get(Student, people["child"])
    old = child.document_number
    new = make_resident_id("110105", BIRTH, 777, Gender.MALE)
    assert new != old
    change_fields(
        child,
        {"document_number": new, "student_number": "G" + new},  # a G number follows the ID number
        db.session.get(User, people["registrar"]),
        reason="户籍证明更正",
        case=approved_correction(child),
    )
    db.session.commit()
    return old, new


def test_a_corrected_document_number_stays_masked_in_the_guardians_history(client, people):
    old, new = _correct_document_number(people)
    sign_in(client, GUARDIAN_MOBILE)
    page = client.get(f"/children/{people['child']}").get_data(as_text=True)
    assert "户籍证明更正" in page  # the correction is shown ...
    assert old not in page and new not in page  # ... with both numbers masked
    assert mask_document_number(new) in page


def test_the_guardian_api_never_contains_the_full_document_number(client, people):
    sign_in(client, GUARDIAN_MOBILE)
    child = db.session.get(Student, people["child"])
    document, student_number = child.document_number, child.student_number
    listing = client.get("/api/v1/me/children")
    detail = client.get(f"/api/v1/me/children/{people['child']}")
    assert listing.status_code == detail.status_code == 200
    for response in (listing, detail):
        text = _json_text(response)
        assert document not in text and student_number not in text
        assert CHILD_NAME in text
    assert detail.get_json()["child"]["document_number"] == mask_document_number(document)


def test_the_guardian_api_masks_corrected_numbers_in_the_history(client, people):
    old, new = _correct_document_number(people)
    sign_in(client, GUARDIAN_MOBILE)
    response = client.get(f"/api/v1/me/children/{people['child']}")
    assert response.status_code == 200
    text = _json_text(response)
    assert "户籍证明更正" in text
    assert old not in text and new not in text


# --- Staff pages: masked until the audited reveal --------------------------------------------


def _reveals() -> int:
    return len(
        db.session.scalars(select(AuditEvent).where(AuditEvent.tag == "student:document_revealed")).all()
    )


def test_the_staff_page_masks_numbers_until_the_recorded_reveal(client, people):
    child = db.session.get(Student, people["child"])
    document, student_number = child.document_number, child.student_number
    page_path = f"/staff/students/{people['child']}"
    sign_in(client, "priv.registrar")

    listing = client.get(f"/staff/students?q={CHILD_NAME}").get_data(as_text=True)
    assert CHILD_NAME in listing
    assert document not in listing and student_number not in listing
    assert mask_student_number(student_number) in listing

    page = client.get(page_path).get_data(as_text=True)
    assert document not in page and student_number not in page
    assert mask_document_number(document) in page
    assert _reveals() == 0

    revealed = post_form(client, f"{page_path}/reveal", {}, form_page=page_path)
    assert revealed.status_code == 200
    body = revealed.get_data(as_text=True)
    assert document in body and student_number in body
    assert _reveals() == 1

    again = client.get(page_path).get_data(as_text=True)
    assert document not in again  # the reveal is for one look, not for the session


def test_revealing_needs_a_post_with_the_csrf_token(client, people):
    child = db.session.get(Student, people["child"])
    document = child.document_number
    sign_in(client, "priv.registrar")
    page_path = f"/staff/students/{people['child']}"
    assert client.get(f"{page_path}/reveal").status_code == 405
    refused = client.post(f"{page_path}/reveal")
    assert refused.status_code == 400
    assert document not in refused.get_data(as_text=True)
    assert _reveals() == 0


def test_the_staff_api_does_not_reveal_the_document_number_without_the_audited_step(client, people):
    child = db.session.get(Student, people["child"])
    document = child.document_number
    sign_in(client, "priv.registrar")
    search = _json_text(client.get(f"/api/v1/students?q={CHILD_NAME}"))
    record = _json_text(client.get(f"/api/v1/students/{people['child']}"))
    assert CHILD_NAME in search and CHILD_NAME in record
    assert document not in search
    assert document not in record
