"""The progress page answers with a bounded number of queries, however far the route went."""

from __future__ import annotations

from portal.accounts.models import Role, User
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.provinces.rules import forget_shown_calendars
from portal.transfers import service
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import sign_in
from tests.functional.test_query_counts import count_queries

# user (with the unread count); the case with its steps, their units and deciders, if the
# guardian is linked to the child (one statement); the calendar's days and published years of
# the province of the step that counts its days left. Measured, pinned.
PROGRESS_PAGE_QUERIES = 4
# Once every party has decided no step counts days: no calendar is read. Nor is it while the
# worker keeps the province's calendar (a minute: portal/provinces/rules.py shown_calendar).
CLOSED_PROGRESS_PAGE_QUERIES = WARM_PROGRESS_PAGE_QUERIES = 2


def test_progress_page_queries_do_not_grow_with_decisions(app):
    tree = make_tree()
    guardian = make_guardian("13500007001")
    deciders = [
        make_staff(Role.SCHOOL_REGISTRAR, tree.other_school),
        make_staff(Role.COUNTY_REGISTRAR, tree.other_county),
        make_staff(Role.SCHOOL_REGISTRAR, tree.school),
        make_staff(Role.COUNTY_REGISTRAR, tree.county),
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
    for decided in range(5):
        if decided:
            decider = db.session.get(User, decider_ids[decided - 1])
            service.decide(step_ids[decided - 1], decider, approve=True, class_name="1班")
            db.session.commit()
        forget_shown_calendars()  # each view reads the calendar, if it needs one
        with count_queries() as statements:
            assert client.get(f"/transfers/{case_id}").status_code == 200
        counts.append(len(statements))
        with count_queries() as warm:
            assert client.get(f"/transfers/{case_id}").status_code == 200
        assert len(warm) == WARM_PROGRESS_PAGE_QUERIES
    assert counts == [PROGRESS_PAGE_QUERIES] * 4 + [CLOSED_PROGRESS_PAGE_QUERIES], counts


def test_the_one_statement_still_refuses_whoever_is_not_linked_now(app):
    """The link check rides in the case's statement: a revoked link, staff, or a case that is
    not a transfer answer 404, as the separate check did."""
    from datetime import timedelta

    from portal import clock
    from portal.approvals import engine

    tree = make_tree()
    guardian = make_guardian("13500007002")
    make_staff(Role.SCHOOL_REGISTRAR, tree.other_school, "progress.staff")
    child = make_student(tree.school, grade=2)
    link = GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.MOTHER)
    db.session.add(link)
    case = service.apply_for_transfer(
        child, guardian, to_school_id=tree.other_school.id, reason="family_moved"
    )
    other = make_student(tree.school, grade=3)
    db.session.add(GuardianLink(guardian_id=guardian.id, student_id=other.id, relation=Relation.MOTHER))
    suspension = engine.open_case(
        "suspension",
        other,
        guardian,
        {"reason": "病", "return_on": (clock.today() + timedelta(days=90)).isoformat()},
    )
    db.session.commit()
    case_id, suspension_id, link_id = case.id, suspension.id, link.id
    family, staff = app.test_client(), app.test_client()
    sign_in(family, "13500007002")
    sign_in(staff, "progress.staff")
    assert family.get(f"/transfers/{case_id}").status_code == 200
    assert family.get(f"/transfers/{suspension_id}").status_code == 404
    assert staff.get(f"/transfers/{case_id}").status_code in (403, 404)
    db.session.get(GuardianLink, link_id).revoked_at = clock.now()
    db.session.commit()
    assert family.get(f"/transfers/{case_id}").status_code == 404
