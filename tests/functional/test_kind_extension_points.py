"""A kind of another package meets the generic request pages through its declared attributes."""

import pytest
from jinja2 import ChoiceLoader, DictLoader

from portal.accounts.models import Role, User
from portal.approvals import engine
from portal.approvals.kinds import RequestKind, RouteStep, get_kind, register, unregister
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.registry.models import Student
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import csrf_token, sign_in


class SampleKind(RequestKind):
    name = "sample_extension"
    label = "Sample"
    conflicts = frozenset({"sample_extension"})
    family_can_start = True
    start_endpoint = "inbox.index"  # any page of its own; the child page links to it
    review_template = "sample/review.html"
    decide_endpoint = "inbox.read_all"
    summary_template = "sample/summary.html"
    progress_endpoint = "requests.submitted"

    def route(self, case):
        return [RouteStep("school", case.student.school)]


@pytest.fixture
def sample(app):
    register(SampleKind())
    original = app.jinja_env.loader
    app.jinja_env.loader = ChoiceLoader(
        [
            DictLoader(
                {
                    "sample/review.html": "<p id=review>{{ case.payload.wanted }} {{ student.id }}</p>",
                    "sample/summary.html": "<p id=sample-summary>{{ case.payload.wanted }}</p>",
                }
            ),
            original,
        ]
    )
    app.jinja_env.cache.clear()
    yield
    app.jinja_env.loader = original
    app.jinja_env.cache.clear()
    unregister(SampleKind.name)


def test_pages_use_the_kinds_partials_and_endpoints(app, client, sample):
    tree = make_tree()
    guardian = make_guardian("13912340301")
    guardian_id = guardian.id
    make_staff(Role.SCHOOL_REGISTRAR, tree.school, "school.sample")
    child = make_student(tree.school)
    db.session.add(GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.MOTHER))
    db.session.commit()
    child_id = child.id
    sign_in(client, "13912340301")
    page = client.get(f"/children/{child_id}").get_data(as_text=True)
    assert f"/inbox/?student_id={child_id}&amp;kind=sample_extension" in page  # its own start page
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/inbox/")})

    student, parent = db.session.get(Student, child_id), db.session.get(User, guardian_id)
    case = engine.open_case(SampleKind.name, student, parent, {"wanted": "新值"})
    db.session.commit()
    case_id, step_id = case.id, case.steps[0].id
    sign_in(client, "13912340301")
    assert client.get(f"/requests/{case_id}").headers["Location"].endswith(f"/requests/{case_id}/submitted")
    child_page = client.get(f"/children/{child_id}").get_data(as_text=True)
    assert f"/requests/{case_id}/submitted" in child_page  # the family list links to its progress page
    get_kind(SampleKind.name).progress_endpoint = None  # without one: the generic page, with its summary
    assert "<p id=sample-summary>新值</p>" in client.get(f"/requests/{case_id}").get_data(as_text=True)
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/inbox/")})
    sign_in(client, "school.sample")
    step_page = client.get(f"/staff/queue/steps/{step_id}").get_data(as_text=True)
    assert f"<p id=review>新值 {child_id}</p>" in step_page
    assert f'action="/inbox/read-all?step_id={step_id}"' in step_page
