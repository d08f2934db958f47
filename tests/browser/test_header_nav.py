"""The staff header on a small phone: a county registrar's eight links take two rows, not three."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import sign_in_staff
from tests.browser.test_guardian_pages import _assert_accessible, _assert_fits_a_small_phone

pytestmark = pytest.mark.browser


def _rows(page, selector: str) -> int:
    """How many distinct rows the elements matching `selector` are laid out on."""
    tops = page.evaluate(
        "s => [...document.querySelectorAll(s)].map(e => Math.round(e.getBoundingClientRect().top))",
        selector,
    )
    return len(set(tops))


def test_the_county_header_fits_a_small_phone(server, phone, artifacts, staff_login):
    sign_in_staff(phone, server["url"], staff_login("county.demo"))
    phone.goto(f"{server['url']}/staff/students")
    phone.set_viewport_size({"width": 360, "height": 740})
    links = phone.locator(".bar-user .nav a")
    assert links.count() >= 8  # the county's own links, messages, account
    assert _rows(phone, ".bar-user .nav li") <= 2
    phone.screenshot(path=str(artifacts / "header-county-360.png"))
    assert links.last.is_visible()  # nothing folded away or scrolled out of sight
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)
    phone.set_viewport_size({"width": 360, "height": 740})
    links.filter(has_text="超期预警").click()
    phone.wait_for_url(re.compile(r".*/staff/early-warning$"))


def test_a_wide_screen_shows_the_links_in_two_rows_at_most(server, phone, staff_login):
    sign_in_staff(phone, server["url"], staff_login("county.demo"))
    phone.goto(f"{server['url']}/staff/students")
    phone.set_viewport_size({"width": 1024, "height": 800})
    assert _rows(phone, ".bar-user .nav li") <= 2
