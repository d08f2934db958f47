"""A guardian on a phone corrects a child's name with a photo of the household register;
the school and then the county approve; the guardian sees the new name and the history."""

from __future__ import annotations

import io
import re
import time

import pytest
from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from sqlalchemy import create_engine, text

from portal.demo.generator import DEMO_PASSWORD
from tests import evidence_files
from tests.browser.conftest import sign_in_staff

pytestmark = pytest.mark.browser
# Not the demo guardian 13800138000: the other browser tests count that one's messages, and
# this correction notifies its guardian at every step.
GUARDIAN_QUERY = (
    "SELECT g.mobile FROM users g JOIN guardian_links l ON l.guardian_id = g.id "
    "JOIN students s ON s.id = l.student_id JOIN org_units o ON o.id = s.school_id "
    "WHERE g.mobile LIKE '139%' "
    "AND o.parent_id = (SELECT org_unit_id FROM users WHERE username = 'county.demo') "
    "ORDER BY g.id LIMIT 1"
)
NEW_NAME = "欧阳晓萌"


def _accessible(page) -> None:
    violations = Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], v["nodes"][0]["target"]) for v in violations]


def _fits_a_small_phone(page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"horizontal scroll of {overflow}px at 360px wide"
    page.set_viewport_size({"width": 412, "height": 915})


def _sign_in(page, base_url: str, login: str) -> None:
    if login.startswith("county."):  # county staff sign in with a passkey
        sign_in_staff(page, base_url, login)
        return
    page.goto(f"{base_url}/sign-in")
    page.get_by_label("手机号或工作账号").fill(login)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()


def _the_setting(database_url: str) -> dict:
    """The guardian's last linked child, its school's and county's registrars."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        guardian = connection.execute(text(GUARDIAN_QUERY)).scalar_one()
        row = connection.execute(
            text(
                "SELECT s.id, s.name, s.school_id, o.parent_id FROM students s "
                "JOIN guardian_links l ON l.student_id = s.id JOIN users g ON g.id = l.guardian_id "
                "JOIN org_units o ON o.id = s.school_id WHERE g.mobile = :mobile ORDER BY s.id DESC LIMIT 1"
            ),
            {"mobile": guardian},
        ).one()
        registrar = (
            "SELECT username FROM users WHERE org_unit_id = :unit AND role = :role ORDER BY id LIMIT 1"
        )
        school = connection.execute(text(registrar), {"unit": row.school_id, "role": "school_registrar"})
        county = connection.execute(  # the demo county account (others are sealed as unused)
            text("SELECT username FROM users WHERE username = 'county.demo' AND org_unit_id = :unit"),
            {"unit": row.parent_id},
        )
        setting = {
            "guardian": guardian,
            "id": row.id,
            "name": row.name,
            "school": school.scalar_one(),
            "county": county.scalar_one(),
        }
    engine.dispose()
    return setting


def _evidence_of_the_case(database_url: str, student_id: int) -> str:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        payload = connection.execute(
            text("SELECT payload FROM cases WHERE student_id = :id AND kind = 'correction'"),
            {"id": student_id},
        ).scalar_one()
    engine.dispose()
    if isinstance(payload, str):
        import json

        payload = json.loads(payload)
    return payload["evidence"][0]


def approve_from_queue(browser, base_url: str, login: str, student_name: str, artifacts, shot: str, check):
    """As `login`, open the student's correction from the queue, `check(page)` what it shows,
    check the page as a phone user meets it, save `shot`, and approve all."""
    chromium, playwright = browser
    context = chromium.new_context(**playwright.devices["Pixel 7"])
    page = context.new_page()
    _sign_in(page, base_url, login)
    page.goto(f"{base_url}/corrections/queue")
    page.get_by_role("link", name=student_name).click()
    page.wait_for_load_state()
    check(page)
    _accessible(page)
    _fits_a_small_phone(page)
    page.screenshot(path=str(artifacts / shot), full_page=True)
    page.get_by_label("全部同意").check()
    page.get_by_role("button", name="提交审批意见").click()
    page.wait_for_load_state()
    assert page.locator(".flash").first.is_visible()
    context.close()


def _the_name_and_its_proof(base_url: str):
    def check(page) -> None:
        assert page.locator("table.changes-table").is_visible()
        assert page.get_by_role("cell", name=NEW_NAME).is_visible()
        image = page.locator("ul.evidence img")
        assert page.request.get(base_url + image.get_attribute("src")).status == 200  # this registrar may
        page.wait_for_function("() => document.querySelector('ul.evidence img').naturalWidth > 0")

    return check


def _approve_as(browser, base_url: str, login: str, student_name: str, artifacts, shot: str) -> None:
    approve_from_queue(
        browser, base_url, login, student_name, artifacts, shot, _the_name_and_its_proof(base_url)
    )


def test_a_guardian_corrects_a_name_with_a_photo_and_school_then_county_approve(
    server, browser, phone, artifacts, staff_login
):
    base_url, database_url = server["url"], server["database_url"]
    child = _the_setting(database_url)

    time.sleep(61)  # the sign-in limit (10 a minute per address) starts afresh for our three
    _sign_in(phone, base_url, child["guardian"])
    phone.goto(f"{base_url}/children/{child['id']}")
    phone.get_by_role("link", name="申请更正学籍信息").click()
    phone.wait_for_load_state()
    assert phone.get_by_text(f"现为：{child['name']}").is_visible()
    phone.get_by_label("姓名").fill(NEW_NAME)
    phone.get_by_label("更正理由").fill("户口簿姓名已变更")
    photo = evidence_files.jpeg_with_gps(size=(1600, 1200))
    phone.get_by_label("证明材料（照片或 PDF）").set_input_files(
        {"name": "IMG_20261123_户口簿.jpg", "mimeType": "image/jpeg", "buffer": photo}
    )
    _accessible(phone)
    _fits_a_small_phone(phone)
    phone.screenshot(path=str(artifacts / "correction-start.png"), full_page=True)
    phone.get_by_role("button", name="提交更正申请").click()
    phone.wait_for_url(re.compile(rf".*/children/{child['id']}$"))
    assert phone.get_by_text("更正申请已提交学校审核。").is_visible()
    _accessible(phone)
    phone.screenshot(path=str(artifacts / "correction-submitted.png"), full_page=True)

    # The stored copy of the photo has no location (no EXIF at all).
    ref = _evidence_of_the_case(database_url, child["id"])
    stored = phone.request.get(f"{base_url}/evidence/{ref}")
    assert stored.status == 200 and stored.headers["content-type"] == "image/jpeg"
    assert stored.headers["cache-control"] == "private, no-store"
    image = Image.open(io.BytesIO(stored.body()))
    assert dict(image.getexif()) == {} and "exif" not in image.info
    assert image.size == (1600, 1200)

    _approve_as(browser, base_url, child["school"], child["name"], artifacts, "correction-review-school.png")
    _approve_as(
        browser,
        base_url,
        staff_login(child["county"]),
        child["name"],
        artifacts,
        "correction-review-county.png",
    )

    phone.goto(f"{base_url}/children/{child['id']}")
    assert phone.locator("h1").inner_text() == NEW_NAME
    assert phone.get_by_text(f"姓名：由{child['name']}改为{NEW_NAME}").is_visible()
    _accessible(phone)
    _fits_a_small_phone(phone)
    phone.set_viewport_size({"width": 360, "height": 740})
    phone.screenshot(path=str(artifacts / "correction-done.png"), full_page=True)
    # Three sign-ins from this address: let the sign-in rate limit (10 a minute) start afresh
    # for the browser tests that follow on the same server.
    time.sleep(61)
