"""Throughput of the hot pages, as ratios to a bare endpoint and to the framework's limit.

Loads 1,000,000 synthetic students into PostgreSQL (once; reused while the database
keeps them; VACUUM ANALYZE after loading), serves the portal with gunicorn, and drives it
with wrk on loopback. Next to it, with the same gunicorn settings, runs the framework-limit
page (benchmarks/framework_limit.py: flask-login, one user lookup, a Jinja page as large as
the guardian home). Each round measures the bare /healthz endpoint, the framework-limit
page and every target side by side, so the ratios hold on a shared, noisy machine. Any
answer other than 200 (a redirect to sign-in included) fails the run. Not a test: run it
with `make bench`, under `flock /tmp/xueji-bench.lock` on a shared machine.

The pages measured are listed once, in TARGETS.

Environment: BENCH_DATABASE_URL (default: database xueji_bench on 127.0.0.1:5432),
BENCH_STUDENTS (default 1000000), BENCH_SECONDS per run (default 5), BENCH_ROUNDS (3),
BENCH_PORT (default 5099; the framework-limit page uses the next port), BENCH_OPEN_TRANSFERS
(open transfer cases beside the students, default 100000), BENCH_ONLY (comma-separated words:
measure only the pages whose name holds one, besides the two baselines).
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
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
ONLY = [word for word in os.environ.get("BENCH_ONLY", "").split(",") if word]
PORT = int(os.environ.get("BENCH_PORT", 5099))
LIMIT_PORT = PORT + 1  # the framework-limit page, served next to the portal
WORKERS = ["--workers", "2", "--threads", "1"]
PASSWORD = "Demo@2026"
SECRET_KEY = "bench-secret"
# Flask-Login's session protection compares the user agent: send the same one everywhere.
USER_AGENT = "xueji-bench/1"
GUARDIAN = "13800138000"
# A parent following a transfer (`ensure_family_transfer`): the demo guardian's children may
# both have another request open, and then have no transfer to follow.
TRANSFER_GUARDIAN = "13800138099"
QUEUE_BACKLOG = 10_000  # pending steps in the demo school's approval queue


@dataclass(frozen=True)
class Target:
    """One measured page: `path` may name a fact (`_facts`) in braces; `login` signs in first."""

    name: str
    path: str
    login: str | None = None
    server: str = "portal"  # or "limit": the framework-limit page


HELLO = "hello (/healthz)"
LIMIT = "framework limit (/page)"
# Every measured page, in one place. A new hot page is one more line here (and, if its URL
# needs an id from the data, one more fact in `_facts`).
TARGETS = [
    Target(HELLO, "/healthz"),
    Target(LIMIT, "/page", GUARDIAN, server="limit"),
    Target("guardian home", "/children/", GUARDIAN),
    Target("guardian child page", "/children/{child_id}", GUARDIAN),
    Target("staff search (county, surname 王)", "/staff/students?q=王", "county.demo"),
    Target("staff search (county, full name)", "/staff/students?q={full_name}", "county.demo"),
    Target("staff search (province, surname 王)", "/staff/students?q=王", "province.demo"),
    Target("staff search (province, page 5,000)", "/staff/students?after={deep_cursor}", "province.demo"),
    Target("staff search (province, no match)", "/staff/students?q=无此人名", "province.demo"),
    Target(f"approval queue (school, {QUEUE_BACKLOG:,} pending)", "/staff/queue", "school.demo"),
    Target("transfer progress page", "/transfers/{transfer_id}", TRANSFER_GUARDIAN),
]


def chosen_targets(words: list[str]) -> list[Target]:
    """The targets to measure: all, or the two baselines and those whose name has one of `words`."""
    if not words:
        return TARGETS
    return [t for t in TARGETS if t.name in (HELLO, LIMIT) or any(word in t.name for word in words)]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _env() -> dict:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "PORTAL_ENV": "development",
        "SECRET_KEY": SECRET_KEY,
        "FLASK_APP": "wsgi",
        # Staff sign in with the password alone here: no passkey to enrol before the pages.
        "STAFF_PASSKEY_REQUIRED": "0",
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


def _facts() -> dict[str, str]:
    """Ids and names the targets' URLs need, read from the loaded data."""
    import psycopg

    with psycopg.connect(_libpq_url(DATABASE_URL)) as connection:

        def one(query: str, *params):
            return connection.execute(query, params).fetchone()[0]

        return {
            "full_name": one("SELECT name FROM students ORDER BY id LIMIT 1"),
            "child_id": one(
                "SELECT l.student_id FROM guardian_links l JOIN users u ON u.id = l.guardian_id"
                " WHERE u.mobile = %s AND l.revoked_at IS NULL ORDER BY l.id LIMIT 1",
                GUARDIAN,
            ),
            # A family's open transfer (among OPEN_TRANSFERS open ones).
            "transfer_id": one(
                "SELECT c.id FROM cases c JOIN guardian_links l ON l.student_id = c.student_id"
                " JOIN users u ON u.id = l.guardian_id WHERE u.mobile = %s AND c.kind = 'transfer'"
                " ORDER BY c.id LIMIT 1",
                TRANSFER_GUARDIAN,
            ),
            # Page 5,000 of 20 rows: the keyset cursor is the last id shown on page 4,999.
            # (In a smaller database, the last student's id.)
            "deep_cursor": one(
                "SELECT id FROM students ORDER BY id"
                " OFFSET least(%s, (SELECT count(*) - 1 FROM students)) LIMIT 1",
                4_999 * 20 - 1,
            ),
        }


OPEN_TRANSFERS = int(os.environ.get("BENCH_OPEN_TRANSFERS", 100_000))

# Open transfers in bulk: each attending student without a case moves to the first primary
# school of another county; the receiving school has accepted, its county decides now.
_TRANSFER_CASES = """
INSERT INTO cases (kind, student_id, requester_id, province_id, state, payload, opened_at)
SELECT 'transfer', s.id, (SELECT min(id) FROM users WHERE role = 'school_registrar'), p.id, 'open',
       json_build_object('to_school_id', t.id, 'from_school_id', s.school_id, 'reason', 'family_moved',
                         'reason_text', '', 'evidence', json_build_array()),
       now() - interval '3 days'
FROM students s
JOIN org_units k ON k.id = s.school_id
CROSS JOIN LATERAL (SELECT o.id, o.parent_id FROM org_units o WHERE o.level = 'school'
                    AND o.parent_id <> k.parent_id ORDER BY o.id LIMIT 1) t
CROSS JOIN (SELECT id FROM org_units WHERE level = 'province' ORDER BY id LIMIT 1) p
WHERE s.status = 'attending' AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.student_id = s.id)
ORDER BY s.id
LIMIT %s
"""
_TRANSFER_STEPS = """
INSERT INTO steps (case_id, position, role, kind, mode, org_unit_id, state, province_id, working_days,
                   timeout_policy, activated_on, due_on, decided_at, reason)
SELECT c.id, r.position, r.role, 'transfer', 'decision', r.unit, r.state, c.province_id, 20, 'auto_approve',
       CASE WHEN r.position < 2 THEN current_date - 3 END,
       CASE WHEN r.position < 2 THEN current_date + 25 END,
       CASE WHEN r.position = 0 THEN now() - interval '1 day' END, ''
FROM cases c
JOIN org_units t ON t.id = (c.payload ->> 'to_school_id')::int
JOIN org_units f ON f.id = (c.payload ->> 'from_school_id')::int
CROSS JOIN LATERAL (VALUES
    (0, 'receiving_school', t.id, 'approved'), (1, 'receiving_county', t.parent_id, 'pending'),
    (2, 'sending_school', f.id, 'waiting'), (3, 'sending_county', f.parent_id, 'waiting')
) AS r(position, role, unit, state)
WHERE c.kind = 'transfer' AND NOT EXISTS (SELECT 1 FROM steps x WHERE x.case_id = c.id)
"""


def _add_open_transfers() -> None:
    """Top the open transfer cases up to OPEN_TRANSFERS (set-based: two INSERT … SELECT)."""
    import psycopg

    with psycopg.connect(_libpq_url(DATABASE_URL)) as connection:
        # Steps loaded by an earlier version of this script lack the case's kind, which
        # every step the portal makes carries (the queue counts by it).
        connection.execute(
            "UPDATE steps SET kind = c.kind FROM cases c WHERE c.id = steps.case_id AND steps.kind IS NULL"
        )
        have = connection.execute(
            "SELECT count(*) FROM cases WHERE kind = 'transfer' AND state = 'open'"
        ).fetchone()[0]
        if have >= OPEN_TRANSFERS:
            return
        connection.execute(_TRANSFER_CASES, (OPEN_TRANSFERS - have,))
        connection.execute(_TRANSFER_STEPS)
    print(f"open transfers topped up from {have:,} to {OPEN_TRANSFERS:,}")
    subprocess.run(["psql", _libpq_url(DATABASE_URL), "-qc", "VACUUM ANALYZE cases, steps"], check=True)


def prepare_database() -> None:
    count = _student_count()
    if count is not None and count >= STUDENTS:
        print(f"database already holds {count:,} students: reusing it")
        subprocess.run(
            [str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=_env(), check=True, capture_output=True
        )
        _add_open_transfers()
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
    _add_open_transfers()
    # Fresh statistics and a visibility map, as a database that has been in use would have.
    subprocess.run(["psql", _libpq_url(DATABASE_URL), "-qc", "VACUUM ANALYZE"], check=True)


def ensure_queue_backlog() -> None:
    """At least QUEUE_BACKLOG steps pending at the demo school: suspension requests of its
    attending students with no live case, filed by another of its registrars (so the demo
    registrar may decide them), due on a spread of days. Set-based; idempotent."""
    import psycopg

    with psycopg.connect(_libpq_url(DATABASE_URL), autocommit=False) as connection:
        school_id, registrar_id = connection.execute(
            "SELECT u.org_unit_id, u.id FROM users u WHERE u.username = 'school.demo'"
        ).fetchone()
        pending = connection.execute(
            "SELECT count(*) FROM steps WHERE org_unit_id = %s AND state = 'pending'", (school_id,)
        ).fetchone()[0]
        missing = QUEUE_BACKLOG - pending
        if missing <= 0:
            connection.rollback()
            # A migration may have rewritten steps since: fresh statistics, a visibility map.
            subprocess.run(
                ["psql", _libpq_url(DATABASE_URL), "-qc", "VACUUM ANALYZE steps, cases"], check=True
            )
            return
        clerk = connection.execute(
            "INSERT INTO users (role, username, display_name, password_hash, org_unit_id, is_active_account,"
            " session_token) SELECT 'school_registrar', 'school.bench', '学校学籍管理员', password_hash,"
            " org_unit_id, true, session_token FROM users WHERE id = %s"
            " ON CONFLICT (username) DO UPDATE SET username = EXCLUDED.username RETURNING id",
            (registrar_id,),
        ).fetchone()[0]
        province_id, county_id = connection.execute(
            "SELECT p.id, c.id FROM org_units s JOIN org_units c ON c.id = s.parent_id"
            " JOIN org_units ci ON ci.id = c.parent_id JOIN org_units p ON p.id = ci.parent_id"
            " WHERE s.id = %s",
            (school_id,),
        ).fetchone()
        connection.execute(
            """
            WITH chosen AS (
                SELECT s.id FROM students s
                WHERE s.school_id = %(school)s AND s.status = 'attending'
                  AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.student_id = s.id
                                  AND c.state IN ('open', 'returned'))
                ORDER BY s.id LIMIT %(missing)s
            ), opened AS (
                INSERT INTO cases (kind, student_id, requester_id, province_id, state, payload, opened_at)
                SELECT 'suspension', id, %(clerk)s, %(province)s, 'open',
                       json_build_object('reason', '因病休养', 'evidence', json_build_array(),
                                         'return_on', (current_date + 180)::text),
                       now() - (id %% 9) * interval '1 day'
                FROM chosen RETURNING id, opened_at
            ), first_steps AS (
                INSERT INTO steps (case_id, position, role, kind, mode, org_unit_id, state, province_id,
                                   working_days, timeout_policy, activated_on, due_on, reason)
                SELECT id, 0, 'school', 'suspension', 'decision', %(school)s, 'pending', %(province)s, 10,
                       'flag_overdue', opened_at::date, opened_at::date + 14, ''
                FROM opened RETURNING case_id
            )
            INSERT INTO steps (case_id, position, role, kind, mode, org_unit_id, state, province_id,
                               working_days, timeout_policy, reason)
            SELECT case_id, 1, 'county', 'suspension', 'decision', %(county)s, 'waiting', %(province)s, 10,
                   'flag_overdue', '' FROM first_steps
            """,
            {
                "school": school_id,
                "missing": missing,
                "clerk": clerk,
                "province": province_id,
                "county": county_id,
            },
        )
        connection.commit()
    subprocess.run(["psql", _libpq_url(DATABASE_URL), "-qc", "VACUUM ANALYZE steps, cases"], check=True)


def ensure_family_transfer() -> None:
    """TRANSFER_GUARDIAN, with the demo guardian's password, linked to the child of the
    newest open transfer (one the bulk load opened: one decided step, one pending).
    Idempotent."""
    import psycopg

    with psycopg.connect(_libpq_url(DATABASE_URL)) as connection:
        guardian_id = connection.execute(
            "INSERT INTO users (role, mobile, display_name, password_hash, is_active_account, session_token)"
            " SELECT role, %s, display_name, password_hash, true, session_token FROM users WHERE mobile = %s"
            " ON CONFLICT (mobile) DO UPDATE SET mobile = EXCLUDED.mobile RETURNING id",
            (TRANSFER_GUARDIAN, GUARDIAN),
        ).fetchone()[0]
        connection.execute(
            "INSERT INTO guardian_links (guardian_id, student_id, relation)"
            " SELECT %s, c.student_id, 'mother' FROM cases c WHERE c.kind = 'transfer' AND c.state = 'open'"
            " AND NOT EXISTS (SELECT 1 FROM guardian_links l WHERE l.guardian_id = %s)"
            " ORDER BY c.id DESC LIMIT 1",
            (guardian_id, guardian_id),
        )


def _signed_in_cookie(base: str, login: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(f"{base}/sign-in").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"login": login, "password": PASSWORD, "csrf_token": token})
    opener.open(f"{base}/sign-in", data=body.encode())
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def _get(url: str, cookie: str | None) -> bytes:
    """The page, which must answer 200: wrk counts a redirect to the sign-in page as success."""
    request = urllib.request.Request(
        url, headers={"User-Agent": USER_AGENT, **({"Cookie": cookie} if cookie else {})}
    )
    with urllib.request.build_opener(_NoRedirect).open(request) as response:
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
        return response.read()


# Counts every answer that is not a 200 (wrk itself accepts any 2xx or 3xx).
WRK_SCRIPT = """
bad = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body) if status ~= 200 then bad = bad + 1 end end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("bad") end
  io.write("non-200 responses: " .. total .. "\\n")
end
"""


def _wrk(url: str, cookie: str | None, script: Path) -> float:
    _get(url, cookie)
    command = ["wrk", "-t1", "-c8", f"-d{SECONDS}s", "-s", str(script), "-H", f"User-Agent: {USER_AGENT}"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    failed = re.search(r"non-200 responses: (\d+)", output)
    if failed is None or int(failed.group(1)) or "Socket errors" in output:
        raise RuntimeError(f"{url}: the run had failed responses\n{output}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def _serve(app: str, port: int, extra_env: dict | None = None) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), *WORKERS, "--bind", f"127.0.0.1:{port}", "--pythonpath", "benchmarks", app],
        cwd=ROOT,
        env={**_env(), **(extra_env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return server


def _wait_for(url: str) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers: a 401 from a page that needs a session is fine here
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} never answered")


def _quote_path(path: str) -> str:
    return urllib.parse.quote(path, safe="/?=&")


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):5.2f} ({min(values):.2f}–{max(values):.2f})"


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    prepare_database()
    ensure_queue_backlog()
    ensure_family_transfer()
    facts = _facts()
    targets = chosen_targets(ONLY)
    portal = _serve("wsgi:app", PORT)
    servers = [portal]
    bases = {"portal": f"http://127.0.0.1:{PORT}", "limit": f"http://127.0.0.1:{LIMIT_PORT}"}
    try:
        _wait_for(f"{bases['portal']}/healthz")
        cookies = {
            login: _signed_in_cookie(bases["portal"], login) for login in {t.login for t in targets} - {None}
        }
        # The framework-limit page renders as many bytes as the guardian home does.
        home_bytes = len(_get(f"{bases['portal']}/children/", cookies[GUARDIAN]))
        servers.append(_serve("framework_limit:app", LIMIT_PORT, {"LIMIT_PAGE_BYTES": str(home_bytes)}))
        _wait_for(f"{bases['limit']}/page")
        urls = {
            t.name: (bases[t.server] + _quote_path(t.path.format(**facts)), cookies.get(t.login))
            for t in targets
        }
        results: dict[str, list[float]] = {t.name: [] for t in targets}
        with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
            script.write(WRK_SCRIPT)
            script.flush()
            for round_number in range(1, ROUNDS + 1):
                for name, (url, cookie) in urls.items():
                    results[name].append(_wrk(url, cookie, Path(script.name)))
                print(f"round {round_number}:")
                hello, limit = results[HELLO][-1], results[LIMIT][-1]
                for name, values in results.items():
                    print(
                        f"  {name:<40} {values[-1]:7.0f}/s   to hello {values[-1] / hello:5.2f}"
                        f"   to framework limit {values[-1] / limit:5.2f}"
                    )
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    print(
        f"\n{STUDENTS:,} students ({home_bytes:,}-byte limit page); gunicorn {' '.join(WORKERS)}; "
        f"wrk -t1 -c8 -d{SECONDS}s; ratios per round, median (range) of {ROUNDS} rounds"
    )
    print(f"  {'page':<40} {'req/s':>7}   {'to hello':>17}   {'to framework limit':>17}")
    for name, values in results.items():
        to_hello = [v / h for v, h in zip(values, results[HELLO], strict=True)]
        to_limit = [v / lim for v, lim in zip(values, results[LIMIT], strict=True)]
        print(
            f"  {name:<40} {statistics.median(values):7.0f}   {_summary(to_hello):>17}"
            f"   {_summary(to_limit):>17}"
        )


if __name__ == "__main__":
    main()
