"""A real Chromium on a phone-sized viewport against the portal served by gunicorn.

The server runs on its own database (SQLite file, or a PostgreSQL database beside the
suite's when TEST_DATABASE_URL is set), set up by the same `flask portal setup` that
`make run` uses, with a small demo province.
"""

from __future__ import annotations

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
    process = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # WebAuthn (later) needs the page opened as localhost, not 127.0.0.1.
    base_url = f"http://localhost:{port}"
    _wait_until_up(base_url, process)
    yield {"url": base_url, "database_url": env["DATABASE_URL"]}
    process.terminate()
    process.wait(timeout=10)
    process.stderr.close()


def _wait_until_up(base_url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {process.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the portal did not start within 30 s")


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
