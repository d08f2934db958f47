"""The approval queue answers with the same few queries however long the queue is."""

from datetime import timedelta

from portal import clock
from portal.accounts.models import Role
from portal.approvals import engine
from portal.extensions import db
from tests.factories import make_staff, make_student, make_tree
from tests.functional.conftest import sign_in
from tests.functional.test_query_counts import count_queries

# user (with the unread count), the page of steps (case and student joined), the counts per
# kind and state.
QUEUE_QUERIES = 3


def _queue_of(size: int, login: str):
    tree = make_tree()
    clerk = make_staff(Role.SCHOOL_REGISTRAR, tree.school)
    make_staff(Role.SCHOOL_REGISTRAR, tree.school, login)
    return_on = (clock.today() + timedelta(days=60)).isoformat()
    for number in range(size):
        student = make_student(tree.school, grade=1 + number % 6)
        engine.open_case("suspension", student, clerk, {"reason": "病", "return_on": return_on})
    db.session.commit()


def test_the_queue_page_costs_the_same_for_3_or_30_requests(app, client):
    measured = []
    for size, login in ((3, "queue.small"), (30, "queue.large")):
        _queue_of(size, login)
        sign_in(client, login)
        client.get("/staff/queue")  # a worker's first page warms per-minute caches
        with count_queries() as statements:
            page = client.get("/staff/queue")
        assert page.status_code == 200
        assert page.get_data(as_text=True).count("/staff/queue/steps/") == min(size, 25)
        measured.append(len(statements))
        client.post("/sign-out", data={"csrf_token": _token(client)})
    assert measured == [QUEUE_QUERIES, QUEUE_QUERIES], measured


def _token(client):
    from tests.functional.conftest import csrf_token

    return csrf_token(client, "/staff/queue")
