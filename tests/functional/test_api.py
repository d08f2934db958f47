"""The JSON API: same services, problem+json errors, a valid OpenAPI document."""

import pytest
from openapi_spec_validator import validate

from portal.accounts.models import Role
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import sign_in


@pytest.fixture
def data(app):
    tree = make_tree()
    make_staff(Role.SCHOOL_REGISTRAR, tree.school, "api.registrar")
    guardian = make_guardian("13955550000")
    child = make_student(tree.school, name="周小北")
    other = make_student(tree.other_school, name="吴小南")
    db.session.add(GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.MOTHER))
    db.session.commit()
    return {"child": child.id, "other": other.id, "document": child.document_number}


def test_openapi_document_is_valid(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    validate(spec)
    assert {"/me/children", "/me/children/{student_id}", "/students", "/students/{student_id}"} <= set(
        spec["paths"]
    )


def test_unsigned_calls_get_401_problem_json(client):
    response = client.get("/api/v1/me/children")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "request.unauthenticated"


def test_guardian_children_are_listed_with_masked_numbers(client, data):
    sign_in(client, "13955550000")
    children = client.get("/api/v1/me/children").get_json()["children"]
    assert [c["name"] for c in children] == ["周小北"]
    assert children[0]["status"]["code"] == "attending"
    assert data["document"] not in children[0]["student_number"]
    detail = client.get(f"/api/v1/me/children/{data['child']}").get_json()
    assert detail["child"]["document_number"].count("*") >= 11
    assert detail["history"][0]["kind"] == "created"


def test_a_child_not_linked_is_a_404_problem(client, data):
    sign_in(client, "13955550000")
    response = client.get(f"/api/v1/me/children/{data['other']}")
    assert response.status_code == 404
    assert response.get_json()["code"] == "student.not_found"


def test_guardians_may_not_search_students(client, data):
    sign_in(client, "13955550000")
    response = client.get("/api/v1/students")
    assert response.status_code == 403
    assert response.get_json()["code"] == "request.forbidden"


def test_staff_search_and_record(client, data):
    sign_in(client, "api.registrar")
    found = client.get("/api/v1/students?q=周").get_json()
    assert [s["name"] for s in found["students"]] == ["周小北"]
    record = client.get(f"/api/v1/students/{data['child']}").get_json()
    assert record["student"]["document_number"] != data["document"]
    assert client.get(f"/api/v1/students/{data['other']}").status_code == 404


def test_a_bad_cursor_is_a_400_problem(client, data):
    sign_in(client, "api.registrar")
    response = client.get("/api/v1/students?cursor=abc")
    assert response.status_code == 400
    assert response.get_json()["code"] == "form.bad_number"


@pytest.mark.parametrize("cursor", ["99999999999999999999", "0", "-1"])
def test_an_out_of_range_cursor_is_a_400_problem_not_a_crash(client, data, cursor):
    sign_in(client, "api.registrar")
    response = client.get(f"/api/v1/students?cursor={cursor}")
    assert response.status_code == 400
    assert response.get_json()["code"] in {"form.number_out_of_range", "form.bad_number"}
