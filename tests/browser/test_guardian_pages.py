"""A guardian on a phone: sign in, link a child with a code, see the status."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import create_engine, text

from portal.demo.generator import DEMO_BINDING_CODE, DEMO_PASSWORD

pytestmark = pytest.mark.browser
GUARDIAN = "13800138000"
PAGE_BUDGET_BYTES = 50 * 1024


def _demo_code_birth_date(database_url: str) -> str:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        birth = connection.execute(
            text(
                "SELECT s.birth_date FROM binding_codes b JOIN students s ON s.id = b.student_id "
                "WHERE b.used_at IS NULL ORDER BY b.id LIMIT 1"
            )
        ).scalar_one()
    engine.dispose()
    return str(birth)[:10]


def _sign_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/sign-in")
    page.get_by_label("手机号或工作账号").fill(GUARDIAN)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base_url}/children/")


def _assert_accessible(page) -> None:
    violations = Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], v["nodes"][0]["target"]) for v in violations]


def _assert_fits_a_small_phone(page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"horizontal scroll of {overflow}px at 360px wide"
    small = page.evaluate("""() => [...document.querySelectorAll(
        'a, button, input:not([type=hidden]), select, textarea, summary')]
        .filter(e => e.offsetParent !== null)
        .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect().height])
        .filter(([, h]) => h < 44)""")
    assert small == [], f"touch targets under 44px: {small}"
    page.set_viewport_size({"width": 412, "height": 915})


def test_guardian_links_a_child_and_sees_the_status(server, phone, artifacts):
    base_url = server["url"]
    requests: list[tuple[str, int]] = []
    phone.on(
        "requestfinished",
        lambda r: requests.append(
            (r.url, (r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"]))
        ),
    )

    phone.goto(f"{base_url}/sign-in")
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)
    _sign_in(phone, base_url)

    children = phone.locator("[data-child]")
    assert children.count() == 2
    assert phone.locator(".badge").first.is_visible()
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)
    phone.screenshot(path=str(artifacts / "guardian-home.png"), full_page=True)

    phone.goto(f"{base_url}/children/link")
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)
    phone.get_by_label("绑定码").fill(DEMO_BINDING_CODE.lower())
    phone.get_by_label("孩子的出生日期").fill(_demo_code_birth_date(server["database_url"]))
    phone.get_by_role("button", name="绑定").click()

    phone.wait_for_url(f"{base_url}/children/*")
    assert "在读" in phone.locator(".badge").first.inner_text()
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)
    phone.screenshot(path=str(artifacts / "guardian-child.png"), full_page=True)

    phone.goto(f"{base_url}/children/")
    assert phone.locator("[data-child]").count() == 3

    hosts = {urlparse(url).hostname for url, _ in requests}
    assert hosts == {"localhost"}, f"requests left the portal: {hosts}"


def test_each_guardian_page_is_light(server, phone, browser):
    chromium, playwright = browser
    base_url = server["url"]
    _sign_in(phone, base_url)
    child_path = phone.locator("[data-child] a").first.get_attribute("href")
    signed_in = phone.context.storage_state()
    for path in ("/children/", child_path, "/children/link"):
        # A fresh context per page: an empty cache, as on a first visit.
        context = chromium.new_context(**playwright.devices["Pixel 7"], storage_state=signed_in)
        page = context.new_page()
        sizes: list[int] = []
        page.on(
            "requestfinished",
            lambda r, sizes=sizes: sizes.append(
                r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"]
            ),
        )
        page.goto(f"{base_url}{path}", wait_until="networkidle")
        context.close()
        assert len(sizes) >= 2, f"{path}: expected the page and its stylesheet"
        assert sum(sizes) < PAGE_BUDGET_BYTES, (path, sum(sizes))


def test_the_pages_work_without_javascript(server, browser):
    chromium, playwright = browser
    context = chromium.new_context(**playwright.devices["Pixel 7"], java_script_enabled=False)
    page = context.new_page()
    _sign_in(page, server["url"])
    assert page.locator("[data-child]").count() >= 2
    page.get_by_role("button", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text() == "My children"
    context.close()
