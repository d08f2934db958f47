"""Staff search pages by keyset: every student once, in order, and back again."""

from __future__ import annotations

import re

import pytest

from portal.accounts.models import Role
from portal.extensions import db
from tests.factories import make_staff, make_student, make_tree
from tests.functional.conftest import sign_in
from tests.functional.test_query_counts import STAFF_SEARCH_QUERIES, count_queries

_ROW = re.compile(r'href="/staff/students/(\d+)"')
_NEXT = re.compile(r'rel="next" href="([^"]+)"')
_PREVIOUS = re.compile(r'rel="prev" href="([^"]+)"')


@pytest.fixture
def school_of_45(app):
    tree = make_tree()
    registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school, "keyset.registrar")
    ids = [make_student(tree.school, registrar).id for _ in range(45)]
    make_student(tree.other_school, registrar)  # outside the registrar's school: never listed
    db.session.commit()
    return ids


def _page(client, url: str):
    html = client.get(url.replace("&amp;", "&")).get_data(as_text=True)
    following, preceding = _NEXT.search(html), _PREVIOUS.search(html)
    return (
        [int(i) for i in _ROW.findall(html)],
        following.group(1) if following else None,
        preceding.group(1) if preceding else None,
    )


def test_the_pages_walk_every_student_once_in_order_and_back(client, school_of_45):
    sign_in(client, "keyset.registrar")
    first, to_second, no_previous = _page(client, "/staff/students")
    second, to_third, back_to_first = _page(client, to_second)
    third, no_fourth, back_to_second = _page(client, to_third)
    assert first + second + third == school_of_45
    assert [len(first), len(second), len(third)] == [20, 20, 5]
    assert no_previous is None and no_fourth is None
    assert _page(client, back_to_second)[0] == second
    assert _page(client, back_to_first)[0] == first


def test_a_deep_page_costs_the_queries_of_the_first(client, school_of_45):
    sign_in(client, "keyset.registrar")
    client.get("/staff/students")  # the unit's school ids, cached per worker
    for url in ("/staff/students", f"/staff/students?after={school_of_45[39]}"):
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        assert len(statements) == STAFF_SEARCH_QUERIES


def test_the_api_pages_by_cursor(client, school_of_45):
    sign_in(client, "keyset.registrar")
    seen, cursor = [], None
    for _ in range(5):
        page = client.get("/api/v1/students" + (f"?cursor={cursor}" if cursor else "")).get_json()
        seen += [s["id"] for s in page["students"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert page["has_next"] is True
    assert seen == school_of_45


def test_a_name_prefix_search_pages_too(client, school_of_45):
    sign_in(client, "keyset.registrar")
    first, to_second, _ = _page(client, "/staff/students?q=李")
    second, _, _ = _page(client, to_second)
    assert "q=" in to_second
    assert first + second == school_of_45[:40]
