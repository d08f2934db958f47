"""The guardian home reads plain rows; the header's links are worked out once per role and
language; the session's "last seen" stamp is one UPDATE."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from flask_babel import refresh
from sqlalchemy import select, update

from portal import clock
from portal.accounts.models import Role, UserSession
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.guardians.overview import ChildCard, child_cards
from portal.registry.models import Student
from portal.web import nav_links
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import sign_in


def _link(guardian, student, **fields) -> None:
    db.session.add(
        GuardianLink(guardian_id=guardian.id, student_id=student.id, relation=Relation.MOTHER, **fields)
    )


def test_child_cards_are_plain_rows_of_the_live_links_oldest_first(app):
    tree = make_tree()
    registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school)
    guardian = make_guardian()
    first, second, revoked = (make_student(tree.school, registrar) for _ in range(3))
    _link(guardian, first, created_at=clock.now() - timedelta(days=2))
    _link(guardian, second, created_at=clock.now() - timedelta(days=1))
    _link(guardian, revoked, revoked_at=clock.now())
    db.session.commit()
    expected = [first.id, second.id]
    shown = (tree.school.name, first.grade_label, first.status_enum.label)
    guardian_id = guardian.id
    db.session.expunge_all()

    cards = child_cards(SimpleNamespace(id=guardian_id))

    assert [card.id for card in cards] == expected
    assert all(isinstance(card, ChildCard) for card in cards)
    assert (cards[0].school_name, cards[0].grade_label, cards[0].status_enum.label) == shown
    assert not [entity for entity in db.session.identity_map.values() if isinstance(entity, Student)]


def test_the_home_shows_each_childs_card(app, client):
    tree = make_tree()
    registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school)
    guardian = make_guardian("13600000077")
    child = make_student(tree.school, registrar)
    _link(guardian, child)
    db.session.commit()
    shown = (child.name, tree.school.name, child.grade_label, f'href="/children/{child.id}"')
    sign_in(client, "13600000077")

    page = client.get("/children/").get_data(as_text=True)

    assert all(part in page for part in shown)


def test_header_links_follow_the_role_and_the_language(app):
    tree = make_tree()
    school = make_staff(Role.SCHOOL_REGISTRAR, tree.school)
    county = make_staff(Role.COUNTY_REGISTRAR, tree.county)
    guardian = make_guardian()

    def links(user, language: str):
        with app.test_request_context("/", headers={"Cookie": f"lang={language}"}):
            refresh()  # the test's app context outlives the request: forget its locale
            return nav_links(user)

    assert links(guardian, "zh_Hans") == [("/children/", "我的孩子")]
    assert links(guardian, "en") == [("/children/", "My children")]
    county_links = dict(links(county, "en"))
    assert county_links["/staff/students"] == "Students"
    assert len(county_links) > len(links(school, "en"))  # the county sees more than a school
    assert "/children/" not in county_links
    assert dict(links(county, "zh_Hans"))["/staff/students"] == "学生"


def test_a_session_seen_long_ago_is_stamped_by_a_page_that_only_reads(app, client):
    guardian_id = make_guardian("13600000078").id
    db.session.commit()
    sign_in(client, "13600000078")
    long_ago = clock.now() - timedelta(hours=3)
    db.session.execute(
        update(UserSession).where(UserSession.user_id == guardian_id).values(last_seen_at=long_ago)
    )
    db.session.commit()

    assert client.get("/children/").status_code == 200

    seen = db.session.scalar(select(UserSession.last_seen_at).where(UserSession.user_id == guardian_id))
    assert clock.now() - clock.aware(seen) < timedelta(minutes=1)
