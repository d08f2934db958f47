"""A new guardian on a phone: from the school's code to a signed-in home with a passkey, then
signing out and in again without a name; and a forgotten password, the code read from the outbox."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine, text

from portal.demo.generator import DEMO_PASSWORD
from tests.browser.test_guardian_pages import _assert_accessible, _assert_fits_a_small_phone
from tests.browser.test_passkey_pages import _authenticator, _sign_out

pytestmark = pytest.mark.browser

NEW_MOBILE = "13900005555"
NEW_PASSWORD = "spring river lantern"


def _query(database_url: str, sql: str, **params):
    engine = create_engine(database_url)
    with engine.connect() as connection:
        value = connection.execute(text(sql), params).scalar_one()
    engine.dispose()
    return value


def _latest_sms_code(database_url: str, mobile: str) -> str:
    body = _query(
        database_url,
        "SELECT body FROM outbox WHERE channel = 'sms' AND recipient = :mobile ORDER BY id DESC LIMIT 1",
        mobile=mobile,
    )
    return re.search(r"\d{6}", body).group(0)


def _issue_code(browser, server, mobile: str = NEW_MOBILE, nth: int = 3) -> tuple[str, str]:
    """The school registrar issues a code for the new guardian, as on the staff page."""
    chromium, playwright = browser
    context = chromium.new_context(**playwright.devices["Pixel 7"])
    page = context.new_page()
    page.goto(f"{server['url']}/sign-in")
    page.get_by_label("手机号或工作账号").fill("school.demo")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(re.compile(r".*/staff/students$"))
    page.locator("main a[href*='/staff/students/']").nth(nth).click()
    page.wait_for_url(re.compile(r".*/staff/students/\d+$"))
    student_id = page.url.rsplit("/", 1)[1]
    page.get_by_label("监护人姓名").fill("钱家长")
    page.get_by_label("监护人手机号").fill(mobile)
    page.get_by_role("button", name="签发绑定码").click()
    code = page.locator("[data-binding-code]").get_attribute("data-binding-code")
    context.close()
    birth = _query(
        server["database_url"], "SELECT birth_date FROM students WHERE id = :id", id=int(student_id)
    )
    return code, str(birth)[:10]


def test_a_new_guardian_from_the_schools_code_to_a_passkey_and_back(server, browser, phone, artifacts):
    base_url = server["url"]
    code, birth = _issue_code(browser, server)
    cdp, authenticator = _authenticator(phone)

    phone.goto(f"{base_url}/sign-in")
    phone.get_by_role("link", name="首次使用？请用学校发放的绑定码开始").click()
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)
    phone.get_by_label("手机号").fill(NEW_MOBILE)
    phone.get_by_label("绑定码").fill(code)
    phone.get_by_label("孩子的出生日期").fill(birth)
    phone.get_by_role("button", name="获取短信验证码").click()
    phone.wait_for_url(f"{base_url}/first-sign-in/verify")
    assert "我们已向您的手机发送6位短信验证码" in phone.locator("main").inner_text()
    phone.get_by_label("短信验证码").fill(_latest_sms_code(server["database_url"], NEW_MOBILE))
    phone.get_by_label("设置密码").fill(NEW_PASSWORD)
    phone.get_by_label("再次输入新密码").fill(NEW_PASSWORD)
    phone.screenshot(path=str(artifacts / "first-sign-in-verify.png"), full_page=True)
    phone.get_by_role("button", name="创建账号").click()
    phone.wait_for_url(f"{base_url}/account/passkeys")
    assert "欢迎！您的账号已开通，孩子已绑定。" in phone.locator("main").inner_text()

    phone.get_by_role("button", name="添加通行密钥").click()
    phone.wait_for_selector("text=通行密钥已添加。")
    phone.screenshot(path=str(artifacts / "first-sign-in-passkey.png"), full_page=True)
    _sign_out(phone)
    phone.get_by_role("button", name="使用通行密钥").click()
    phone.wait_for_url(f"{base_url}/children/")
    hrefs = phone.eval_on_selector_all("main a", "links => links.map(a => a.getAttribute('href'))")
    children = [href for href in hrefs if re.fullmatch(r"/children/\d+", href or "")]
    assert len(children) == 1  # the one linked child
    phone.screenshot(path=str(artifacts / "first-sign-in-home.png"), full_page=True)
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1

    # Forgotten password: the code arrives through the SMS outbox.
    _sign_out(phone)
    phone.get_by_role("link", name="忘记密码").click()
    phone.get_by_label("手机号").fill(NEW_MOBILE)
    phone.get_by_role("button", name="获取短信验证码").click()
    phone.wait_for_url(f"{base_url}/password/reset")
    phone.get_by_label("短信验证码").fill(_latest_sms_code(server["database_url"], NEW_MOBILE))
    phone.get_by_label("新密码", exact=True).fill("autumn bridge window")
    phone.get_by_label("再次输入新密码").fill("autumn bridge window")
    phone.get_by_role("button", name="设置新密码").click()
    phone.wait_for_url(f"{base_url}/sign-in")
    assert "新密码已设置" in phone.locator("main").inner_text()
    phone.get_by_label("手机号或工作账号").fill(NEW_MOBILE)
    phone.get_by_label("密码").fill("autumn bridge window")
    phone.get_by_role("button", name="登录", exact=True).click()
    phone.wait_for_url(f"{base_url}/children/")


PASSKEY_MOBILE = "13900006666"


def test_a_new_guardian_signs_up_with_a_passkey_and_no_password(server, browser, phone, artifacts):
    base_url = server["url"]
    code, birth = _issue_code(browser, server, PASSKEY_MOBILE)  # a second guardian of the same child
    cdp, authenticator = _authenticator(phone)

    phone.goto(f"{base_url}/first-sign-in")
    phone.get_by_label("手机号").fill(PASSKEY_MOBILE)
    phone.get_by_label("绑定码").fill(code)
    phone.get_by_label("孩子的出生日期").fill(birth)
    phone.get_by_role("button", name="获取短信验证码").click()
    phone.wait_for_url(f"{base_url}/first-sign-in/verify")
    phone.get_by_label("短信验证码").fill(_latest_sms_code(server["database_url"], PASSKEY_MOBILE))
    phone.screenshot(path=str(artifacts / "first-sign-in-verify-passkey-choice.png"), full_page=True)
    phone.get_by_role("button", name="用通行密钥代替密码").click()  # no password typed
    phone.wait_for_url(f"{base_url}/first-sign-in/passkey")
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)
    phone.get_by_label("通行密钥名称").fill("我的手机")
    phone.screenshot(path=str(artifacts / "first-sign-in-passkey-sign-up.png"), full_page=True)
    phone.get_by_role("button", name="添加通行密钥并创建账号").click()
    phone.wait_for_url(f"{base_url}/children/")
    assert "欢迎！您的账号已开通，孩子已绑定。" in phone.locator("main").inner_text()
    phone.screenshot(path=str(artifacts / "first-sign-in-passkey-home.png"), full_page=True)
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1
    assert (
        _query(
            server["database_url"],
            "SELECT count(*) FROM users WHERE mobile = :mobile AND password_hash IS NULL",
            mobile=PASSKEY_MOBILE,
        )
        == 1
    )

    # The only passkey of an account without a password stays.
    phone.goto(f"{base_url}/account/passkeys")
    phone.get_by_role("button", name="删除").first.click()
    assert "这是您唯一的通行密钥，且您的账号没有密码" in phone.locator("main").inner_text()
    phone.screenshot(path=str(artifacts / "passkey-last-way-in.png"), full_page=True)

    # Signed out, the passkey alone signs in again.
    _sign_out(phone)
    phone.get_by_role("button", name="使用通行密钥").click()
    phone.wait_for_url(f"{base_url}/children/")
