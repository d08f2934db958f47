"""Sign-in throttling is shared by every worker through Redis (database 2 of the local server).

Two gunicorn servers (separate processes, as two workers or two hosts would be) take turns
answering; with Redis the eleventh attempt is refused whichever server gets it. With
in-process memory storage the same sequence is not refused: the control that shows the
test measures the sharing. An unknown account is throttled exactly like a real one.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/2")
BIN = Path(sys.executable).parent
KNOWN = "13800138000"  # the demo guardian
UNKNOWN = "13800138999"


def _redis_or_skip():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"!!! no Redis at {REDIS_URL}: shared throttling NOT tested")
    return client


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    from tests.conftest import fresh_database_url

    env = _env(
        tmp_path_factory.mktemp("throttle"), fresh_database_url(tmp_path_factory, "throttle"), "memory://"
    )
    subprocess.run(
        [str(BIN / "flask"), "portal", "setup", "--students", "10"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return env


def _env(instance: Path, database_url: str, storage: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PORTAL_ENV": "development",
        "SECRET_KEY": "throttle-test-secret",
        "FLASK_APP": "wsgi",
        "PORTAL_INSTANCE_DIR": str(instance),
        "RATELIMIT_STORAGE_URI": storage,
        "PROXY_HOPS": "1",  # each attempt names its own client address
        "ARGON2_TIME_COST": "1",  # cheap hashes: this test is about counting
        "ARGON2_MEMORY_COST": "1024",
    }
    env.pop("TEST_DATABASE_URL", None)
    return env


@pytest.fixture
def two_servers(database, tmp_path):
    started = []

    def start(storage: str) -> list[str]:
        urls = []
        for _ in range(2):
            port = _free_port()
            log = (tmp_path / f"gunicorn-{port}.log").open("w")
            process = subprocess.Popen(
                [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1", "wsgi:app"],
                cwd=ROOT,
                env={**database, "RATELIMIT_STORAGE_URI": storage},
                stdout=log,
                stderr=log,
            )
            started.append((process, log))
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            _wait(url)
        return urls

    yield start
    for process, log in started:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _wait(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not start")


class Visitor:
    """A browser-like client for one server: keeps its cookies, fetches the form token."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def try_sign_in(self, login: str, password: str, address: str) -> int:
        headers = {"X-Forwarded-For": address}
        with self.opener.open(urllib.request.Request(f"{self.base_url}/sign-in", headers=headers)) as page:
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode()).group(1)
        body = urllib.parse.urlencode({"login": login, "password": password, "csrf_token": token}).encode()
        request = urllib.request.Request(f"{self.base_url}/sign-in", data=body, headers=headers)
        try:
            with self.opener.open(request) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code


def _attempts(urls: list[str], login: str, *, same_address: bool) -> list[int]:
    visitors = [Visitor(url) for url in urls]
    statuses = []
    for attempt in range(11):
        address = "198.51.100.7" if same_address else f"203.0.113.{attempt + 1}"
        statuses.append(visitors[attempt % 2].try_sign_in(login, f"wrong {attempt}", address))
    return statuses


@pytest.mark.parametrize("login", [KNOWN, UNKNOWN])
def test_two_servers_share_one_count_per_account_on_redis(two_servers, login):
    redis_client = _redis_or_skip()
    redis_client.flushdb()  # database 2 only: ours
    statuses = _attempts(two_servers(REDIS_URL), login, same_address=False)
    # Every attempt from a different address: only the per-account count can refuse.
    assert statuses == [401] * 10 + [429]


def test_two_servers_share_one_count_per_address_on_redis(two_servers):
    redis_client = _redis_or_skip()
    redis_client.flushdb()
    urls = two_servers(REDIS_URL)
    visitors = [Visitor(url) for url in urls]
    statuses = [visitors[n % 2].try_sign_in(f"1380013{n:04d}", "wrong", "198.51.100.7") for n in range(11)]
    assert statuses == [401] * 10 + [429]


def test_without_a_shared_store_each_server_counts_alone(two_servers):
    """The control: in-process memory storage does not share, so the eleventh is not refused."""
    statuses = _attempts(two_servers("memory://"), UNKNOWN, same_address=False)
    assert statuses == [401] * 11
