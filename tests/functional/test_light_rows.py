"""The result pages read light rows: the same rows, order, cursors and audit as the services
the API uses, and each row shows its own labels and dates (computed once per page)."""

from __future__ import annotations

import re
from datetime import timedelta

from babel.dates import format_date
from sqlalchemy import select

from portal import clock
from portal.accounts.models import Role, User
from portal.approvals import engine
from portal.approvals.models import Step, StepState
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.registry.service import search_student_rows, search_students
from portal.requests import service
from portal.requests.service import QueueFilter
from tests.factories import make_staff, make_student, make_tree
from tests.functional.conftest import sign_in


def _queue_world():
    """Nine suspension requests at one school: spread deadlines, one unknown, two overdue,
    one returned to the family."""
    tree = make_tree()
    clerk = make_staff(Role.SCHOOL_REGISTRAR, tree.school)
    registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school, "rows.registrar")
    return_on = (clock.today() + timedelta(days=90)).isoformat()
    steps = []
    for number in range(9):
        student = make_student(tree.school, grade=1 + number % 6)
        case = engine.open_case("suspension", student, clerk, {"reason": "病", "return_on": return_on})
        steps.append(case.steps[0])
    today = clock.today()
    for number, step in enumerate(steps):
        step.due_on = today + timedelta(days=number % 4)
    steps[3].due_on = None
    steps[5].overdue_since = steps[6].overdue_since = today
    steps[8].state = StepState.RETURNED
    db.session.commit()
    return registrar.id, [s.id for s in steps]


def _in_queue(user, show):
    state = StepState.RETURNED if show == QueueFilter.RETURNED else StepState.PENDING
    statement = select(Step).where(Step.org_unit_id == user.org_unit_id, Step.state == state)
    if show == QueueFilter.OVERDUE:
        statement = statement.where(Step.overdue_since.is_not(None))
    return statement


def _walk(read, user, **filters):
    page = read(user, per_page=2, **filters)
    pages = [page]
    while page.next_cursor:
        page = read(user, per_page=2, after=page.next_cursor, **filters)
        pages.append(page)
    return pages


def test_queue_rows_are_the_queue_pages_steps(app):
    registrar_id, _ = _queue_world()
    with app.test_request_context():
        user = db.session.get(User, registrar_id)
        for show in QueueFilter.ALL:
            full, light = (
                _walk(service.queue_page, user, show=show),
                _walk(service.queue_rows, user, show=show),
            )
            assert [p.next_cursor for p in light] == [p.next_cursor for p in full]
            assert [(p.counts, p.overdue, p.returned) for p in light] == [
                (p.counts, p.overdue, p.returned) for p in full
            ]
            steps = [s for p in full for s in p.steps]
            rows = [r for p in light for r in p.steps]
            assert rows, show
            # Every step once, soonest due first, unknown deadlines last, ties by id.
            expected = db.session.scalars(_in_queue(user, show)).all()
            expected.sort(key=lambda s: (s.due_on is None, s.due_on or clock.today(), s.id))
            assert [r.id for r in rows] == [s.id for s in expected]
            assert [
                (
                    r.id,
                    r.role,
                    r.state,
                    r.due_on,
                    r.overdue_since,
                    r.kind,
                    r.reference,
                    r.student_name,
                    r.grade,
                )
                for r in rows
            ] == [
                (
                    s.id,
                    s.role,
                    s.state,
                    s.due_on,
                    s.overdue_since,
                    s.case.kind,
                    s.case.reference,
                    s.case.student.name,
                    s.case.student.grade,
                )
                for s in steps
            ]


def _cards(html: str) -> dict[int, str]:
    """Each card of the queue page by the id of the step it links to."""
    cards = re.findall(r'<li class="card[^"]*">(.*?)</li>', html, re.S)
    return {int(re.search(r"/staff/queue/steps/(\d+)", card).group(1)): card for card in cards}


def test_each_queue_card_shows_its_own_deadline_and_labels(app, client):
    _, step_ids = _queue_world()
    client.set_cookie("lang", "en")
    sign_in(client, "rows.registrar")
    cards = _cards(client.get("/staff/queue").get_data(as_text=True))
    cards.update(_cards(client.get("/staff/queue?show=returned").get_data(as_text=True)))
    assert set(cards) == set(step_ids)
    for step_id in step_ids:
        step = db.session.get(Step, step_id)
        card = cards[step_id]
        assert step.case.reference in card and step.case.student.name in card
        assert "Suspension of studies" in card and f"Grade {step.case.student.grade}<" in card
        if step.state == StepState.RETURNED:
            assert "badge-step-returned" in card and "Due by" not in card
        elif step.due_on is None:
            assert "Deadline not yet known" in card
        else:
            assert f"Due by {format_date(step.due_on, 'medium', locale='en')}." in card
        assert ("badge-overdue" in card) == (step.overdue_since is not None)


def test_search_rows_are_the_searchs_students_and_each_page_is_audited(app):
    tree = make_tree()
    registrar = make_staff(Role.COUNTY_REGISTRAR, tree.county)
    for number in range(5):
        if number % 2:
            make_student(tree.school, name=f"王{number}", grade=3)
        else:
            make_student(tree.senior_school, name=f"王{number}", grade=10)
    make_student(tree.other_school, name="王外")  # another county: never shown
    db.session.commit()
    with app.test_request_context():
        full = search_students(registrar, "王", per_page=2)
        light = search_student_rows(registrar, "王", per_page=2)
        pages = [(full, light)]
        while full.has_next:
            full = search_students(registrar, "王", per_page=2, after=full.next_cursor)
            light = search_student_rows(registrar, "王", per_page=2, after=light.next_cursor)
            pages.append((full, light))
        back = search_student_rows(registrar, "王", per_page=2, before=light.students[0].id)
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.tag == "student:searched")).all()
    assert len(pages) == 3
    for full, light in pages:
        assert (light.has_next, light.has_previous) == (full.has_next, full.has_previous)
        assert [
            (r.id, r.name, r.student_number, r.school_name, r.grade, r.class_name, r.status, r.needs_review)
            for r in light.students
        ] == [
            (s.id, s.name, s.student_number, s.school.name, s.grade, s.class_name, s.status, s.needs_review)
            for s in full.students
        ]
    assert [r.id for r in back.students] == [s.id for s in pages[-2][1].students]
    # Every page read, light or not, is in the audit trail with the ids it showed.
    shown = [e.data["shown"] for e in events]
    assert shown.count([s.id for s in pages[0][1].students]) == 2
    assert [r.id for r in back.students] in shown
    assert len(events) == 2 * len(pages) + 1


def test_each_search_row_shows_its_own_status_badge(app, client):
    from portal.registry.models import Student
    from portal.registry.status import Status

    tree = make_tree()
    make_staff(Role.SCHOOL_REGISTRAR, tree.school, "rows.search")
    students = [make_student(tree.school, name=f"王{n}", grade=2) for n in range(4)]
    students[1].status = Status.SUSPENDED
    students[2].status = Status.TRANSFERRING
    db.session.commit()
    ids = [s.id for s in students]
    client.set_cookie("lang", "en")
    sign_in(client, "rows.search")
    html = client.get("/staff/students?q=王").get_data(as_text=True)
    rows = {
        int(re.search(r"/staff/students/(\d+)", row).group(1)): row
        for row in re.findall(r"<tr>(.*?)</tr>", html, re.S)
        if "/staff/students/" in row
    }
    assert set(rows) == set(ids)
    for student_id in ids:
        status = db.session.get(Student, student_id).status_enum
        assert re.findall(r'class="badge badge-([a-z_]+)"', rows[student_id]) == [status.value]
    assert "Transfer in progress" in rows[ids[2]] and "Suspended" in rows[ids[1]]
