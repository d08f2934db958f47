"""The family's copy: every section, as JSON and a readable PDF, for a limited time only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal import clock
from portal.accounts.models import Role
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.notifications.models import InboxMessage
from portal.oversight.family_copy import SECTIONS, erase_expired_copies, produce_requested_copies
from portal.oversight.models import FamilyCopy
from portal.registry.service import change_fields, read_student
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import post_form, sign_in


@pytest.fixture
def family(app):
    tree = make_tree()
    registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school)
    child = make_student(tree.school, registrar, name="周小雨")
    guardian = make_guardian()
    db.session.add(GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.FATHER))
    change_fields(child, {"class_name": "3班"}, registrar, reason="Class moved")
    read_student(registrar, child.id)
    db.session.commit()
    return {
        "child": child.id,
        "mobile": guardian.mobile,
        "guardian": guardian.id,
        "school": tree.school.name,
        "document": child.document_number,
    }


def _produce() -> None:
    produce_requested_copies()
    db.session.commit()


def test_a_copy_is_prepared_in_the_background_and_holds_every_section(family, client):
    sign_in(client, family["mobile"])
    base = f"/children/{family['child']}/copy"
    assert post_form(client, base, {}).status_code == 302
    copy_id = db.session.scalar(select(FamilyCopy.id).where(FamilyCopy.guardian_id == family["guardian"]))
    assert client.get(f"{base}/{copy_id}/json").status_code == 404  # not produced yet
    _produce()

    content = client.get(f"{base}/{copy_id}/json").get_json()
    assert set(content) == set(SECTIONS)
    assert content["record"]["name"] == "周小雨" and content["record"]["school"] == family["school"]
    assert family["document"] not in str(content)  # masked, as on every guardian page
    assert content["record"]["document_number"].endswith(family["document"][-3:])
    assert any(h["after"] == {"class_name": "3班"} for h in content["history"])
    assert content["access_log"][0]["action"]  # the registrar's look, by unit and role
    assert all("测试管理员" not in str(entry) for entry in content["access_log"])
    assert content["guardians"][0]["relation"] == "father"

    pdf = client.get(f"{base}/{copy_id}/pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.data.startswith(b"%PDF") and b"/FontFile" in pdf.data  # the CJK font is embedded

    api = client.get(f"/api/v1/me/children/{family['child']}/copies/{copy_id}").get_json()
    assert api == content
    message = db.session.scalar(select(InboxMessage).where(InboxMessage.recipient_id == family["guardian"]))
    assert message.kind == "oversight.family_copy_ready"


def test_an_expired_copy_is_erased_and_refused(family, client):
    sign_in(client, family["mobile"])
    response = client.post(f"/api/v1/me/children/{family['child']}/copies")
    assert response.status_code == 202
    copy_id = response.get_json()["id"]
    _produce()
    db.session.execute(
        update(FamilyCopy).where(FamilyCopy.id == copy_id).values(expires_at=clock.now() - timedelta(hours=1))
    )
    assert erase_expired_copies() == 1
    db.session.commit()
    assert db.session.get(FamilyCopy, copy_id).pdf is None
    assert client.get(f"/api/v1/me/children/{family['child']}/copies/{copy_id}").status_code == 404
    assert client.get(f"/api/v1/me/children/{family['child']}/copies").get_json()["copies"] == []


def test_another_guardian_gets_nothing(family, client):
    stranger = make_guardian().mobile
    db.session.commit()
    sign_in(client, stranger)
    assert client.post(f"/api/v1/me/children/{family['child']}/copies").status_code == 404
