"""The OpenAPI document and the answers agree: schemathesis, bounded, against the app in-process."""

from __future__ import annotations

import pytest
import schemathesis
from flask.globals import _cv_app
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from portal.accounts.models import Role
from portal.extensions import db
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import sign_in

MAX_EXAMPLES = 15


class OwnContextPerRequest:
    """Each call gets its own app context, as in production (see tests/conftest.py)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        outer = _cv_app.get(None)
        if outer is not None:
            outer.pop()
        try:
            return list(self.app(environ, start_response))
        finally:
            if outer is not None:
                outer.push()


@pytest.fixture
def people(app, client):
    tree = make_tree()
    registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school, "contract.school")
    guardian = make_guardian("13922221111")
    make_student(tree.school, registrar)
    db.session.commit()
    cookies = {}
    for login in ("contract.school", "13922221111"):
        visitor = app.test_client()
        sign_in(visitor, login)
        cookies[login] = visitor.get_cookie("session").value
    del guardian
    return cookies


def _run(app, cookie: str | None, mode) -> list[str]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", OwnContextPerRequest(app))
    # The document says strings never hold U+0000 (refused with 400 request.nul_character,
    # tests/functional/test_rough_edges.py): valid input generated here holds none either.
    schema.config.generation.update(allow_x00=False)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case):
            headers = {"Cookie": f"session={cookie}"} if cookie else {}
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.method, case.formatted_path, response.status_code)
            case.validate_response(response)

        try:
            check()
        except Unsatisfiable:
            continue  # negative mode: an operation without parameters has no invalid input
        except Exception as error:  # collect every operation's first failure, then report
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    return failures


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("who", [None, "contract.school", "13922221111"])
def test_every_api_answer_matches_the_openapi_document(app, people, who, mode):
    """Valid input and invalid input (negative mode), signed out, as staff, as a guardian."""
    failures = _run(app, people[who] if who else None, mode)
    assert failures == []


@pytest.mark.parametrize(
    "query", ["cursor=", "cursor=1&cursor=2", "cursor=0", "cursor=1000000000", "cursor=x"]
)
def test_an_empty_repeated_or_out_of_range_cursor_is_refused(client, people, query):
    client.set_cookie("session", people["contract.school"])
    response = client.get(f"/api/v1/students?{query}")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


def test_the_document_declares_page_limits_zoned_times_and_common_answers(client):
    document = client.get("/api/v1/openapi.json").get_json()
    cursor = next(p for p in document["paths"]["/students"]["get"]["parameters"] if p["name"] == "cursor")
    assert cursor["schema"] == {"type": "string", "pattern": "^[1-9][0-9]{0,8}$"}
    for path in document["paths"].values():
        for operation in path.values():
            assert {"401", "403", "405", "413", "414"} <= set(map(str, operation["responses"]))
            assert "Allow" in operation["responses"]["405"]["headers"]


def test_date_times_carry_their_time_zone(app):
    from datetime import datetime

    from api.schemas import AwareDateTime

    assert AwareDateTime()._serialize(datetime(2026, 9, 1, 8, 0), "at", None).endswith("+00:00")
