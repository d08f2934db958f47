"""The progress page answers with a bounded number of queries, however far the route went."""

from __future__ import annotations

from portal.accounts.models import Role, User
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.transfers import service
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import sign_in
from tests.functional.test_query_counts import count_queries

# user (with the unread count), case, steps (their units and deciders joined), the guardian
# link, the calendar's days and published years (per province on the route). Measured, pinned.
PROGRESS_PAGE_QUERIES = 6


def test_progress_page_queries_do_not_grow_with_decisions(app):
    tree = make_tree()
    guardian = make_guardian("13500007001")
    deciders = [
        make_staff(Role.SCHOOL_REGISTRAR, tree.other_school),
        make_staff(Role.COUNTY_REGISTRAR, tree.other_county),
        make_staff(Role.SCHOOL_REGISTRAR, tree.school),
    ]
    child = make_student(tree.school, grade=2)
    db.session.add(GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.FATHER))
    case = service.apply_for_transfer(
        child, guardian, to_school_id=tree.other_school.id, reason="family_moved"
    )
    db.session.commit()
    case_id, step_ids = case.id, [s.id for s in case.steps]
    decider_ids = [d.id for d in deciders]
    client = app.test_client()
    sign_in(client, "13500007001")
    counts = []
    for decided in range(4):
        if decided:
            decider = db.session.get(User, decider_ids[decided - 1])
            service.decide(step_ids[decided - 1], decider, approve=True, class_name="1班")
            db.session.commit()
        with count_queries() as statements:
            assert client.get(f"/transfers/{case_id}").status_code == 200
        counts.append(len(statements))
    assert counts == [PROGRESS_PAGE_QUERIES] * 4, counts
