"""Throughput of the guardian home and the staff search, as a ratio to a bare endpoint.

Loads 1,000,000 synthetic students into PostgreSQL (once; reused while the database
keeps them), serves the portal with gunicorn, and drives it with wrk on loopback. Each
round measures the bare /healthz endpoint and both pages side by side, so the ratios
hold on a shared, noisy machine. Not a test: run it with `make bench`.

Environment: BENCH_DATABASE_URL (default: database xueji_bench on 127.0.0.1:5432),
BENCH_STUDENTS (default 1000000), BENCH_SECONDS per run (default 5), BENCH_ROUNDS (3).
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BENCH_DATABASE_PREFIX = "xueji_bench"
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/xueji_bench"
)
STUDENTS = int(os.environ.get("BENCH_STUDENTS", 1_000_000))
SECONDS = int(os.environ.get("BENCH_SECONDS", 5))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
PORT = 5099
GUNICORN = ["--workers", "2", "--threads", "1", "--bind", f"127.0.0.1:{PORT}", "wsgi:app"]
PASSWORD = "Demo@2026"
# Flask-Login's session protection compares the user agent: send the same one everywhere.
USER_AGENT = "xueji-bench/1"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _env() -> dict:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "PORTAL_ENV": "development",
        "SECRET_KEY": "bench-secret",
        "FLASK_APP": "wsgi",
    }


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _student_count() -> int | None:
    """Students in the benchmark database; None when it does not exist yet."""
    import psycopg

    try:
        with psycopg.connect(_libpq_url(DATABASE_URL)) as connection:
            return connection.execute("SELECT count(*) FROM students").fetchone()[0]
    except psycopg.errors.UndefinedTable:
        return 0
    except psycopg.OperationalError as error:
        if "does not exist" in str(error):
            return None
        raise  # the server is down or refuses us: never a reason to drop anything


def _recreate_database() -> None:
    """Drop and create the benchmark database, which must be one of ours by name."""
    import psycopg
    from psycopg import sql

    base, name = _libpq_url(DATABASE_URL).rsplit("/", 1)
    if not name.startswith(BENCH_DATABASE_PREFIX):
        sys.exit(
            f"refusing to drop {name!r}: the benchmark only recreates databases named "
            f"{BENCH_DATABASE_PREFIX}*"
        )
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _first_student_name() -> str:
    import psycopg

    with psycopg.connect(_libpq_url(DATABASE_URL)) as connection:
        return connection.execute("SELECT name FROM students ORDER BY id LIMIT 1").fetchone()[0]


def prepare_database() -> None:
    count = _student_count()
    if count is not None and count >= STUDENTS:
        print(f"database already holds {count:,} students: reusing it")
        subprocess.run(
            [str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=_env(), check=True, capture_output=True
        )
        return
    _recreate_database()
    subprocess.run(
        [str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=_env(), check=True, capture_output=True
    )
    started = time.perf_counter()
    subprocess.run(
        [str(BIN / "flask"), "demo", "load", "--students", str(STUDENTS)], cwd=ROOT, env=_env(), check=True
    )
    print(f"loaded {STUDENTS:,} students in {time.perf_counter() - started:.0f} s")
    subprocess.run(["psql", _libpq_url(DATABASE_URL), "-qc", "ANALYZE"], check=True)


def _signed_in_cookie(base: str, login: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(f"{base}/sign-in").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"login": login, "password": PASSWORD, "csrf_token": token})
    opener.open(f"{base}/sign-in", data=body.encode())
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def _assert_answers_200(url: str, cookie: str | None) -> None:
    """wrk counts a redirect to the sign-in page as success: make sure there is none."""
    request = urllib.request.Request(
        url, headers={"User-Agent": USER_AGENT, **({"Cookie": cookie} if cookie else {})}
    )
    with urllib.request.build_opener(_NoRedirect).open(request) as response:
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")


def _wrk(url: str, cookie: str | None) -> float:
    _assert_answers_200(url, cookie)
    command = ["wrk", "-t1", "-c8", f"-d{SECONDS}s", "-H", f"User-Agent: {USER_AGENT}", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} failed responses")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    prepare_database()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), *GUNICORN],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{PORT}"
    try:
        for _ in range(50):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        county = _signed_in_cookie(base, "county.demo")
        full_name = urllib.parse.quote(_first_student_name())
        targets = {
            "hello (/healthz)": (f"{base}/healthz", None),
            "guardian home": (f"{base}/children/", _signed_in_cookie(base, "13800138000")),
            "staff search (county, surname 王)": (f"{base}/staff/students?q=%E7%8E%8B", county),
            "staff search (county, full name)": (f"{base}/staff/students?q={full_name}", county),
        }
        results: dict[str, list[float]] = {name: [] for name in targets}
        for round_number in range(1, ROUNDS + 1):
            for name, (url, cookie) in targets.items():
                results[name].append(_wrk(url, cookie))
            print(
                f"round {round_number}: "
                + ", ".join(f"{name} {values[-1]:.0f}/s" for name, values in results.items())
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
    hello = statistics.median(results["hello (/healthz)"])
    print(
        f"\n{STUDENTS:,} students; gunicorn {' '.join(GUNICORN[:4])}; wrk -t1 -c8 "
        f"-d{SECONDS}s; median of {ROUNDS} rounds"
    )
    for name, values in results.items():
        median = statistics.median(values)
        print(f"  {name:<36} {median:8.0f} req/s   ratio to hello {median / hello:5.2f}")


if __name__ == "__main__":
    main()
