"""A guardian on a phone opens the access log after the school registrar viewed the record."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal import create_app
from portal.accounts.models import User
from portal.config import config_for_tests
from portal.demo.generator import DEMO_PASSWORD
from portal.extensions import db
from portal.guardians.models import GuardianLink
from portal.registry.models import Student
from tests.browser.test_guardian_pages import _assert_accessible, _assert_fits_a_small_phone

pytestmark = pytest.mark.browser

DEMO_GUARDIAN = "13800138000"
DEMO_REGISTRAR = "school.demo"


@pytest.fixture
def child(server):
    """The demo guardian's first child: its id and school's name."""
    app = create_app(config_for_tests(server["database_url"]))
    with app.app_context():
        guardian = db.session.scalar(select(User).where(User.mobile == DEMO_GUARDIAN))
        student = db.session.scalar(
            select(Student)
            .join(GuardianLink, GuardianLink.student_id == Student.id)
            .where(GuardianLink.guardian_id == guardian.id)
            .order_by(Student.id)
        )
        found = {"id": student.id, "school": student.school.name}
        db.session.remove()  # return the connection before closing the pool
        db.engine.dispose()
    return found


def _sign_in(page, base_url: str, login: str) -> None:
    page.goto(f"{base_url}/sign-in")
    page.get_by_label("手机号或工作账号").fill(login)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_guardian_sees_the_registrars_view_in_the_access_log(server, browser, phone, artifacts, child):
    base_url = server["url"]
    chromium, _playwright = browser
    staff_context = chromium.new_context()
    registrar = staff_context.new_page()
    _sign_in(registrar, base_url, DEMO_REGISTRAR)
    registrar.wait_for_url(re.compile(r".*/staff/students$"))
    response = registrar.goto(f"{base_url}/staff/students/{child['id']}")
    assert response.status == 200
    staff_context.close()

    _sign_in(phone, base_url, DEMO_GUARDIAN)
    phone.wait_for_url(re.compile(r".*/children/$"))
    phone.goto(f"{base_url}/children/{child['id']}")
    phone.get_by_role("link", name="学籍信息访问记录").click()
    phone.wait_for_url(re.compile(rf".*/children/{child['id']}/access-log$"))
    newest = phone.locator("main .access-log li").first
    text = newest.inner_text()
    assert child["school"] in text
    assert "查看了学籍信息" in text and "理由：工作人员查看学籍页面" in text
    assert DEMO_REGISTRAR not in phone.content()
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)
    phone.set_viewport_size({"width": 360, "height": 740})
    phone.screenshot(path=str(artifacts / "access-log-guardian-360.png"), full_page=True)
