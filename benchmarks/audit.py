"""What the audit trail costs: the staff record page with it and without it; chain speed.

1. The staff record page (`/staff/students/<id>`, one audited read per request) served by
   gunicorn with the real audit writer, and by a second gunicorn whose `record_event` is
   replaced by a null writer *inside this harness only* (`benchmarks/null_audit_wsgi.py`;
   no setting can switch it off in a deployment). wrk drives both, alternating, each round.
2. The hash chain: BENCH_AUDIT_EVENTS synthetic events are inserted, linked by
   `chain_pending` (the minutely job's work) and checked by `verify_chain`
   (`flask audit verify`); both rates are printed, and the time for 10,000,000 events
   extrapolated when fewer were measured.

Part 1 is also measured in one process with audited and null-writer requests alternating
one by one, which a loaded machine disturbs far less than wrk's rounds.

Not a test. Run under the shared lock, on your own database:

    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/xueji_bench_NAME \
        flock /tmp/xueji-bench.lock .venv/bin/python benchmarks/audit.py

Environment: BENCH_DATABASE_URL, BENCH_STUDENTS (20000), BENCH_SECONDS (5), BENCH_ROUNDS (3),
BENCH_AUDIT_EVENTS (1000000), BENCH_INTERLEAVED (1000), BENCH_SKIP_CHAIN=1,
BENCH_PORT (5197; the null server uses the next port).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.pages import (  # noqa: E402  (the same wrk harness and database guard)
    BIN,
    PASSWORD,
    ROOT,
    _libpq_url,
    _recreate_database,
    _signed_in_cookie,
    _student_count,
    _wrk,
)

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/xueji_bench_audit"
)
STUDENTS = int(os.environ.get("BENCH_STUDENTS", 20_000))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
EVENTS = int(os.environ.get("BENCH_AUDIT_EVENTS", 1_000_000))
PORT = int(os.environ.get("BENCH_PORT", 5197))
TEN_MILLION = 10_000_000
INTERLEAVED_REQUESTS = int(os.environ.get("BENCH_INTERLEAVED", 1000))


def _env() -> dict:
    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "BENCH_DATABASE_URL": DATABASE_URL,
        "PORTAL_ENV": "development",
        "SECRET_KEY": "bench-secret",
        "FLASK_APP": "wsgi",
    }


def _flask(*arguments: str) -> None:
    subprocess.run([str(BIN / "flask"), *arguments], cwd=ROOT, env=_env(), check=True, capture_output=True)


def prepare_database() -> None:
    os.environ["BENCH_DATABASE_URL"] = DATABASE_URL
    import benchmarks.pages as pages

    pages.DATABASE_URL = DATABASE_URL  # the guard and the count read the same database
    count = _student_count()
    if count is None or count < STUDENTS:
        _recreate_database()
        subprocess.run(
            [str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=_env(), check=True, capture_output=True
        )
        subprocess.run(
            [str(BIN / "flask"), "demo", "load", "--students", str(STUDENTS)],
            cwd=ROOT,
            env=_env(),
            check=True,
        )
    else:
        subprocess.run(
            [str(BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=_env(), check=True, capture_output=True
        )
    _empty_audit_trail()


def _empty_audit_trail() -> None:
    """The harness may clear its own database's trail (the trigger is lifted for that alone)."""
    import psycopg

    with psycopg.connect(_libpq_url(DATABASE_URL)) as connection:
        connection.execute("ALTER TABLE audit_events DISABLE TRIGGER USER")
        connection.execute("ALTER TABLE audit_checkpoints DISABLE TRIGGER USER")
        connection.execute("TRUNCATE audit_events, audit_checkpoints RESTART IDENTITY")
        connection.execute("ALTER TABLE audit_events ENABLE TRIGGER USER")
        connection.execute("ALTER TABLE audit_checkpoints ENABLE TRIGGER USER")


def _record_page_path() -> str:
    import psycopg

    with psycopg.connect(_libpq_url(DATABASE_URL)) as connection:
        student_id = connection.execute(
            "SELECT s.id FROM students s JOIN users u ON u.org_unit_id = s.school_id "
            "WHERE u.username = 'school.demo' ORDER BY s.id LIMIT 1"
        ).fetchone()[0]
    return f"/staff/students/{student_id}"


def _serve(port: int, app: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", "2", "--threads", "1", "--bind", f"127.0.0.1:{port}", app],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(base: str) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{base} did not start")


def record_page_ratio() -> None:
    path = _record_page_path()
    audited, null = f"http://127.0.0.1:{PORT}", f"http://127.0.0.1:{PORT + 1}"
    servers = [_serve(PORT, "wsgi:app"), _serve(PORT + 1, "benchmarks.null_audit_wsgi:app")]
    try:
        _wait(audited)
        _wait(null)
        cookies = {
            audited: _signed_in_cookie(audited, "school.demo"),
            null: _signed_in_cookie(null, "school.demo"),
        }
        results: dict[str, list[float]] = {"audited": [], "null writer": []}
        for round_number in range(1, ROUNDS + 1):
            results["audited"].append(_wrk(f"{audited}{path}", cookies[audited]))
            results["null writer"].append(_wrk(f"{null}{path}", cookies[null]))
            ratio = results["audited"][-1] / results["null writer"][-1]
            print(
                f"round {round_number}: audited {results['audited'][-1]:.0f}/s, "
                f"null writer {results['null writer'][-1]:.0f}/s, ratio {ratio:.2f}"
            )
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
    audited_rate = statistics.median(results["audited"])
    null_rate = statistics.median(results["null writer"])
    print(
        f"staff record page ({STUDENTS:,} students, gunicorn 2 workers, wrk -t1 -c8, median of {ROUNDS}): "
        f"audited {audited_rate:.0f}/s, null writer {null_rate:.0f}/s, ratio {audited_rate / null_rate:.2f}"
    )


def interleaved_ratio(requests: int = INTERLEAVED_REQUESTS) -> None:
    """The same page in one process, audited and null-writer requests alternating one by one.

    On a shared, loaded machine wrk's rounds swing by 2x; alternating single requests gives
    both variants the same conditions, so their ratio is far steadier.
    """
    import re

    os.environ.update(_env())  # before the imports below build the app from the environment
    import portal.registry.service as registry_service
    from benchmarks.null_audit_wsgi import NullAuditWriter
    from portal import create_app

    app = create_app()
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/sign-in", data={"login": "school.demo", "password": PASSWORD, "csrf_token": token})
    path = _record_page_path()
    real, null = registry_service.record_event, NullAuditWriter()
    spent = {"audited": 0.0, "null writer": 0.0}
    for n in range(requests):
        order = ("audited", "null writer") if n % 2 else ("null writer", "audited")
        for variant in order:
            registry_service.record_event = real if variant == "audited" else null
            started = time.perf_counter()
            response = client.get(path)
            spent[variant] += time.perf_counter() - started
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")
    registry_service.record_event = real
    rates = {variant: requests / seconds for variant, seconds in spent.items()}
    print(
        f"staff record page, in-process, {requests} requests of each alternating: "
        f"audited {rates['audited']:.0f}/s, null writer {rates['null writer']:.0f}/s, "
        f"ratio {rates['audited'] / rates['null writer']:.2f}"
    )


def _insert_events(count: int) -> float:
    """Synthetic events like the real mix: four reads to one search of twenty results."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(_libpq_url(DATABASE_URL)) as connection:
        actor, student = connection.execute(
            "SELECT u.id, s.id FROM users u, students s WHERE u.username = 'school.demo' "
            "ORDER BY s.id LIMIT 1"
        ).fetchone()
        connection.execute(
            """
            INSERT INTO audit_events (tag, actor_id, student_id, data, ip_address, at)
            SELECT CASE WHEN n %% 5 = 0 THEN 'student:searched' ELSE 'student:viewed' END,
                   %(actor)s,
                   CASE WHEN n %% 5 = 0 THEN NULL ELSE %(student)s END,
                   CASE WHEN n %% 5 = 0
                        THEN json_build_object(
                               'shown', (SELECT json_agg(n + k) FROM generate_series(1, 20) k), 'page', 1)
                        ELSE '{}'::json END,
                   '10.0.0.' || (n %% 250),
                   now() - interval '1 hour' + n * interval '1 millisecond'
            FROM generate_series(1, %(count)s) n
            """,
            {"actor": actor, "student": student, "count": count},
        )
    return time.perf_counter() - started


def chain_rates() -> None:
    os.environ.update(
        {"DATABASE_URL": DATABASE_URL, "PORTAL_ENV": "development", "SECRET_KEY": "bench-secret"}
    )
    from portal import create_app
    from portal.audit.chain import chain_pending, verify_chain
    from portal.extensions import db

    _empty_audit_trail()
    inserted = _insert_events(EVENTS)
    print(f"inserted {EVENTS:,} events in {inserted:.0f} s")
    app = create_app()
    with app.app_context():
        started = time.perf_counter()
        run = chain_pending(after_each=db.session.commit)
        db.session.commit()
        chained = time.perf_counter() - started
        started = time.perf_counter()
        verdict = verify_chain()
        verified = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    assert run.chained == EVENTS and verdict.is_intact and verdict.checked == EVENTS, verdict.describe()
    for what, seconds in (("chained (job)", chained), ("verified (flask audit verify)", verified)):
        rate = EVENTS / seconds
        line = f"{what}: {EVENTS:,} events in {seconds:.1f} s = {rate:,.0f} events/s"
        if EVENTS < TEN_MILLION:
            line += f"; 10,000,000 extrapolated: {TEN_MILLION / rate / 60:.1f} min"
        print(line)


def main() -> None:
    prepare_database()
    record_page_ratio()
    interleaved_ratio()
    if os.environ.get("BENCH_SKIP_CHAIN") != "1":
        chain_rates()


if __name__ == "__main__":
    main()
