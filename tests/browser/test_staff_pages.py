"""A school registrar on a phone: search the school's students, open a record, issue a code."""

from __future__ import annotations

import re

import pytest

from portal.demo.generator import DEMO_PASSWORD
from tests.browser.test_guardian_pages import _assert_accessible, _assert_fits_a_small_phone

pytestmark = pytest.mark.browser


def test_registrar_searches_opens_a_record_and_issues_a_code(server, phone, artifacts):
    base_url = server["url"]
    phone.goto(f"{base_url}/sign-in")
    phone.get_by_label("手机号或工作账号").fill("school.demo")
    phone.get_by_label("密码").fill(DEMO_PASSWORD)
    phone.get_by_role("button", name="登录").click()
    phone.wait_for_url(re.compile(r".*/staff/students$"))
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)

    first_link = phone.locator("main a[href*='/staff/students/']").first
    surname = first_link.inner_text().strip()[0]
    phone.get_by_role("searchbox").fill(surname)
    phone.get_by_role("searchbox").press("Enter")
    phone.wait_for_load_state()
    names = phone.locator("main a[href*='/staff/students/']").all_inner_texts()
    assert names and all(name.strip().startswith(surname) for name in names)

    phone.locator("main a[href*='/staff/students/']").first.click()
    phone.wait_for_url(re.compile(r".*/staff/students/\d+$"))
    assert "*" in phone.locator("main").inner_text()  # the document number is masked
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)

    phone.get_by_label("监护人姓名").fill("测试家长")
    phone.get_by_label("监护人手机号").fill("13900002222")
    phone.get_by_role("button", name="签发绑定码").click()
    code = phone.locator("[data-binding-code]").get_attribute("data-binding-code")
    assert re.fullmatch(r"[A-Z0-9]{8}", code)
    _assert_accessible(phone)
    phone.screenshot(path=str(artifacts / "registrar-record.png"), full_page=True)
