"""Families see who looked: units and roles with reasons, never staff names, never themselves."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.audit.jobs import chain_settled_entries
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.notifications.models import InboxMessage
from portal.oversight.access_log import access_log
from portal.registry.models import Student
from portal.registry.service import read_student
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import sign_in

STAFF_NAME = "测试管理员"  # every factory staff member's display name


@pytest.fixture
def family(app):
    """Plain ids and texts (requests end the session; objects held across them go stale)."""
    tree = make_tree()
    registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school)
    child = make_student(tree.school, registrar)
    guardian = make_guardian()
    db.session.add(GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.MOTHER))
    officer = make_staff(Role.CITY_OFFICER, tree.city)
    county_registrar = make_staff(Role.COUNTY_REGISTRAR, tree.county)
    db.session.commit()
    return SimpleNamespace(
        school=tree.school.name,
        city=tree.city.name,
        registrar=registrar.id,
        registrar_login=registrar.username,
        officer=officer.id,
        county_registrar=county_registrar.id,
        child=child.id,
        guardian=guardian.id,
        mobile=guardian.mobile,
    )


def _look(user_id: int, child_id: int) -> None:
    read_student(db.session.get(User, user_id), child_id)
    db.session.commit()


def test_a_staff_view_appears_with_unit_role_and_reason_but_no_name(family, client):
    _look(family.registrar, family.child)
    sign_in(client, family.mobile)
    client.get(f"/children/{family.child}")  # the family's own visit
    client.set_cookie("lang", "en")
    page = client.get(f"/children/{family.child}/access-log")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert family.school in html and "School registrar" in html
    assert "Opened the record" in html and "Reason: Staff record page" in html
    assert STAFF_NAME not in html and family.registrar_login not in html
    assert "Guardian" not in html  # the family's own reads are not listed


def test_the_child_page_links_to_the_access_log(family, client):
    sign_in(client, family.mobile)
    page = client.get(f"/children/{family.child}").get_data(as_text=True)
    assert f"/children/{family.child}/access-log" in page


def test_newest_first_in_keyset_pages(family):
    for _ in range(5):
        _look(family.registrar, family.child)
    child = db.session.get(Student, family.child)
    first, cursor = access_log(child, limit=3)
    second, last_cursor = access_log(child, before=cursor, limit=3)
    ids = [entry.id for entry in first + second]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids) == 6  # 5 views + creation
    assert last_cursor is None


def test_another_family_cannot_read_the_log(family, client):
    stranger = make_guardian().mobile
    db.session.commit()
    sign_in(client, stranger)
    assert client.get(f"/children/{family.child}/access-log").status_code == 404
    assert client.get(f"/api/v1/me/children/{family.child}/access-log").status_code == 404


def test_the_api_lists_the_same_entries(family, client):
    _look(family.registrar, family.child)
    sign_in(client, family.mobile)
    body = client.get(f"/api/v1/me/children/{family.child}/access-log").get_json()
    assert body["entries"][0]["unit"] == family.school
    assert body["entries"][0]["role"] and STAFF_NAME not in str(body)
    assert body["next_before"] is None


def _messages_for(guardian_id: int) -> list[InboxMessage]:
    query = select(InboxMessage).where(InboxMessage.recipient_id == guardian_id)
    return list(db.session.scalars(query))


def test_a_unit_outside_the_school_and_county_sends_the_family_a_message(family, app, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHAIN_SETTLE_SECONDS", -3600)
    _look(family.registrar, family.child)
    _look(family.county_registrar, family.child)
    assert chain_settled_entries().chained > 0
    assert _messages_for(family.guardian) == []
    # The city office is above the county: outside the child's school and county.
    _look(family.officer, family.child)
    _look(family.officer, family.child)  # one message per unit in a batch, not per look
    chain_settled_entries()
    messages = _messages_for(family.guardian)
    assert len(messages) == 1
    assert messages[0].params["unit"] == family.city
    assert messages[0].url == f"/children/{family.child}/access-log"
    assert STAFF_NAME not in str(messages[0].params)


def test_entries_not_yet_settled_send_nothing_yet(family, app, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_CHAIN_SETTLE_SECONDS", 3600)
    _look(family.officer, family.child)
    chain_settled_entries()
    assert _messages_for(family.guardian) == []
