"""A real Chromium on a phone-sized viewport against the portal served by gunicorn.

The server runs on its own database (SQLite file, or a PostgreSQL database beside the
suite's when TEST_DATABASE_URL is set), set up by the same `flask portal setup` that
`make run` uses, with a small demo province.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import fresh_database_url

CHROMIUM = "/usr/bin/chromium"
# Generous: a 2-core CI machine running the suite starts gunicorn slowly.
STARTUP_SECONDS = 90
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(f"CI needs Chromium at {CHROMIUM} for the browser tests")
    reason = f"!!! BROWSER TESTS SKIPPED: no Chromium at {CHROMIUM} (apt-get install chromium)"
    print(f"\n{reason}\n", file=sys.stderr)
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """Base URL of a running portal with a 200-student demo province."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": fresh_database_url(tmp_path_factory, "browser"),
        "PORTAL_ENV": "development",
        "SECRET_KEY": "browser-test-secret",
        "FLASK_APP": "wsgi",
        "PORTAL_INSTANCE_DIR": str(tmp_path_factory.mktemp("instance")),
        # Every browser of these tests signs in from 127.0.0.1; the per-address limit itself
        # is tested in tests/functional (test_accounts, test_shared_throttling).
        "SIGN_IN_LIMIT_PER_ADDRESS": "600 per minute",
    }
    env.pop("TEST_DATABASE_URL", None)
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [str(bin_dir / "flask"), "portal", "setup", "--students", "200"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    # The server's log goes to a file (a pipe nobody reads fills up and stalls gunicorn).
    log_path = tmp_path_factory.mktemp("server-log") / "gunicorn.log"
    log = log_path.open("w")  # noqa: SIM115  (open for the whole session, closed below)
    process = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    # WebAuthn (later) needs the page opened as localhost, not 127.0.0.1.
    base_url = f"http://localhost:{port}"
    try:
        _wait_until_up(base_url, process, log_path)
        yield {"url": base_url, "database_url": env["DATABASE_URL"], "log": log_path}
    finally:  # also when the server never came up: no stray gunicorn, no open log
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_up(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the portal did not start within {STARTUP_SECONDS} s")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser, playwright
        browser.close()


@pytest.fixture
def phone(browser):
    """A fresh Pixel 7 context (412 px wide, touch, mobile user agent) and its page."""
    chromium, playwright = browser
    context = chromium.new_context(**playwright.devices["Pixel 7"])
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


STAFF_PASSWORD = "Browser-tests-staff-2026"
_STAFF_SERIAL = itertools.count(1)  # one server per session: logins unique across its tests


@pytest.fixture
def staff_login(server):
    """Make a staff account of its own beside an existing one (same role, same unit).

    County, city and province staff enrol a passkey at their first sign-in (M-24 accounts
    rules), and a passkey lives in one browser's authenticator: each test that signs such
    staff in gets an account whose first sign-in is its own.
    """
    from sqlalchemy import select

    from portal import create_app
    from portal.accounts.models import User
    from portal.accounts.service import create_staff
    from portal.config import config_for_tests
    from portal.extensions import db

    app = create_app(config_for_tests(server["database_url"]))
    made = []

    def make(like: str) -> str:
        login = f"{like}.t{next(_STAFF_SERIAL)}"
        with app.app_context():
            try:
                model = db.session.scalar(select(User).where(User.username == like))
                create_staff(login, "测试账号", STAFF_PASSWORD, model.role_enum, model.org_unit)
                db.session.commit()
            finally:
                db.session.remove()
        made.append(login)
        return login

    yield make
    with app.app_context():
        db.engine.dispose()


def sign_in_staff(page, base_url: str, login: str, password: str = STAFF_PASSWORD) -> None:
    """Sign staff in with their password; where a passkey is required, enrol one first.

    The browser gets a virtual authenticator (CDP), as a phone with a screen lock has one.
    """
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    page.goto(f"{base_url}/sign-in")
    page.get_by_label("手机号或工作账号").fill(login)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()
    if page.url.endswith("/account/passkeys/enrol"):
        page.get_by_role("button", name="添加通行密钥并登录").click()
        page.wait_for_url(lambda url: not url.endswith("/account/passkeys/enrol"))
    page.wait_for_load_state()
