"""Two conflicting requests about one student submitted at the same moment: one is opened."""

from __future__ import annotations

import threading

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from portal import clock, create_app
from portal.approvals import engine
from portal.approvals.models import Case
from portal.config import config_for_tests
from portal.errors import DomainError
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from tests.conftest import fresh_database_url
from tests.factories import make_guardian, make_student, make_tree


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    app = create_app(config_for_tests(fresh_database_url(tmp_path_factory, "door")))
    with app.app_context():
        upgrade()
        tree = make_tree()
        guardian = make_guardian()
        child = make_student(tree.school)
        db.session.add(GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.FATHER))
        db.session.commit()
        ids = {"guardian": guardian.id, "child": child.id}
    yield app, ids
    with app.app_context():
        db.engine.dispose()


def test_two_conflicting_requests_at_once_open_one_case(family):
    from portal.accounts.models import User
    from portal.registry.models import Student

    app, ids = family
    return_on = clock.today().replace(year=clock.today().year + 1, day=1).isoformat()
    requests = [
        ("suspension", {"reason": "因病", "evidence": [], "return_on": return_on}),
        ("abroad", {"reason": "随父母出国", "evidence": ["passport-1"]}),
    ]
    barrier = threading.Barrier(len(requests))
    outcomes: list[str] = []

    def submit(kind: str, payload: dict) -> None:
        with app.app_context():
            student = db.session.get(Student, ids["child"])
            guardian = db.session.get(User, ids["guardian"])
            db.session.commit()
            barrier.wait()
            try:
                engine.open_case(kind, student, guardian, payload)
                db.session.commit()
                outcomes.append("opened")
            except DomainError as error:
                db.session.rollback()
                outcomes.append(error.code)

    threads = [threading.Thread(target=submit, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["case.conflicting_open_case", "opened"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 1
