"""The deadline sweep over 100,000 and 1,000,000 late steps, and the ratio of the two times.

Not a test. Fills a PostgreSQL database of its own with late, unflagged steps (one case each,
by `generate_series`), runs `process_timeouts` as the CLI does (a commit after each chunk),
and prints both times and their ratio (10 means linear). Run it under the shared lock:

    flock /tmp/xueji-bench.lock .venv/bin/python benchmarks/sweep.py

Environment: BENCH_DATABASE_URL (default: database xueji_bench_requests on 127.0.0.1:5432),
BENCH_SIZES (default "100000,1000000").
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/xueji_bench_requests"
)
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "100000,1000000").split(",")]
OPENED_ON, SWEEP_DAY = date(2025, 9, 1), date(2025, 12, 1)


def _fresh_database() -> None:
    base, name = DATABASE_URL.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _fill(db, size: int, ids: dict) -> None:
    """`size` open cases, each with one pending step due long ago, none flagged yet."""
    from sqlalchemy import text

    # The audit trail is append-only (a trigger refuses TRUNCATE); this database is the
    # benchmark's own, recreated on every run, so its triggers are off while it is emptied.
    db.session.execute(text("SET LOCAL session_replication_role = replica"))
    db.session.execute(text("TRUNCATE alerts, case_events, audit_events, steps, cases CASCADE"))
    db.session.execute(text("SET LOCAL session_replication_role = DEFAULT"))
    db.session.execute(
        text(
            "INSERT INTO cases (id, kind, student_id, requester_id, province_id, state, payload, opened_at)"
            " SELECT n, 'suspension', :student, :clerk, :province, 'open', '{}', now()"
            " FROM generate_series(1, :size) AS n"
        ),
        {**ids, "size": size},
    )
    db.session.execute(
        text(
            "INSERT INTO steps (case_id, position, role, mode, org_unit_id, state, province_id,"
            " working_days, timeout_policy, activated_on, due_on, reason)"
            " SELECT n, 0, 'school', 'decision', :school, 'pending', :province, 10, 'flag_overdue',"
            " :opened, :due, '' FROM generate_series(1, :size) AS n"
        ),
        {**ids, "size": size, "opened": OPENED_ON, "due": date(2025, 9, 15)},
    )
    db.session.commit()
    db.session.execute(text("ANALYZE steps"))
    db.session.commit()


def main() -> None:
    _fresh_database()
    os.environ.update(DATABASE_URL=DATABASE_URL, PORTAL_ENV="development", SECRET_KEY="bench-secret")
    from flask_migrate import upgrade

    from portal import create_app
    from portal.accounts.models import Role
    from portal.approvals.engine import process_timeouts
    from portal.extensions import db
    from tests.factories import make_staff, make_student, make_tree

    app = create_app({"SQLALCHEMY_DATABASE_URI": DATABASE_URL})
    timings = {}
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        tree = make_tree()
        clerk = make_staff(Role.SCHOOL_REGISTRAR, tree.school)
        student = make_student(tree.school)
        db.session.commit()
        ids = {
            "student": student.id,
            "clerk": clerk.id,
            "province": tree.province.id,
            "school": tree.school.id,
        }
        for size in SIZES:
            _fill(db, size, ids)
            started = time.perf_counter()
            report = process_timeouts(SWEEP_DAY, after_each=db.session.commit)
            db.session.commit()
            timings[size] = time.perf_counter() - started
            assert len(report.flagged_overdue) == size
            again = time.perf_counter()
            assert process_timeouts(SWEEP_DAY, after_each=db.session.commit).flagged_overdue == []
            print(
                f"{size:>9,} late steps: sweep {timings[size]:.1f} s; "
                f"second run (nothing to do) {time.perf_counter() - again:.2f} s",
                flush=True,
            )
    if len(SIZES) == 2:
        small, large = SIZES
        ratio = timings[large] / timings[small]
        print(f"ratio {large:,} / {small:,}: {ratio:.1f} (size ratio {large / small:.0f})")


if __name__ == "__main__":
    main()
