"""A guardian on a phone sees the unread count, reads the inbox, and the count goes down."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal import create_app
from portal.accounts.models import User
from portal.config import config_for_tests
from portal.demo.generator import DEMO_PASSWORD
from portal.extensions import db
from portal.notifications.messages import WEEKLY_DIGEST
from portal.notifications.service import notify
from tests.browser.test_guardian_pages import _assert_accessible, _assert_fits_a_small_phone

pytestmark = pytest.mark.browser

DEMO_GUARDIAN = "13800138000"


@pytest.fixture
def two_messages(server):
    app = create_app(config_for_tests(server["database_url"]))
    with app.app_context():
        guardian = db.session.scalar(select(User).where(User.mobile == DEMO_GUARDIAN))
        for count in (1, 2):
            notify(guardian, WEEKLY_DIGEST.code, url="/children/", count=count)
        db.session.commit()
        db.engine.dispose()


def test_guardian_reads_the_inbox_on_a_phone(server, phone, artifacts, two_messages):
    base_url = server["url"]
    phone.goto(f"{base_url}/sign-in")
    phone.get_by_label("手机号或工作账号").fill(DEMO_GUARDIAN)
    phone.get_by_label("密码").fill(DEMO_PASSWORD)
    phone.get_by_role("button", name="登录").click()
    phone.wait_for_url(re.compile(r".*/children/$"))
    badge = phone.locator(".badge-count")
    assert badge.inner_text().startswith("2")

    phone.get_by_role("link", name=re.compile("^消息")).click()
    phone.wait_for_url(re.compile(r".*/inbox/$"))
    items = phone.locator("main .inbox li")
    assert items.count() == 2
    assert "贵单位有 2 项申请待审批" in items.first.inner_text()  # newest first
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)
    phone.set_viewport_size({"width": 360, "height": 740})
    phone.screenshot(path=str(artifacts / "inbox-guardian-360.png"), full_page=True)

    items.first.get_by_role("link").click()
    phone.wait_for_url(re.compile(r".*/children/$"))
    assert badge.inner_text().startswith("1")

    phone.goto(f"{base_url}/inbox/")
    phone.get_by_role("button", name="全部标为已读").click()
    phone.wait_for_url(re.compile(r".*/inbox/$"))
    assert phone.locator(".badge-count").count() == 0
