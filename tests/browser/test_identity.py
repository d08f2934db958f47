"""A guardian shows the live card on a phone; a relying party checks it, online and offline.

The QR code is read back from a Chromium screenshot with zxing-cpp: what a phone camera would see.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp
from PIL import Image

from portal.demo.generator import DEMO_PASSWORD
from portal.identity.offline import build_verifier
from tests.browser.conftest import sign_in_staff
from tests.browser.test_guardian_pages import _assert_accessible, _assert_fits_a_small_phone

pytestmark = pytest.mark.browser
GUARDIAN = "13800138000"


def _sign_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/sign-in")
    page.get_by_label("手机号或工作账号").fill(GUARDIAN)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base_url}/children/")


def _qr_texts(image: Image.Image) -> set[str]:
    """The distinct texts of the QR codes a camera app would find in `image`.

    Only QR codes are looked for: zxing-cpp's other decoders can find a phantom linear
    barcode among a QR code's modules, and a decoder may report the same symbol twice.
    """
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return {result.text for result in results if result.valid}


def _read_qr(png: bytes) -> str:
    texts = _qr_texts(Image.open(io.BytesIO(png)))
    assert len(texts) == 1, "exactly one QR code should be readable"
    return texts.pop()


def _offline_verifier(base_url: str):
    """What a relying party saves: the JWKS and the status list, fetched over plain HTTP."""
    with urllib.request.urlopen(f"{base_url}/.well-known/jwks.json") as response:
        jwks = json.load(response)
    with urllib.request.urlopen(f"{base_url}/identity/status/1") as response:
        status_list = response.read().decode()
    return build_verifier(jwks, [status_list])


def _api_verdict(page, base_url: str, token: str) -> dict:
    return page.request.post(f"{base_url}/api/v1/identity/verify", data={"token": token}).json()


def _open_first_card(page, base_url: str) -> str:
    page.locator("[data-child] a").first.click()
    page.locator("[data-identity-card]").click()
    page.wait_for_selector("[data-qr] svg")
    return page.url


def test_the_live_card_scans_and_verifies_online_and_offline(server, phone, browser, artifacts):
    base_url = server["url"]
    _sign_in(phone, base_url)
    card_url = _open_first_card(phone, base_url)
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)

    first_time = phone.locator("#live-clock").inner_text()
    time.sleep(1.3)
    assert phone.locator("#live-clock").inner_text() != first_time, "the clock should move"
    phone.screenshot(path=str(artifacts / "identity-card.png"), full_page=True)
    shot = phone.locator("[data-qr]").screenshot(path=str(artifacts / "identity-card-qr.png"))
    token = _read_qr(shot)
    assert token.startswith("XJ1:")

    verdict = _api_verdict(phone, base_url, token)
    assert verdict["valid"] and verdict["type"] == "xj-card+jwt", verdict
    assert set(verdict["claims"]) == {"iss", "aud", "iat", "exp", "jti", "sub", "enr", "sch", "stg", "grd"}
    offline = _offline_verifier(base_url).verify(token, audience="public")
    assert offline.is_valid, offline

    # A relying party on its own phone: a photo of the card, then a tampered code.
    chromium, playwright = browser
    verifier_context = chromium.new_context(**playwright.devices["Pixel 7"])
    checker = verifier_context.new_page()
    checker.goto(f"{base_url}/verify")
    _assert_accessible(checker)
    _assert_fits_a_small_phone(checker)
    checker.set_input_files("#photo", files=[{"name": "card.png", "mimeType": "image/png", "buffer": shot}])
    checker.get_by_role("button", name="核验").click()
    checker.wait_for_selector("[data-verdict]")
    assert checker.locator("[data-verdict]").get_attribute("data-verdict") == "valid"
    _assert_accessible(checker)
    _assert_fits_a_small_phone(checker)
    checker.screenshot(path=str(artifacts / "identity-verify-green.png"), full_page=True)

    tampered = token[:-8] + ("00000000" if not token.endswith("00000000") else "11111111")
    checker.goto(f"{base_url}/verify")
    checker.locator("details summary").click()
    checker.get_by_label("码文本").fill(tampered)
    checker.get_by_role("button", name="核验").click()
    checker.wait_for_selector("[data-verdict]")
    assert checker.locator("[data-verdict]").get_attribute("data-verdict") == "invalid"
    assert checker.locator("[data-reason]").count() == 1
    _assert_accessible(checker)
    checker.screenshot(path=str(artifacts / "identity-verify-red.png"), full_page=True)
    verifier_context.close()

    # The family sees the two online checks of this card.
    phone.goto(card_url)
    assert phone.get_by_text("查看了").count() >= 2


def test_the_card_renews_itself_with_javascript_off(server, browser):
    chromium, playwright = browser
    context = chromium.new_context(**playwright.devices["Pixel 7"], java_script_enabled=False)
    page = context.new_page()
    _sign_in(page, server["url"])
    _open_first_card(page, server["url"])
    first = _read_qr(page.locator("[data-qr]").screenshot())
    page.get_by_role("link", name="显示新二维码").click()
    second = _read_qr(page.locator("[data-qr]").screenshot())
    assert first != second  # a new token each time the page is loaded
    context.close()


def test_a_certificate_pdf_qr_verifies(server, phone, artifacts):
    base_url = server["url"]
    _sign_in(phone, base_url)
    phone.locator("[data-child] a").first.click()
    phone.get_by_role("link", name="学籍证明").click()
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)
    phone.get_by_label("用途").fill("申请公共租赁住房")
    phone.get_by_role("button", name="开具证明").click()
    phone.wait_for_selector("[data-code]")
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)
    phone.screenshot(path=str(artifacts / "identity-certificate.png"), full_page=True)
    code = phone.locator("[data-code]").inner_text()

    pdf = phone.request.get(base_url + phone.get_by_role("link", name="下载 PDF").get_attribute("href"))
    assert pdf.headers["content-type"] == "application/pdf"
    image = pypdfium2.PdfDocument(pdf.body())[0].render(scale=2).to_pil()
    image.save(artifacts / "identity-certificate-pdf.png")
    (token,) = _qr_texts(image)
    assert _api_verdict(phone, base_url, token)["valid"]
    assert _offline_verifier(base_url).verify(token, audience="public").is_valid

    phone.goto(f"{base_url}/verify")
    phone.get_by_label("或输入学籍证明的验证码").fill(code)
    phone.get_by_role("button", name="核验").click()
    phone.wait_for_selector("[data-verdict]")
    assert phone.locator("[data-verdict]").get_attribute("data-verdict") == "valid"


def _register_party(server, audience: str, name: str) -> None:
    """What an operator does: `flask identity parties add`, against the served database."""
    env = {
        **os.environ,
        "DATABASE_URL": server["database_url"],
        "PORTAL_ENV": "production",
        "SECRET_KEY": "browser-test-secret",
        "FLASK_APP": "wsgi",
    }
    env.pop("TEST_DATABASE_URL", None)
    flask = Path(sys.executable).parent / "flask"
    subprocess.run([str(flask), "identity", "parties", "add", audience, name], env=env, check=True)


def test_the_county_approval_page_is_accessible(server, phone, artifacts, staff_login):
    _register_party(server, "exam-centre.example", "市教育考试院")
    sign_in_staff(phone, server["url"], staff_login("county.demo"))  # county staff: a passkey
    phone.get_by_role("link", name="核验方").click()
    assert phone.get_by_role("heading", level=1).inner_text() == "核验方"
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)
    phone.get_by_label("姓名").check()
    phone.get_by_label("用途").fill("中考考场身份核验")
    phone.get_by_role("button", name="同意").click()
    phone.wait_for_selector("[data-approval]")
    assert "中考考场身份核验" in phone.locator("[data-approval]").inner_text()
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)
    phone.screenshot(path=str(artifacts / "identity-county-approvals.png"), full_page=True)


# A stand-in for a phone camera and the browser's BarcodeDetector: the page's own script
# (static/identity-verify.js) then runs its real flow — show the button, open the camera,
# detect, fill in the code, submit.
_FAKE_CAMERA = """
window.__scanned = %s;
window.BarcodeDetector = class {
  static getSupportedFormats() { return Promise.resolve(["qr_code"]); }
  detect() { return Promise.resolve([{ rawValue: window.__scanned }]); }
};
navigator.mediaDevices.getUserMedia = () => {
  const canvas = document.createElement("canvas");
  canvas.getContext("2d").fillRect(0, 0, 10, 10);
  return Promise.resolve(canvas.captureStream());
};
"""


def test_live_scanning_where_the_browser_offers_barcode_detection(server, phone, browser):
    base_url = server["url"]
    _sign_in(phone, base_url)
    _open_first_card(phone, base_url)
    token = _read_qr(phone.locator("[data-qr]").screenshot())

    chromium, playwright = browser
    plain = chromium.new_context(**playwright.devices["Pixel 7"])
    page = plain.new_page()
    page.goto(f"{base_url}/verify")
    assert page.locator("[data-scan-start]").is_hidden()  # no BarcodeDetector: the photo input only
    plain.close()

    scanning = chromium.new_context(**playwright.devices["Pixel 7"])
    scanning.add_init_script(_FAKE_CAMERA % json.dumps(token))
    page = scanning.new_page()
    page.goto(f"{base_url}/verify")
    page.get_by_role("button", name="用相机扫描").click()
    page.wait_for_selector("[data-verdict]")
    assert page.locator("[data-verdict]").get_attribute("data-verdict") == "valid"
    scanning.close()
