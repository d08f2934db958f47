"""The header's unread badge, counted by the session check's own statement, never lags."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.accounts.models import User
from portal.extensions import db
from portal.notifications.messages import WEEKLY_DIGEST
from portal.notifications.models import InboxMessage
from portal.notifications.service import notify
from tests.factories import make_guardian
from tests.functional.conftest import sign_in

BADGE = re.compile(r'class="badge badge-count">(\d+)')


def _badge(page: str) -> str | None:
    found = BADGE.search(page)
    return found.group(1) if found else None


def make_guardian_row(mobile: str) -> User:
    return db.session.scalar(select(User).where(User.mobile == mobile))


def test_a_message_read_in_the_request_is_no_longer_counted_on_its_page(client, app):
    guardian = make_guardian("13600000031")
    for count in (1, 2):
        notify(guardian, WEEKLY_DIGEST.code, count=count)  # no link: opening shows the message
    guardian_id = guardian.id
    db.session.commit()
    sign_in(client, "13600000031")
    assert _badge(client.get("/children/").get_data(as_text=True)) == "2"
    first = db.session.query(InboxMessage.id).filter_by(recipient_id=guardian_id).first()[0]
    # The session check counted 2 before the view marked this one read: the page says 1.
    assert _badge(client.get(f"/inbox/{first}").get_data(as_text=True)) == "1"


def test_a_message_sent_since_the_last_page_is_counted(client, app):
    make_guardian("13600000032")
    db.session.commit()
    sign_in(client, "13600000032")
    assert _badge(client.get("/children/").get_data(as_text=True)) is None
    notify(make_guardian_row("13600000032"), WEEKLY_DIGEST.code, count=1)
    db.session.commit()
    assert _badge(client.get("/children/").get_data(as_text=True)) == "1"
