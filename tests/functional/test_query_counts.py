"""The hot pages answer with a bounded number of queries, however much data there is."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from portal.accounts.models import Role
from portal.approvals import engine
from portal.approvals.kinds import register, unregister
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from tests.factories import SchoolThenCountyKind, make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import sign_in

# Measured, then pinned: the signed-in user (with the header's unread-messages COUNT in the
# same statement), the page's own queries, the audit insert (staff).
GUARDIAN_HOME_QUERIES = 2
CHILD_PAGE_QUERIES = 7  # user and unread, student, cases, steps, history, calendar days, calendar years
# user and unread, students, audit insert; a worker's first search of a unit in a minute adds
# one for the unit's school ids (portal.orgs.service.school_ids_under).
STAFF_SEARCH_QUERIES = 3


@contextmanager
def count_queries():
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement)

    engine_ = db.session.get_bind()
    target = engine_.engine if hasattr(engine_, "engine") else engine_
    event.listen(target, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(target, "before_cursor_execute", record)


@pytest.fixture
def family_of(app):
    """A guardian with `n` linked children, each with an open two-step case."""
    register(SchoolThenCountyKind())
    tree = make_tree()
    registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school, "count.registrar")

    def build(n: int, mobile: str):
        guardian = make_guardian(mobile)
        guardian_id = guardian.id
        for _ in range(n):
            child = make_student(tree.school, registrar)
            db.session.add(
                GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.FATHER)
            )
            engine.open_case(SchoolThenCountyKind.name, child, registrar)
        db.session.commit()
        return guardian_id, mobile

    yield build
    unregister(SchoolThenCountyKind.name)


def _queries_for(client, path: str) -> int:
    with count_queries() as statements:
        assert client.get(path).status_code == 200
    return len(statements)


def test_guardian_home_does_not_grow_with_children(app, family_of):
    one, four = family_of(1, "13500000001"), family_of(4, "13500000004")
    counts = []
    for _, mobile in (one, four):
        client = app.test_client()
        sign_in(client, mobile)
        counts.append(_queries_for(client, "/children/"))
    assert counts == [GUARDIAN_HOME_QUERIES, GUARDIAN_HOME_QUERIES]


def test_child_page_does_not_grow_with_steps(app, family_of):
    guardian_id, mobile = family_of(2, "13500000002")
    client = app.test_client()
    sign_in(client, mobile)
    child_ids = db.session.scalars(
        select(GuardianLink.student_id).where(GuardianLink.guardian_id == guardian_id)
    ).all()
    assert _queries_for(client, f"/children/{child_ids[0]}") == CHILD_PAGE_QUERIES


def test_staff_search_does_not_grow_with_results(app, family_of):
    family_of(25, "13500000025")
    client = app.test_client()
    sign_in(client, "count.registrar")
    assert _queries_for(client, "/staff/students") == STAFF_SEARCH_QUERIES + 1  # the ids, cached
    assert _queries_for(client, "/staff/students") == STAFF_SEARCH_QUERIES
    assert _queries_for(client, "/staff/students?q=李") == STAFF_SEARCH_QUERIES
