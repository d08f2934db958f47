"""On a phone, a guardian replaces the child's registry photo; the province has made the photo
a key field, so the school and then the county approve; the guardian and the school's
registrar see the new photo (and nobody else could fetch it)."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from PIL import Image
from sqlalchemy import create_engine, text

from tests import evidence_files
from tests.browser.conftest import sign_in_staff
from tests.browser.test_correction_flow import _accessible, _fits_a_small_phone, _sign_in, approve_from_queue

pytestmark = pytest.mark.browser
# The second 139 guardian of the demo county (test_correction_flow corrects the first one's child).
GUARDIAN_QUERY = (
    "SELECT g.mobile FROM users g JOIN guardian_links l ON l.guardian_id = g.id "
    "JOIN students s ON s.id = l.student_id JOIN org_units o ON o.id = s.school_id "
    "WHERE g.mobile LIKE '139%' "
    "AND o.parent_id = (SELECT org_unit_id FROM users WHERE username = 'county.demo') "
    "ORDER BY g.id LIMIT 1 OFFSET 1"
)


def _query(database_url: str, sql: str, **params):
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text(sql), params).all()
    engine.dispose()
    return rows


def _the_setting(database_url: str) -> dict:
    [(guardian,)] = _query(database_url, GUARDIAN_QUERY)
    [child] = _query(
        database_url,
        "SELECT s.id, s.name, s.school_id FROM students s JOIN guardian_links l ON l.student_id = s.id "
        "JOIN users g ON g.id = l.guardian_id WHERE g.mobile = :mobile ORDER BY s.id DESC LIMIT 1",
        mobile=guardian,
    )
    [(school,)] = _query(
        database_url,
        "SELECT username FROM users WHERE org_unit_id = :unit AND role = 'school_registrar' "
        "ORDER BY id LIMIT 1",
        unit=child.school_id,
    )
    return {"guardian": guardian, "id": child.id, "name": child.name, "school": school}


def _photo_of(database_url: str, student_id: int) -> str | None:
    [(sha,)] = _query(database_url, "SELECT photo_sha256 FROM students WHERE id = :id", id=student_id)
    return sha


def _new_context_page(browser):
    chromium, playwright = browser
    context = chromium.new_context(**playwright.devices["Pixel 7"])
    return context, context.new_page()


def _make_the_photo_a_key_field(browser, base_url, login, artifacts) -> None:
    context, page = _new_context_page(browser)
    sign_in_staff(page, base_url, login)
    page.goto(f"{base_url}/admin/province/settings")
    page.get_by_label("作为关键信息：学校审核后报区县审核").check()
    page.locator("#corrections-title ~ form button").click()
    page.wait_for_load_state()
    assert page.get_by_text("已保存。").is_visible()
    assert page.get_by_label("作为关键信息：学校审核后报区县审核").is_checked()
    page.locator("#corrections-title").scroll_into_view_if_needed()
    _accessible(page)
    page.screenshot(path=str(artifacts / "photo-province-setting.png"), full_page=True)
    context.close()


def _the_proposed_photo(page) -> None:
    assert page.get_by_role("img", name="申请更换的学籍照片").is_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('table.changes-table img')].every(i => i.naturalWidth > 0)"
    )


def test_a_guardian_replaces_the_photo_and_school_then_county_approve(
    server, browser, phone, artifacts, staff_login
):
    base_url, database_url = server["url"], server["database_url"]
    child = _the_setting(database_url)
    before = _photo_of(database_url, child["id"])
    _make_the_photo_a_key_field(browser, base_url, staff_login("province.demo"), artifacts)

    _sign_in(phone, base_url, child["guardian"])
    phone.goto(f"{base_url}/corrections/students/{child['id']}/new")
    assert phone.get_by_text("本省将学籍照片列为关键信息").is_visible()
    # A landscape picture is refused with a clear message, and the form keeps the reason.
    phone.get_by_label("更正理由").fill("照片是三年前的")
    landscape = evidence_files.jpeg_with_gps(size=(800, 600))
    phone.get_by_label("学籍照片").set_input_files(
        {"name": "wide.jpg", "mimeType": "image/jpeg", "buffer": landscape}
    )
    phone.get_by_role("button", name="提交更正申请").click()
    phone.wait_for_load_state()
    assert phone.get_by_role("alert").filter(has_text="学籍照片须为竖版").is_visible()
    _accessible(phone)
    phone.screenshot(path=str(artifacts / "photo-refused.png"), full_page=True)

    photo = evidence_files.avatar_with_gps(size=(600, 780))
    assert 0x8825 in dict(Image.open(io.BytesIO(photo)).getexif())  # the upload carries a position
    phone.get_by_label("学籍照片").set_input_files(
        {"name": "IMG_20261123_证件照.jpg", "mimeType": "image/jpeg", "buffer": photo}
    )
    _fits_a_small_phone(phone)
    phone.screenshot(path=str(artifacts / "photo-start.png"), full_page=True)
    phone.get_by_role("button", name="提交更正申请").click()
    phone.wait_for_url(re.compile(rf".*/children/{child['id']}$"))
    assert phone.get_by_text("更正申请已提交学校审核。").is_visible()

    approve_from_queue(
        browser,
        base_url,
        child["school"],
        child["name"],
        artifacts,
        "photo-review-school.png",
        _the_proposed_photo,
    )
    assert _photo_of(database_url, child["id"]) == before  # the county has not decided yet
    county = staff_login("county.demo")
    approve_from_queue(
        browser, base_url, county, child["name"], artifacts, "photo-review-county.png", _the_proposed_photo
    )
    after = _photo_of(database_url, child["id"])
    assert after and after != before

    # The guardian sees the new photo from the corrections page; its bytes are the stored ones.
    phone.goto(f"{base_url}/corrections/students/{child['id']}/new")
    current = phone.get_by_role("img", name="当前的学籍照片")
    phone.wait_for_function("() => document.querySelector('img.registry-photo').naturalWidth > 0")
    stored = phone.request.get(base_url + current.get_attribute("src"))
    assert stored.status == 200 and hashlib.sha256(stored.body()).hexdigest() == after
    image = Image.open(io.BytesIO(stored.body()))
    assert dict(image.getexif()) == {} and image.size == (600, 780)
    _accessible(phone)
    phone.screenshot(path=str(artifacts / "photo-done-guardian.png"), full_page=True)

    # The school's registrar sees it on the record; a signed-out browser gets 404.
    context, page = _new_context_page(browser)
    assert page.request.get(base_url + current.get_attribute("src")).status == 404
    _sign_in(page, base_url, child["school"])
    page.goto(f"{base_url}/staff/students/{child['id']}")
    page.wait_for_function("() => document.querySelector('img.registry-photo').naturalWidth > 0")
    assert page.get_by_text("学籍照片：由").first.is_visible()
    _accessible(page)
    page.screenshot(path=str(artifacts / "photo-record-staff.png"), full_page=True)
    context.close()
