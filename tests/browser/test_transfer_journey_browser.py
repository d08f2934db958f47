"""A transfer on phones: the guardian applies with a photo, four registrars decide, each in
their own session, and the guardian's progress page shows every step as it happens."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine, text

from portal import create_app
from portal.accounts.service import create_guardian
from portal.config import config_for_tests
from portal.demo.generator import DEMO_PASSWORD
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from tests import evidence_files
from tests.browser.conftest import sign_in_staff
from tests.browser.test_guardian_pages import _assert_accessible, _assert_fits_a_small_phone

pytestmark = pytest.mark.browser
GUARDIAN = "13700002222"  # a parent of this test's own (see _lookup)
RECEIVING_SCHOOL = "芜湖市镜湖区第一实验小学"


def _lookup(database_url: str) -> dict:
    """A parent of its own (GUARDIAN), linked to a primary pupil of the demo school with no
    request, and the receiving school's logins. The demo guardian's children already have
    requests open (portal/demo/cases.py), and one live request at a time is the rule."""
    engine = create_engine(database_url)
    with engine.begin() as connection:
        child = connection.execute(
            text(
                "SELECT s.id FROM students s JOIN users r ON r.org_unit_id = s.school_id "
                "WHERE r.username = 'school.demo' AND s.status = 'attending' AND s.grade <= 6 "
                "AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.student_id = s.id) "
                "AND NOT EXISTS (SELECT 1 FROM guardian_links l WHERE l.student_id = s.id) "
                "ORDER BY s.id LIMIT 1"
            )
        ).scalar_one()
        school, county = connection.execute(
            text(
                "SELECT s.code, c.code FROM org_units s JOIN org_units c ON c.id = s.parent_id "
                "WHERE s.name = :name"
            ),
            {"name": RECEIVING_SCHOOL},
        ).one()
    engine.dispose()
    app = create_app(config_for_tests(database_url))
    with app.app_context():
        try:
            parent = create_guardian(GUARDIAN, "钱家长", DEMO_PASSWORD)
            db.session.add(GuardianLink(guardian_id=parent.id, student_id=child, relation=Relation.MOTHER))
            db.session.commit()
        finally:
            db.session.remove()
            db.engine.dispose()
    return {"child": child, "school": f"school.{school}", "county": f"county.{county}"}


def _sign_in(page, base_url: str, login: str) -> None:
    if login.startswith("county."):
        sign_in_staff(page, base_url, login)
        return
    page.goto(f"{base_url}/sign-in")
    page.get_by_label("手机号或工作账号").fill(login)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def _decide_as(browser, base_url: str, login: str, case_id: int, artifacts, shot: str | None = None) -> None:
    chromium, playwright = browser
    context = chromium.new_context(**playwright.devices["Pixel 7"])
    page = context.new_page()
    _sign_in(page, base_url, login)
    page.goto(f"{base_url}/staff/transfers")
    page.get_by_role("link", name=re.compile(rf"申请 {case_id}\b")).click()
    assert "东区" not in page.content()  # sanity: the demo province, not a test tree
    if page.get_by_label("编入班级").count():
        page.get_by_label("编入班级").fill("3班")
    if shot:
        _assert_accessible(page)
        page.set_viewport_size({"width": 360, "height": 740})
        page.screenshot(path=str(artifacts / shot), full_page=True)
    page.get_by_role("button", name=re.compile("^(同意|确认交接)$")).click()
    page.wait_for_url(re.compile(r".*/staff/transfers$"))
    assert "审核意见已记录" in page.content()
    context.close()


def test_guardian_applies_and_follows_four_registrars(
    server, phone, browser, artifacts, tmp_path, staff_login
):
    base_url = server["url"]
    who = _lookup(server["database_url"])
    _sign_in(phone, base_url, GUARDIAN)
    phone.goto(f"{base_url}/children/{who['child']}")
    phone.get_by_role("link", name="转学", exact=True).click()  # among "start a request"
    phone.get_by_label("按学校名称或代码查询").fill("镜湖区第一实验")
    phone.get_by_role("button", name="搜索").click()
    phone.get_by_label(re.compile(RECEIVING_SCHOOL)).check()
    phone.get_by_label("家庭搬迁").check()
    photo = tmp_path / "居住证明.jpg"
    photo.write_bytes(evidence_files.jpeg_with_gps())
    phone.get_by_label(re.compile("证明材料的照片")).set_input_files(str(photo))
    _assert_accessible(phone)
    phone.set_viewport_size({"width": 360, "height": 740})
    phone.screenshot(path=str(artifacts / "transfer-apply-360.png"), full_page=True)
    phone.get_by_role("button", name="提交申请").click()
    phone.wait_for_url(re.compile(r".*/transfers/\d+$"))
    case_id = int(phone.url.rsplit("/", 1)[1])
    steps = phone.locator("ol.route > li")
    assert steps.count() == 4
    assert "办理中" in steps.nth(0).inner_text()
    assert phone.locator("progress").get_attribute("value") == "0"
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)
    phone.set_viewport_size({"width": 360, "height": 740})
    phone.screenshot(path=str(artifacts / "transfer-progress-0-360.png"), full_page=True)

    deciders = [
        (who["school"], "transfer-step-receiving-school-360.png"),
        (staff_login(who["county"]), None),  # county staff: a passkey, enrolled at first sign-in
        ("school.demo", None),
        (staff_login("county.demo"), None),
    ]
    for done, (login, shot) in enumerate(deciders, start=1):
        _decide_as(browser, base_url, login, case_id, artifacts, shot)
        phone.reload()
        assert phone.locator("progress").get_attribute("value") == str(done)
        assert "已通过" in steps.nth(done - 1).inner_text()
        assert "学籍管理员" in steps.nth(done - 1).inner_text()  # unit and role, no staff name
        if done < 4:
            assert "办理中" in steps.nth(done).inner_text()
        if done == 2:
            phone.set_viewport_size({"width": 360, "height": 740})
            phone.screenshot(path=str(artifacts / "transfer-progress-2-360.png"), full_page=True)
    assert "转学已完成" in phone.content()
    _assert_accessible(phone)
    phone.set_viewport_size({"width": 360, "height": 740})
    phone.screenshot(path=str(artifacts / "transfer-progress-done-360.png"), full_page=True)

    chromium, playwright = browser
    context = chromium.new_context(**playwright.devices["Pixel 7"])
    registrar = context.new_page()
    _sign_in(registrar, base_url, "school.demo")
    assert registrar.locator(".badge-count").count() == 1  # the completion message
    registrar.goto(f"{base_url}/staff/transfers/archives")
    registrar.locator("main ul.plain a").first.click()
    assert "只读" in registrar.content()
    assert "enrolled_on" not in registrar.content()  # every label translated
    _assert_accessible(registrar)
    registrar.set_viewport_size({"width": 360, "height": 740})
    registrar.screenshot(path=str(artifacts / "transfer-archive-360.png"), full_page=True)
    context.close()
