"""The inbox as people use it: badge, list, opening, mark all read, and its API."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.notifications.messages import WEEKLY_DIGEST
from portal.notifications.models import InboxMessage
from portal.notifications.service import INBOX_PAGE_SIZE, notify
from tests.factories import make_guardian
from tests.functional.conftest import post_form, sign_in

BADGE = re.compile(r'class="badge badge-count">(\d+)')


@pytest.fixture
def guardian(app):
    guardian = make_guardian("13600000009")
    for count in (1, 2, 3):
        notify(guardian, WEEKLY_DIGEST.code, url="/children/", count=count)
    db.session.commit()
    return guardian.id


def _ids(user_id: int) -> list[int]:
    query = select(InboxMessage.id).where(InboxMessage.recipient_id == user_id).order_by(InboxMessage.id)
    return list(db.session.scalars(query))


def test_the_header_counts_unread_messages_and_the_list_shows_newest_first(client, guardian):
    sign_in(client, "13600000009")
    page = client.get("/inbox/").get_data(as_text=True)
    assert BADGE.search(page).group(1) == "3"
    bodies = re.findall(r"贵单位有 (\d) 项申请待审批", page)
    assert bodies == ["3", "2", "1"]


def test_opening_a_message_marks_it_read_and_follows_its_link(client, guardian):
    sign_in(client, "13600000009")
    first = _ids(guardian)[0]
    response = client.get(f"/inbox/{first}")
    assert response.status_code == 302 and response.headers["Location"] == "/children/"
    assert BADGE.search(client.get("/children/").get_data(as_text=True)).group(1) == "2"


def test_mark_all_read_clears_the_badge(client, guardian):
    sign_in(client, "13600000009")
    assert post_form(client, "/inbox/read-all", {}, form_page="/inbox/").status_code == 302
    assert BADGE.search(client.get("/inbox/").get_data(as_text=True)) is None
    assert all(db.session.get(InboxMessage, i).read_at for i in _ids(guardian))


def test_someone_elses_message_is_not_found(client, guardian):
    make_guardian("13600000010")
    db.session.commit()
    sign_in(client, "13600000010")
    message_id = _ids(guardian)[0]
    assert client.get(f"/inbox/{message_id}").status_code == 404
    assert client.post(f"/api/v1/inbox/{message_id}/read").status_code == 404
    assert db.session.get(InboxMessage, message_id).read_at is None


def test_pages_go_back_by_keyset(client, app):
    user = make_guardian("13600000011")
    for count in range(INBOX_PAGE_SIZE + 2):
        notify(user, WEEKLY_DIGEST.code, count=count)
    db.session.commit()
    guardian = user.id
    sign_in(client, "13600000011")
    first = client.get("/api/v1/inbox").get_json()
    assert len(first["messages"]) == INBOX_PAGE_SIZE and first["unread"] == INBOX_PAGE_SIZE + 2
    second = client.get(f"/api/v1/inbox?before={first['next_before']}").get_json()
    assert [m["id"] for m in second["messages"]] == _ids(guardian)[:2][::-1]
    assert second["next_before"] is None
    older = client.get(f"/inbox/?before={first['next_before']}").get_data(as_text=True)
    assert re.findall(r"贵单位有 (\d+) 项申请待审批", older) == ["1", "0"]


def test_the_api_lists_in_the_readers_language_and_marks_read(english, guardian):
    client = english
    sign_in(client, "13600000009")
    listing = client.get("/api/v1/inbox").get_json()
    newest = listing["messages"][0]
    assert newest["subject"] == "Requests waiting for your unit"
    assert newest["body"].startswith("3 requests are waiting")
    assert (newest["url"], newest["read_at"], listing["unread"]) == ("/children/", None, 3)

    marked = client.post(f"/api/v1/inbox/{newest['id']}/read").get_json()
    assert marked["read_at"] is not None
    assert client.get("/api/v1/inbox").get_json()["unread"] == 2


def test_the_api_wants_a_sign_in(client):
    response = client.get("/api/v1/inbox")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


def test_the_openapi_document_describes_the_inbox(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "get" in paths["/inbox"] and "post" in paths["/inbox/{message_id}/read"]
