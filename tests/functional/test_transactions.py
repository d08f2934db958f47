"""What a request sends the database around its own statements, and what survives it.

A page that only reads sends no BEGIN and no COMMIT; a page that writes commits once;
an audit event of a page that was shown is in the database, also if the worker dies
right after; a connection the database dropped is replaced without an error page.

These tests commit for real, in a database of their own (the savepoint-per-test fixture
holds every request inside one outer transaction).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, func, select, text, update

from portal import clock, create_app
from portal.accounts.models import Role, User
from portal.audit.models import AuditEvent
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.config import config_for_tests
from portal.database import _in_transaction
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.registry.models import Student
from tests.conftest import fresh_database_url
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import post_form, sign_in

MOBILE = "13600000077"


@pytest.fixture(scope="module")
def committed(tmp_path_factory):
    url = fresh_database_url(tmp_path_factory, "transactions")
    app = create_app(config_for_tests(url))
    with app.app_context():
        upgrade()
        tree = make_tree()
        registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school, "tx.registrar")
        guardian = make_guardian(MOBILE)
        student = make_student(tree.school, registrar)
        db.session.add(GuardianLink(guardian_id=guardian.id, student_id=student.id, relation=Relation.MOTHER))
        db.session.commit()
        ids = {"student": student.id, "guardian": guardian.id}
    yield app, url, ids
    with app.app_context():
        db.engine.dispose()


@contextmanager
def wire(app):
    """What reaches the database: COMMITs, and whether a transaction was open after each statement."""
    seen = {"commits": 0, "in_transaction": [], "statements": []}

    def on_commit(_connection):
        seen["commits"] += 1

    def after(connection, _cursor, statement, *_args):
        seen["statements"].append(statement)
        seen["in_transaction"].append(_in_transaction(connection.connection.dbapi_connection))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "commit", on_commit)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "after_cursor_execute", after)


def _events(url: str, tag: str, student_id: int) -> int:
    """Counted on a connection of its own: only committed rows are seen."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.tag == tag, AuditEvent.student_id == student_id)
            )
    finally:
        engine.dispose()


def _signed_in(app, login: str):
    client = app.test_client()
    sign_in(client, login)
    assert client.get("/").status_code in (200, 302)  # the day's "last seen" stamp is written here
    return client


def test_a_page_that_only_reads_sends_no_begin_and_no_commit(committed):
    app, _url, ids = committed
    client = _signed_in(app, MOBILE)
    with wire(app) as seen:
        assert client.get("/children/").status_code == 200
        assert client.get(f"/children/{ids['student']}").status_code == 200
    assert seen["statements"], "the pages read nothing?"
    assert seen["commits"] == 0
    assert not any(seen["in_transaction"]), "a BEGIN went out"


def test_an_audited_search_commits_its_event_without_a_transaction(committed):
    app, url, ids = committed
    client = _signed_in(app, "tx.registrar")
    before = _events(url, "student:viewed", ids["student"])
    with wire(app) as seen:
        assert client.get(f"/staff/students/{ids['student']}").status_code == 200
    assert seen["commits"] == 0
    assert not any(seen["in_transaction"])
    assert any(s.lstrip().startswith("INSERT INTO audit_events") for s in seen["statements"])
    assert _events(url, "student:viewed", ids["student"]) == before + 1


def test_a_get_that_writes_commits_once(committed):
    app, url, ids = committed
    client = _signed_in(app, MOBILE)
    with app.app_context():
        yesterday = clock.now() - timedelta(days=2)
        db.session.execute(update(User).where(User.id == ids["guardian"]).values(last_seen_at=yesterday))
        db.session.commit()
    with wire(app) as seen:
        assert client.get("/children/").status_code == 200
    assert seen["commits"] == 1
    with app.app_context():
        seen_at = db.session.scalar(select(User.last_seen_at).where(User.id == ids["guardian"]))
        assert clock.aware(seen_at) > clock.aware(yesterday)


def test_a_posted_change_commits_its_event_with_it(committed):
    app, url, ids = committed
    client = _signed_in(app, "tx.registrar")
    page = f"/staff/students/{ids['student']}"
    before = _events(url, "student:document_revealed", ids["student"])
    with wire(app) as seen:
        assert post_form(client, f"{page}/reveal", {}, form_page=page).status_code == 200
    assert seen["commits"] >= 1
    assert _events(url, "student:document_revealed", ids["student"]) == before + 1


def test_an_event_of_a_read_survives_the_worker_dying_right_after(committed):
    """The worker dies (its connection closes, nothing commits) just after the event is written."""
    app, url, ids = committed
    before = _events(url, "student:viewed", ids["student"])
    with app.test_request_context(f"/staff/students/{ids['student']}", method="GET"):
        record_event(AuditTag.STUDENT_VIEWED, student=db.session.get_one(Student, ids["student"]))
        db.session.connection().connection.dbapi_connection.close()  # no COMMIT, no ROLLBACK
        db.session.connection().invalidate()
    assert _events(url, "student:viewed", ids["student"]) == before + 1


def test_the_same_kill_loses_an_uncommitted_write(committed):
    """The check above can fail: inside a transaction the same kill loses the event."""
    app, url, ids = committed
    before = _events(url, "student:viewed", ids["student"])
    with app.test_request_context(f"/staff/students/{ids['student']}", method="POST"):
        record_event(AuditTag.STUDENT_VIEWED, student=db.session.get_one(Student, ids["student"]))
        db.session.connection().connection.dbapi_connection.close()
        db.session.connection().invalidate()
    assert _events(url, "student:viewed", ids["student"]) == before


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="SQLite has no server to drop us")
def test_a_connection_the_database_dropped_is_replaced_without_an_error(committed):
    app, url, _ids = committed
    client = _signed_in(app, MOBILE)
    assert client.get("/children/").status_code == 200  # the pool now holds a connection
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            ended = connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        admin.dispose()
    assert ended >= 1
    assert client.get("/children/").status_code == 200
    assert client.get("/children/").status_code == 200


def _driver_in_transaction() -> bool:
    return _in_transaction(db.session.connection().connection.dbapi_connection)


def test_a_read_only_request_begins_before_a_lock_or_a_savepoint(committed):
    """SELECT … FOR UPDATE holds its lock to the COMMIT, and a SAVEPOINT needs a transaction."""
    app, _url, ids = committed
    with app.test_request_context("/children/", method="GET"):
        db.session.execute(select(User.id).where(User.id == ids["guardian"]))
        assert not _driver_in_transaction()
        db.session.execute(select(User.id).where(User.id == ids["guardian"]).with_for_update())
        assert _driver_in_transaction()
        db.session.rollback()
    with app.test_request_context("/children/", method="GET"):
        with db.session.begin_nested():
            db.session.execute(select(User.id))
        assert _driver_in_transaction()
        db.session.rollback()


def test_outside_a_request_every_session_begins_at_once(committed):
    app, _url, _ids = committed
    with app.app_context():
        db.session.execute(select(User.id))
        assert _driver_in_transaction()
        db.session.rollback()
