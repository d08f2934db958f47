"""A phone app drives a whole transfer through /api/v1/: search, apply, four decisions, archive."""

import io

from openapi_spec_validator import validate

from portal.accounts.models import Role
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from tests import evidence_files
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import sign_in


def _world():
    tree = make_tree()
    guardian = make_guardian("13912348001")
    make_staff(Role.SCHOOL_REGISTRAR, tree.other_school, "api.rs")
    make_staff(Role.COUNTY_REGISTRAR, tree.other_county, "api.rc")
    make_staff(Role.SCHOOL_REGISTRAR, tree.school, "api.ss")
    make_staff(Role.COUNTY_REGISTRAR, tree.county, "api.sc")
    child = make_student(tree.school, grade=4)
    db.session.add(GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.MOTHER))
    db.session.commit()
    return tree.other_school.id, tree.other_school.code, child.id, child.student_number


def _applied(client) -> dict:
    """The family, signed in, applies to the other school; the transfer as answered."""
    school_id, school_code, child_id, number = _world()
    sign_in(client, "13912348001")
    return client.post(
        f"/api/v1/children/{child_id}/transfers", json={"to_school_id": school_id, "reason": "job_moved"}
    ).get_json()


def _staff(app, login):
    client = app.test_client()
    sign_in(client, login)
    return client


def test_the_whole_journey_by_api(app, client, tmp_path):
    app.config["EVIDENCE_DIR"] = str(tmp_path)
    school_id, school_code, child_id, number = _world()
    sign_in(client, "13912348001")
    photo = {"file": (io.BytesIO(evidence_files.jpeg_with_gps()), "residence.jpg")}
    assert client.post("/api/v1/transfer-evidence", data=dict(photo)).status_code == 400  # no client header
    photo = {"file": (io.BytesIO(evidence_files.jpeg_with_gps()), "residence.jpg")}
    uploaded = client.post("/api/v1/transfer-evidence", data=photo, headers={"X-Xueji-Client": "test"})
    assert uploaded.status_code == 201
    ref = uploaded.get_json()["id"]
    schools = client.get(f"/api/v1/children/{child_id}/transfer-schools?q={school_code}").get_json()
    assert [s["id"] for s in schools] == [school_id]
    form_post = client.post(f"/api/v1/children/{child_id}/transfers", data={"to_school_id": school_id})
    assert form_post.status_code == 415  # JSON only: no cross-site form can write
    bad = client.post(
        f"/api/v1/children/{child_id}/transfers", json={"to_school_id": school_id, "reason": "x"}
    )
    assert bad.status_code == 400 and bad.get_json()["code"] == "request.invalid_body"
    applied = client.post(
        f"/api/v1/children/{child_id}/transfers",
        json={
            "to_school_id": school_id,
            "reason": "family_moved",
            "evidence": [ref],
            "idempotency_key": "k1",
        },
    )
    assert applied.status_code == 201
    transfer = applied.get_json()
    assert [p["role"] for p in transfer["parties"]] == [
        "receiving_school",
        "receiving_county",
        "sending_school",
        "sending_county",
    ]
    assert transfer["can_withdraw"] is True and transfer["parties"][0]["state"] == "pending"
    again = client.post(
        f"/api/v1/children/{child_id}/transfers",
        json={
            "to_school_id": school_id,
            "reason": "family_moved",
            "evidence": [ref],
            "idempotency_key": "k1",
        },
    )
    assert again.status_code == 201 and again.get_json()["id"] == transfer["id"]  # a retry, not a second case
    twice = client.post(
        f"/api/v1/children/{child_id}/transfers", json={"to_school_id": school_id, "reason": "job_moved"}
    )
    assert twice.status_code == 409 and twice.get_json()["code"] == "transfer.already_open"
    for login, extra in [("api.rs", {"class_name": "5班"}), ("api.rc", {}), ("api.ss", {}), ("api.sc", {})]:
        registrar = _staff(app, login)
        steps = registrar.get("/api/v1/staff/transfer-steps").get_json()
        assert len(steps) == 1
        seen = registrar.get(f"/api/v1/staff/transfer-steps/{steps[0]['id']}").get_json()
        assert seen["evidence"] == [ref]
        decided = registrar.post(
            f"/api/v1/staff/transfer-steps/{steps[0]['id']}/decision", json={"action": "approve", **extra}
        )
        assert decided.status_code == 200, decided.get_json()
    final = client.get(f"/api/v1/transfers/{transfer['id']}").get_json()
    assert final["state"] == "approved" and final["done"] == final["total"] == 4
    assert all(p["acted_by"] and "测试管理员" not in p["acted_by"] for p in final["parties"])
    archives = _staff(app, "api.ss").get("/api/v1/staff/transfer-archives").get_json()
    assert len(archives) == 1
    assert archives[0]["record"]["student_number"] != number  # masked
    assert archives[0]["record"]["school_id"] != school_id  # the record as it left


def test_withdraw_and_return_by_api(app, client):
    transfer = _applied(client)
    registrar = _staff(app, "api.rs")
    step_id = transfer["parties"][0]["step_id"]
    returned = registrar.post(
        f"/api/v1/staff/transfer-steps/{step_id}/decision", json={"action": "return", "reason": "请补充证明"}
    )
    assert returned.get_json()["state"] == "returned"
    resubmitted = client.post(f"/api/v1/transfers/{transfer['id']}/resubmit", json={"note": "已补充"})
    assert resubmitted.get_json()["state"] == "open"
    withdrawn = client.post(f"/api/v1/transfers/{transfer['id']}/withdraw", json={})
    assert withdrawn.get_json()["state"] == "withdrawn"


def test_paper_transfer_by_api_and_the_document(app, client):
    school_id, school_code, child_id, number = _world()
    county = _staff(app, "api.rc")
    recorded = county.post(
        "/api/v1/staff/paper-transfers",
        json={
            "student_number": number,
            "to_school_code": school_code,
            "paper_reference": "西教转〔2025〕3号",
            "paper_date": "2025-05-06",
            "reason": "family_moved",
        },
    )
    assert recorded.status_code == 201
    assert recorded.get_json()["paper"] == {"reference": "西教转〔2025〕3号", "date": "2025-05-06"}
    spec = client.get("/api/v1/openapi.json").get_json()
    validate(spec)
    assert "/children/{student_id}/transfers" in spec["paths"]
    assert "TransferSchema" in spec["components"]["schemas"]


def test_the_generic_case_endpoints_serve_a_transfer(app, client):
    transfer = _applied(client)
    step_id = transfer["parties"][0]["step_id"]
    registrar = _staff(app, "api.rs")
    assert (
        registrar.get(f"/api/v1/steps/{step_id}")
        .get_json()["decide_path"]
        .endswith(f"/steps/{step_id}/decision")
    )
    returned = registrar.post(
        f"/api/v1/steps/{step_id}/decision", json={"action": "return", "reason": "请补充证明"}
    )
    assert returned.status_code == 200 and returned.get_json()["state"] == "returned"
    resubmitted = client.post(f"/api/v1/cases/{transfer['id']}/resubmit", json={"note": "已补充"})
    assert resubmitted.status_code == 200 and resubmitted.get_json()["state"] == "open"
    # Approving a receiving school's step needs the placement: the generic decision refuses.
    unplaced = registrar.post(f"/api/v1/steps/{step_id}/decision", json={"action": "approve"})
    assert unplaced.status_code == 400 and unplaced.get_json()["code"] == "transfer.class_required"
    wrong_grade = registrar.post(
        f"/api/v1/staff/transfer-steps/{step_id}/accept", json={"grade": 11, "class_name": "3班"}
    )
    assert wrong_grade.status_code == 400 and wrong_grade.get_json()["code"] == "transfer.bad_grade"
    no_class = registrar.post(f"/api/v1/staff/transfer-steps/{step_id}/accept", json={"grade": 4})
    assert no_class.status_code == 400 and no_class.get_json()["code"] == "request.invalid_body"
    still = client.get(f"/api/v1/transfers/{transfer['id']}").get_json()
    assert still["parties"][0]["state"] == "pending"  # the refusals changed nothing
    accepted = registrar.post(
        f"/api/v1/staff/transfer-steps/{step_id}/accept", json={"grade": 4, "class_name": "3班"}
    )
    assert accepted.status_code == 200
    assert [p["state"] for p in accepted.get_json()["parties"][:2]] == ["approved", "pending"]
    county_step = accepted.get_json()["parties"][1]["step_id"]
    rejected = _staff(app, "api.rc").post(
        f"/api/v1/steps/{county_step}/decision", json={"action": "reject", "reason": "材料不符"}
    )
    assert rejected.status_code == 200 and rejected.get_json()["state"] == "rejected"
    # The same registrar's retried accept is already done; the case does not move again.
    retried = registrar.post(f"/api/v1/staff/transfer-steps/{step_id}/accept", json={"class_name": "3班"})
    assert retried.status_code == 200 and retried.get_json()["state"] == "rejected"


def test_withdraw_a_transfer_by_the_generic_endpoint(app, client):
    transfer = _applied(client)
    withdrawn = client.post(f"/api/v1/cases/{transfer['id']}/withdraw", json={"reason": "不转了"})
    assert withdrawn.status_code == 200 and withdrawn.get_json()["state"] == "withdrawn"
    # The older URL answers through the same withdrawal, in the transfer's shape.
    again = client.post(f"/api/v1/transfers/{transfer['id']}/withdraw", json={})
    assert again.status_code == 200 and again.get_json()["state"] == "withdrawn"
    assert again.get_json()["parties"][0]["state"] == "withdrawn"


def test_the_document_marks_the_older_transfer_urls(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    validate(spec)
    paths = spec["paths"]
    for path in ("/transfers/{case_id}/withdraw", "/transfers/{case_id}/resubmit", "/transfer-evidence"):
        assert paths[path]["post"]["deprecated"] is True
    assert paths["/staff/transfer-steps/{step_id}/decision"]["post"]["deprecated"] is True
    assert "deprecated" not in paths["/staff/transfer-steps/{step_id}/accept"]["post"]
    accept_params = paths["/staff/transfer-steps/{step_id}/accept"]["post"]["parameters"]
    assert accept_params == [
        {"in": "path", "name": "step_id", "required": True, "schema": {"type": "integer"}}
    ]
