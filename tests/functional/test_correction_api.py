"""Corrections through /api/v1: multipart evidence, propose, decide, search by a former number."""

import io
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.approvals.models import Case
from portal.evidence.models import Evidence
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.registry.documents import DocumentType, Gender
from portal.registry.models import Student
from portal.registry.service import enroll
from portal.registry.synthetic import make_j_number, make_resident_id
from tests import evidence_files
from tests.factories import make_guardian, make_staff, make_tree, new_student
from tests.functional.conftest import sign_in

GUARDIAN = "13922223333"
BIRTH = date(2015, 6, 1)


@pytest.fixture
def j_child(app, tmp_path):
    app.config["EVIDENCE_DIR"] = str(tmp_path / "evidence")
    tree = make_tree()
    guardian = make_guardian(GUARDIAN)
    make_staff(Role.SCHOOL_REGISTRAR, tree.school, "api.school")
    make_staff(Role.COUNTY_REGISTRAR, tree.county, "api.county")
    data = replace(
        new_student(birth=BIRTH),
        student_number=make_j_number("110105", BIRTH, 123),
        document_type=DocumentType.OTHER,
        document_number="PENDING-ID-1",
    )
    child = enroll(data, tree.school, None)
    db.session.add(GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.FATHER))
    db.session.commit()
    return child.id, child.student_number


def _upload(client, name, data):
    return client.post(
        "/api/v1/evidence", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )


@pytest.mark.parametrize("name", sorted(evidence_files.lying_files()))
def test_a_lying_or_broken_upload_is_a_problem_with_its_code_and_nothing_is_stored(client, j_child, name):
    filename, data, code = evidence_files.lying_files()[name]
    sign_in(client, GUARDIAN)
    response = _upload(client, filename, data)
    assert response.status_code in (400, 413)
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == code
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0


def test_upload_needs_a_signed_in_proposer(client, j_child):
    assert _upload(client, "a.jpg", evidence_files.jpeg_with_gps()).status_code == 401


def test_j_becomes_g_through_the_api_and_the_old_number_still_finds_the_student(client, j_child):
    child_id, old_number = j_child
    resident = make_resident_id("110105", BIRTH, 64, Gender.MALE)
    sign_in(client, GUARDIAN)
    uploaded = _upload(client, "hukou.heic", evidence_files.heic_with_gps())
    assert uploaded.status_code == 201
    assert uploaded.get_json()["content_type"] == "image/jpeg"  # HEIC re-encoded
    body = {
        "changes": {"document_type": "1", "document_number": resident},
        "reason": "已办理居民身份证",
        "evidence": [uploaded.get_json()["id"]],
        "idempotency_key": "retry-key-0001",
    }
    first = client.post(f"/api/v1/students/{child_id}/corrections", json=body)
    again = client.post(f"/api/v1/students/{child_id}/corrections", json=body)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    assert db.session.scalar(select(func.count()).select_from(Case)) == 1
    proposal = first.get_json()
    assert resident not in first.get_data(as_text=True)  # numbers masked
    assert proposal["key_fields"] is True and [s["role"] for s in proposal["steps"]] == ["school", "county"]

    sign_in(client, "api.school")
    decided = client.post(
        f"/api/v1/correction-steps/{proposal['steps'][0]['id']}/decision", json={"action": "approve"}
    )
    assert decided.status_code == 200
    sign_in(client, "api.county")
    refused = client.post(
        f"/api/v1/correction-steps/{proposal['steps'][1]['id']}/decision",
        json={"action": "approve", "fields": ["document_type"]},
    )
    assert refused.status_code == 400 and refused.get_json()["code"] == "correction.decide_together"
    decided = client.post(
        f"/api/v1/correction-steps/{proposal['steps'][1]['id']}/decision", json={"action": "approve"}
    )
    assert decided.status_code == 200 and decided.get_json()["state"] == "approved"

    db.session.expire_all()
    assert db.session.get(Student, child_id).student_number == "G" + resident
    sign_in(client, "api.school")
    found = client.get("/api/v1/students", query_string={"q": old_number}).get_json()
    assert [s["id"] for s in found["students"]] == [child_id]
    page = client.get("/staff/students", query_string={"q": old_number}).get_data(as_text=True)
    assert f"/staff/students/{child_id}" in page


def test_a_proposal_refused_by_the_checks_is_a_problem(client, j_child):
    child_id, _ = j_child
    sign_in(client, GUARDIAN)
    response = client.post(
        f"/api/v1/students/{child_id}/corrections",
        json={"changes": {"document_type": "1", "document_number": "110105201506011234"}, "reason": "x"},
    )
    assert response.status_code == 400
    assert response.get_json()["code"].startswith("document.")


def test_the_openapi_document_lists_the_correction_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "multipart/form-data" in paths["/evidence"]["post"]["requestBody"]["content"]
    for path in (
        "/students/{student_id}/corrections",
        "/corrections/{case_id}",
        "/corrections/{case_id}/resubmission",
        "/correction-steps/{step_id}/decision",
    ):
        assert path in paths
