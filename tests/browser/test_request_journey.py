"""On phones: a guardian applies for suspension with a photo; the school and the county decide
from their own queues in their own sessions; the guardian's inbox counts up and the request
page shows each step. Every page axe-clean and fitting 360 px; screenshots in test-artifacts/."""

from __future__ import annotations

import re
from datetime import timedelta
from io import BytesIO

import pytest
from PIL import Image
from sqlalchemy import select

from portal import clock, create_app
from portal.accounts.service import create_guardian
from portal.approvals.models import LIVE_CASE_STATES, Case
from portal.config import config_for_tests
from portal.demo.generator import DEMO_PASSWORD
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.orgs.models import OrgUnit
from portal.registry.models import Student
from portal.registry.status import Status
from tests.browser.conftest import sign_in_staff
from tests.browser.test_guardian_pages import _assert_accessible, _assert_fits_a_small_phone

pytestmark = pytest.mark.browser

PARENT = "13700001111"


@pytest.fixture
def family(server):
    """A parent linked to an attending pupil of the demo school with no request open."""
    app = create_app(config_for_tests(server["database_url"]))
    with app.app_context():
        school = db.session.scalar(select(OrgUnit).where(OrgUnit.level == "school").order_by(OrgUnit.id))
        live = select(Case.student_id).where(Case.state.in_(list(LIVE_CASE_STATES)))
        child = db.session.scalar(
            select(Student)
            .where(
                Student.school_id == school.id, Student.status == Status.ATTENDING, Student.id.not_in(live)
            )
            .where(~Student.id.in_(select(GuardianLink.student_id)))
            .order_by(Student.id)
        )
        found = {"child_id": child.id, "name": child.name}
        parent = create_guardian(PARENT, "赵家长", DEMO_PASSWORD)
        db.session.add(GuardianLink(guardian_id=parent.id, student_id=child.id, relation=Relation.FATHER))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return found


def _sign_in(page, base_url, login):
    if login.startswith("county."):  # county staff sign in with a passkey
        sign_in_staff(page, base_url, login)
        return
    page.goto(f"{base_url}/sign-in")
    page.get_by_label("手机号或工作账号").fill(login)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def _photo() -> bytes:
    buffer = BytesIO()
    image = Image.new("RGB", (800, 600), (245, 245, 240))
    for x in range(100, 700):
        for y in (200, 260, 320):
            image.putpixel((x, y), (30, 30, 30))
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _unread(page) -> int:
    badge = page.locator(".badge-count")
    return int(re.match(r"\d+", badge.inner_text()).group()) if badge.count() else 0


def _check(page, artifacts, name):
    _assert_accessible(page)
    _assert_fits_a_small_phone(page)
    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(artifacts / f"{name}-360.png"), full_page=True)
    page.set_viewport_size({"width": 412, "height": 915})


def _phone_context(browser):
    chromium, playwright = browser
    context = chromium.new_context(**playwright.devices["Pixel 7"])
    return context, context.new_page()


def _decide_from_queue(browser, server, login, reference, artifacts, shot):
    context, page = _phone_context(browser)
    try:
        _sign_in(page, server["url"], login)
        page.goto(f"{server['url']}/staff/students")
        page.get_by_role("link", name="审批待办").first.click()
        page.wait_for_url(re.compile(r".*/staff/queue"))
        page.get_by_role("link", name=re.compile("^休学")).first.click()
        card = page.locator(".queue li", has_text=reference)
        assert card.count() == 1
        if shot:
            _check(page, artifacts, f"queue-{login}")
        card.get_by_role("link").first.click()
        page.wait_for_url(re.compile(r".*/staff/queue/steps/\d+$"))
        assert reference in page.inner_text("main")
        if shot:
            _check(page, artifacts, f"step-{login}")
        page.get_by_role("radio", name="同意", exact=True).check()
        page.get_by_role("button", name="提交审批意见").click()
        page.wait_for_url(re.compile(r".*/staff/queue$"))
        assert "已同意" in page.inner_text(".flashes")
        assert page.locator(".queue li", has_text=reference).count() == 0
    finally:
        context.close()


def test_a_suspension_from_a_phone_through_school_and_county(server, browser, artifacts, family, staff_login):
    base_url = server["url"]
    context, parent = _phone_context(browser)
    try:
        _sign_in(parent, base_url, PARENT)
        parent.goto(f"{base_url}/children/{family['child_id']}")
        before = _unread(parent)
        parent.get_by_role("link", name="休学").click()
        parent.wait_for_url(re.compile(r".*/requests/new\?kind=suspension"))
        parent.get_by_label("申请理由").fill("孩子因病需住院治疗，医生建议休养半年。")
        return_on = clock.today() + timedelta(days=180)
        parent.get_by_label("计划复学日期").fill(return_on.isoformat())
        parent.get_by_label("证明材料（选填）").set_input_files(
            {"name": "诊断证明.jpg", "mimeType": "image/jpeg", "buffer": _photo()}
        )
        _check(parent, artifacts, "request-start")
        parent.get_by_role("button", name="提交申请").click()
        parent.wait_for_url(re.compile(r".*/requests/\d+/submitted$"))
        reference = parent.locator(".confirmation .code").inner_text().strip()
        assert re.fullmatch(r"XJ-\d{4}-\d{6}", reference)
        assert "接下来" in parent.inner_text("main")
        _check(parent, artifacts, "request-submitted")
        parent.reload()
        assert _unread(parent) == before + 1  # "request received"

        _decide_from_queue(browser, server, "school.demo", reference, artifacts, shot=True)
        parent.reload()
        assert _unread(parent) == before + 2  # "moving on to the county"

        _decide_from_queue(browser, server, staff_login("county.demo"), reference, artifacts, shot=False)
        parent.reload()
        assert _unread(parent) == before + 3  # "approved"

        parent.get_by_role("link", name="查看办理进度").click()
        parent.wait_for_url(re.compile(r".*/requests/\d+$"))
        steps = parent.locator("ol.steps > li")
        assert steps.count() == 2
        assert all("已通过" in steps.nth(i).inner_text() for i in range(2))
        assert "此申请已获批准" in parent.inner_text("main")
        assert parent.locator("a[href^='/evidence/']").count() == 1
        _check(parent, artifacts, "request-approved")

        parent.get_by_role("link", name=re.compile("^消息")).click()
        parent.wait_for_url(re.compile(r".*/inbox/$"))
        text = parent.inner_text("main")
        assert reference in text and family["name"] not in text
        _check(parent, artifacts, "request-inbox")
    finally:
        context.close()


def test_the_county_watches_deadlines_on_a_phone(server, phone, artifacts, staff_login):
    _sign_in(phone, server["url"], staff_login("county.demo"))
    phone.get_by_role("link", name="超期预警").click()
    phone.wait_for_url(re.compile(r".*/staff/early-warning$"))
    main = phone.inner_text("main")
    assert "已逾期" in main or "暂无超期事项" in main
    _check(phone, artifacts, "early-warning-county")
    acknowledge = phone.get_by_role("button", name="已知悉")
    if acknowledge.count():
        before = acknowledge.count()
        acknowledge.first.click()
        phone.wait_for_url(re.compile(r".*/staff/early-warning$"))
        assert phone.get_by_role("button", name="已知悉").count() == before - 1
