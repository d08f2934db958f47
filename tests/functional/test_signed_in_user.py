"""The session check's light view of the signed-in account: plain values read in one
statement, the ORM row only when something needs more, and every write on the row."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from portal import clock
from portal.accounts.models import Role, User, UserSession
from portal.accounts.sessions import SignedInUser, user_of_session, user_record
from portal.extensions import db
from tests.factories import make_guardian, make_staff, make_tree
from tests.functional.conftest import sign_in
from tests.functional.test_query_counts import count_queries


def _session_of(user_id: int) -> str:
    row = db.session.query(UserSession).filter_by(user_id=user_id, ended_at=None).one()
    user = db.session.get(User, user_id)
    return f"{user.id}:{user.session_token}:{row.key}"


@pytest.fixture
def signed_in_staff(app, client):
    tree = make_tree()
    staff = make_staff(Role.SCHOOL_REGISTRAR, tree.school, username="light.registrar")
    db.session.commit()
    staff_id, school_id = staff.id, tree.school.id
    sign_in(client, "light.registrar")
    session_id = _session_of(staff_id)
    db.session.expunge_all()
    return staff_id, school_id, session_id


def test_the_session_check_reads_plain_values_and_builds_no_entity(app, signed_in_staff):
    staff_id, school_id, session_id = signed_in_staff
    with app.test_request_context("/"):
        with count_queries() as statements:
            user = user_of_session(session_id)
            shown = (user.id, user.role_enum, user.is_staff, user.org_unit_id, user.display_name)
            assert user.is_authenticated and user.get_id() == session_id

        assert isinstance(user, SignedInUser)
        assert shown == (staff_id, Role.SCHOOL_REGISTRAR, True, school_id, "测试管理员")
        assert len(statements) == 1
        assert not [row for row in db.session.identity_map.values() if isinstance(row, User)]


def test_anything_else_loads_the_row_once_and_then_the_row_answers(app, signed_in_staff):
    staff_id, school_id, session_id = signed_in_staff
    with app.test_request_context("/"):
        user = user_of_session(session_id)
        with count_queries() as statements:
            assert user.username == "light.registrar"  # not read by the session check
            assert user.org_unit.id == school_id  # a relationship
            assert user.mobile is None
        assert len(statements) == 1  # the user's row (its unit joined), once
        assert user_record(user) is db.session.get(User, staff_id)

        user.end_all_sessions()  # a method of the row, changing a column the check read
        assert user.session_token == user_record(user).session_token
        assert user.get_id() != session_id


def test_a_write_goes_to_the_row_and_commits_with_the_request(app, signed_in_staff):
    staff_id, _school_id, session_id = signed_in_staff
    with app.test_request_context("/", method="POST"):
        user = user_of_session(session_id)
        user.display_name = "新名字"
        assert user.display_name == "新名字"
        db.session.commit()
    db.session.expunge_all()
    assert db.session.get(User, staff_id).display_name == "新名字"


def test_private_names_are_not_the_rows_so_it_never_passes_for_an_orm_row(app, signed_in_staff):
    _staff_id, _school_id, session_id = signed_in_staff
    with app.test_request_context("/"):
        user = user_of_session(session_id)
        with count_queries() as statements, pytest.raises(AttributeError):
            user._sa_instance_state  # noqa: B018
        assert statements == []


def test_it_equals_the_row_of_the_same_account(app, signed_in_staff):
    staff_id, _school_id, session_id = signed_in_staff
    with app.test_request_context("/"):
        user = user_of_session(session_id)
        other = make_guardian()
        assert user == db.session.get(User, staff_id)
        assert user != other
        assert len({user, user_of_session(session_id)}) == 1


def test_an_ended_session_or_a_changed_token_finds_no_one(app, signed_in_staff):
    staff_id, _school_id, session_id = signed_in_staff
    user_id, token, key = session_id.split(":")
    with app.test_request_context("/"):
        assert user_of_session(f"{user_id}:{'0' * 32}:{key}") is None
        assert user_of_session(f"{int(user_id) + 1}:{token}:{key}") is None
        db.session.execute(update(UserSession).where(UserSession.key == key).values(ended_at=clock.now()))
        assert user_of_session(session_id) is None


def test_last_seen_is_stamped_at_most_hourly_without_loading_the_row(app, signed_in_staff):
    staff_id, _school_id, session_id = signed_in_staff
    two_hours_ago = clock.now() - timedelta(hours=2)
    db.session.execute(update(User).where(User.id == staff_id).values(last_seen_at=two_hours_ago))
    db.session.execute(
        update(UserSession).where(UserSession.user_id == staff_id).values(last_seen_at=two_hours_ago)
    )
    db.session.commit()
    with app.test_request_context("/"):
        with count_queries() as statements:
            user_of_session(session_id)
            db.session.commit()
        updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
        assert len(updates) == 2  # the session row, the account: no entity, no flush
        with count_queries() as again:
            user_of_session(session_id)
        assert [s for s in again if s.lstrip().upper().startswith("UPDATE")] == []
    db.session.expunge_all()
    assert clock.now() - clock.aware(db.session.get(User, staff_id).last_seen_at) < timedelta(minutes=1)
