"""Sign-in throughput: a password sign-in and a passkey sign-in, as ratios to a bare endpoint.

Serves the portal with gunicorn (production argon2 parameters, rate limits off for the run)
on a small demo database, registers a passkey for the demo guardian with the test suite's
software authenticator, then drives, side by side in each round, for BENCH_SECONDS each:
the bare /healthz endpoint, a full password sign-in (form page for the CSRF token + POST)
and a full passkey sign-in (form page + options + answer). Prints sign-ins per second and
their ratio to /healthz requests per second, and the time of one argon2 hash.

Not a test. Run under `flock /tmp/xueji-bench.lock` on a shared machine:
    flock /tmp/xueji-bench.lock .venv/bin/python benchmarks/sign_in.py

Environment: BENCH_DATABASE_URL (default xueji_bench_accounts on 127.0.0.1:5432),
BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_PORT (5097), BENCH_CLIENTS (4).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.soft_authenticator import SoftAuthenticator  # noqa: E402

BIN = Path(sys.executable).parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/xueji_bench_accounts"
)
SECONDS = int(os.environ.get("BENCH_SECONDS", 5))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
PORT = int(os.environ.get("BENCH_PORT", 5097))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", 4))
BASE = f"http://localhost:{PORT}"
GUARDIAN, PASSWORD = "13800138000", "Demo@2026"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Client:
    def __init__(self):
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(BASE + path) as response:
            return response.read().decode()

    def post(self, path: str, data=None, json_body=None, token: str = "") -> tuple[int, bytes]:
        headers = {"X-CSRFToken": token}
        if json_body is not None:
            body, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        else:
            body = urllib.parse.urlencode(data or {}).encode()
        request = urllib.request.Request(BASE + path, data=body, headers=headers)
        try:
            with self.opener.open(request) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def token(self) -> str:
        return _TOKEN.search(self.get("/sign-in")).group(1)


def password_sign_in(_thread: int) -> None:
    client = Client()
    status, _ = client.post(
        "/sign-in", {"login": GUARDIAN, "password": PASSWORD, "csrf_token": client.token()}
    )
    assert status == 200, status  # followed the redirect to the home page


def passkey_sign_in(authenticator: SoftAuthenticator) -> None:
    """One sign-in with this thread's own passkey: its sign count grows in order, as on a phone.

    (Threads sharing one authenticator raced on its counter: answers reached the server out of
    order, were refused as a cloned key, and the figure counted threads that had died.)
    """
    client = Client()
    token = client.token()
    status, options = client.post("/sign-in/passkey/options", json_body={}, token=token)
    answer = authenticator.get(json.loads(options))
    status, body = client.post("/sign-in/passkey", json_body={"credential": answer}, token=token)
    assert status == 200, (status, body[:200])


def healthz(_thread: int = 0) -> None:
    with urllib.request.urlopen(BASE + "/healthz") as response:
        response.read()


def rate(action, seconds: int) -> float:
    """Completed actions per second over CLIENTS threads; action(n) is called with the thread's index.

    A failed action stops the run (re-raised here), so a figure never counts dead threads.
    """
    done, stop, failures = [0] * CLIENTS, time.monotonic() + seconds, []

    def work(n: int) -> None:
        try:
            while time.monotonic() < stop:
                action(n)
                done[n] += 1
        except Exception as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} of {CLIENTS} threads failed") from failures[0]
    return sum(done) / (time.monotonic() - started)


def main() -> None:
    instance = tempfile.mkdtemp(prefix="xueji-bench-sign-in-")
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "PORTAL_ENV": "development",
        "SECRET_KEY": "bench",
        "FLASK_APP": "wsgi",
        "PORTAL_INSTANCE_DIR": instance,
        "RATELIMIT_ENABLED": "0",
        "SMS_SENDER": "null",
    }
    _reset_database()
    subprocess.run(
        [str(BIN / "flask"), "portal", "setup", "--students", "50"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{PORT}", "--workers", "2", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait()
        # One passkey (own credential, own sign count) per client thread, like one phone each.
        authenticators = [SoftAuthenticator(origin=BASE) for _ in range(CLIENTS)]
        for authenticator in authenticators:
            _register(authenticator)
        results = {"healthz": [], "password": [], "passkey": []}
        for _ in range(ROUNDS):
            results["healthz"].append(rate(healthz, SECONDS))
            results["password"].append(rate(password_sign_in, SECONDS))
            results["passkey"].append(rate(lambda n: passkey_sign_in(authenticators[n]), SECONDS))
        bare = statistics.median(results["healthz"])
        print(f"clients {CLIENTS}, {ROUNDS} rounds of {SECONDS} s, gunicorn 2 workers")
        print(f"/healthz           {bare:8.1f} req/s  (1.000)")
        for name in ("password", "passkey"):
            value = statistics.median(results[name])
            print(f"{name + ' sign-in':18} {value:8.1f} /s     ({value / bare:.3f} of /healthz)")
        print(f"one argon2id hash (t=3, m=64 MiB, p=4): {_hash_ms():.0f} ms")
    finally:
        server.terminate()
        server.wait(timeout=10)


def _reset_database() -> None:
    if not DATABASE_URL.startswith("postgresql"):
        return
    import psycopg
    from psycopg import sql

    base, name = DATABASE_URL.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _wait() -> None:
    for _ in range(150):
        try:
            healthz()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def _register(authenticator: SoftAuthenticator) -> None:
    client = Client()
    client.post("/sign-in", {"login": GUARDIAN, "password": PASSWORD, "csrf_token": client.token()})
    token = _TOKEN.search(client.get("/account/passkeys")).group(1)
    _, options = client.post("/account/passkeys/options", json_body={}, token=token)
    status, body = client.post(
        "/account/passkeys", json_body={"credential": authenticator.create(json.loads(options))}, token=token
    )
    assert status == 200, body


def _hash_ms() -> float:
    from argon2 import PasswordHasher

    hasher = PasswordHasher(time_cost=3, memory_cost=64 * 1024)
    started = time.perf_counter()
    for _ in range(5):
        hasher.hash("benchmark password")
    return (time.perf_counter() - started) / 5 * 1000


if __name__ == "__main__":
    main()
