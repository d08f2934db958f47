"""Passkeys in a real Chromium on a phone, with a CDP virtual authenticator (UV on, then off)."""

from __future__ import annotations

import re

import pytest

from portal.demo.generator import DEMO_PASSWORD
from tests.browser.test_guardian_pages import GUARDIAN, _assert_accessible, _assert_fits_a_small_phone

pytestmark = pytest.mark.browser


def _authenticator(page, *, verified: bool = True):
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": verified,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def _password_sign_in(page, base_url: str, login: str) -> None:
    page.goto(f"{base_url}/sign-in")
    page.get_by_label("手机号或工作账号").fill(login)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()


def _sign_out(page) -> None:
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(re.compile(r".*/sign-in$"))


def test_a_guardian_adds_a_passkey_signs_out_and_signs_in_without_a_name(server, phone, artifacts):
    base_url = server["url"]
    cdp, authenticator = _authenticator(phone)
    _password_sign_in(phone, base_url, GUARDIAN)
    phone.wait_for_url(f"{base_url}/children/")

    phone.get_by_role("link", name="账号", exact=True).click()
    phone.wait_for_url(f"{base_url}/account")
    phone.get_by_role("link", name="管理通行密钥").click()
    phone.wait_for_url(f"{base_url}/account/passkeys")
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)
    phone.get_by_label("通行密钥名称").fill("我的手机")
    phone.get_by_role("button", name="添加通行密钥").click()
    phone.wait_for_selector("text=通行密钥已添加。")
    assert "我的手机" in phone.locator("main").inner_text()
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"]
    phone.screenshot(path=str(artifacts / "passkeys-added.png"), full_page=True)

    _sign_out(phone)
    phone.get_by_role("button", name="使用通行密钥").click()
    phone.wait_for_url(f"{base_url}/children/")
    assert "我的孩子" in phone.locator("main").inner_text()
    assert (
        cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"][0]["signCount"]
        >= 1
    )

    # Rename, then sign out and check the name on the management page after signing in again.
    phone.goto(f"{base_url}/account/passkeys")
    phone.get_by_label("新名称").fill("家里的手机")
    phone.get_by_role("button", name="重命名").click()
    assert "家里的手机" in phone.locator("main").inner_text()


def test_without_user_verification_the_passkey_is_refused(server, phone, artifacts):
    base_url = server["url"]
    cdp, authenticator = _authenticator(phone)
    _password_sign_in(phone, base_url, "school.demo")
    phone.wait_for_url(re.compile(r".*/staff/students$"))
    phone.goto(f"{base_url}/account/passkeys")
    phone.get_by_role("button", name="添加通行密钥").click()
    phone.wait_for_selector("text=通行密钥已添加。")
    _sign_out(phone)

    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": False})
    phone.get_by_role("button", name="使用通行密钥").click()
    status = phone.locator("[data-passkey-status]").first
    status.wait_for()
    phone.wait_for_function(
        "() => document.querySelector('[data-passkey-status]').classList.contains('flash-error')"
    )
    assert phone.url.endswith("/sign-in")
    assert "通行密钥" in status.inner_text()
    phone.screenshot(path=str(artifacts / "passkey-refused.png"), full_page=True)
    phone.goto(f"{base_url}/children/")
    assert phone.url.startswith(f"{base_url}/sign-in")  # not signed in


def test_a_county_registrar_must_enrol_a_passkey_and_then_cannot_use_the_password_alone(
    server, phone, artifacts
):
    base_url = server["url"]
    cdp, authenticator = _authenticator(phone)
    _password_sign_in(phone, base_url, "county.demo")
    phone.wait_for_url(f"{base_url}/account/passkeys/enrol")
    assert "县、市、省级单位工作人员须使用通行密钥登录" in phone.locator("main").inner_text()
    _assert_accessible(phone)
    _assert_fits_a_small_phone(phone)
    phone.screenshot(path=str(artifacts / "passkey-enrol-county.png"), full_page=True)
    phone.get_by_role("button", name="添加通行密钥并登录").click()
    phone.wait_for_url(re.compile(r".*/staff/students$"))
    _sign_out(phone)

    _password_sign_in(phone, base_url, "county.demo")
    assert phone.url.endswith("/sign-in")
    assert "请点击“使用通行密钥”按钮" in phone.locator("main").inner_text()
    phone.screenshot(path=str(artifacts / "passkey-required-county.png"), full_page=True)

    phone.get_by_role("button", name="使用通行密钥").click()
    phone.wait_for_url(re.compile(r".*/staff/students$"))
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1
