"""The deadline sweep over 100,000 and 1,000,000 late steps, and the ratio of the two times.

Not a test. Fills a PostgreSQL database of its own with late, unflagged steps (one case each,
by `generate_series`), runs `process_timeouts` as the CLI does (a commit after each chunk),
and prints both times and their ratio (10 means linear). Run it under the shared lock:

    flock /tmp/xueji-bench.lock .venv/bin/python benchmarks/sweep.py

Environment: BENCH_DATABASE_URL (default: database xueji_bench_requests on 127.0.0.1:5432),
BENCH_SIZES (default "100000,1000000"), BENCH_VARIANTS (default "current"; "current,hot"
measures both schemas of `steps` in the same run, alternating, BENCH_ROUNDS times each).

Variants (applied to this benchmark's own database only; the migrations are not changed):
- `current`: the schema as migrated: `overdue_since` is in the queue index's INCLUDE list
  and in the sweep's partial-index predicate, so flagging a step can never be a HOT update
  (PostgreSQL counts INCLUDE and predicate columns as indexed): every index of `steps` gets
  a new entry per flagged step.
- `hot`: no index mentions `overdue_since` (the queue index includes `kind` only; the sweep
  index is `(due_on) WHERE state = 'pending'`) and `steps` has fillfactor 50, so a flag can be
  a heap-only tuple on the same page: no index entry at all. The price, also printed: the
  second sweep walks the flagged steps in its index, and the queue's overdue count reads the
  heap.
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
VARIANTS = os.environ.get("BENCH_VARIANTS", "current").split(",")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1"))

_CURRENT_INDEXES = (
    "CREATE INDEX ix_steps_unit_state_due ON steps (org_unit_id, state, due_on, id)"
    " INCLUDE (kind, overdue_since)",
    "CREATE INDEX ix_steps_unflagged_due ON steps (due_on) WHERE state = 'pending' AND overdue_since IS NULL",
)
_HOT_INDEXES = (
    "CREATE INDEX ix_steps_unit_state_due ON steps (org_unit_id, state, due_on, id) INCLUDE (kind)",
    "CREATE INDEX ix_steps_unflagged_due ON steps (due_on) WHERE state = 'pending'",
)
SCHEMAS = {
    "current": ("ALTER TABLE steps RESET (fillfactor)", *_CURRENT_INDEXES),
    "hot": ("ALTER TABLE steps SET (fillfactor = 50)", *_HOT_INDEXES),
}
OPENED_ON, SWEEP_DAY = date(2025, 9, 1), date(2025, 12, 1)


def _fresh_database() -> None:
    base, name = DATABASE_URL.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _use_schema(db, variant: str) -> None:
    from sqlalchemy import text

    db.session.execute(text("DROP INDEX IF EXISTS ix_steps_unit_state_due"))
    db.session.execute(text("DROP INDEX IF EXISTS ix_steps_unflagged_due"))
    for statement in SCHEMAS[variant]:
        db.session.execute(text(statement))
    db.session.commit()


def _update_counts(db) -> tuple[int, int]:
    """(updates, HOT updates) of `steps` so far, as the statistics collector has them."""
    from sqlalchemy import text

    db.session.commit()
    time.sleep(1.5)  # the sweep's backend reports its counts at most once a second
    db.session.execute(text("SELECT pg_stat_clear_snapshot()"))
    row = db.session.execute(
        text("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'steps'")
    ).one()
    db.session.commit()
    return row[0], row[1]


def _wal_position(db) -> int:
    """Bytes of write-ahead log written so far: the database's write work, which the load
    of other processes on the machine does not change (unlike the time)."""
    from sqlalchemy import text

    position = db.session.scalar(text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint"))
    db.session.commit()
    return int(position)


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
            for _round in range(ROUNDS):
                for variant in VARIANTS:
                    timings.setdefault((size, variant), []).append(_measure(db, size, ids, variant))
    for size in SIZES:
        for variant in VARIANTS:
            runs = ", ".join(f"{t:.1f}" for t in timings[(size, variant)])
            print(f"{size:>9,} {variant:>8}: {runs} s")
        if len(VARIANTS) > 1:
            base = VARIANTS[0]
            for variant in VARIANTS[1:]:
                ratios = [
                    other / first
                    for first, other in zip(timings[(size, base)], timings[(size, variant)], strict=True)
                ]
                shown = ", ".join(f"{r:.2f}" for r in ratios)
                print(f"{size:>9,} {variant} / {base} per round: {shown}")
    if len(SIZES) == 2:
        small, large = SIZES
        for variant in VARIANTS:
            ratio = min(timings[(large, variant)]) / min(timings[(small, variant)])
            print(f"{variant}: ratio {large:,} / {small:,}: {ratio:.1f} (size ratio {large / small:.0f})")


def _measure(db, size: int, ids: dict, variant: str) -> float:
    from portal.approvals.engine import process_timeouts

    _use_schema(db, variant)
    _fill(db, size, ids)
    updates, hot = _update_counts(db)
    wal = _wal_position(db)
    started, cpu = time.perf_counter(), time.process_time()
    report = process_timeouts(SWEEP_DAY, after_each=db.session.commit)
    db.session.commit()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    wal_bytes = _wal_position(db) - wal
    assert len(report.flagged_overdue) == size
    again = time.perf_counter()
    assert process_timeouts(SWEEP_DAY, after_each=db.session.commit).flagged_overdue == []
    second = time.perf_counter() - again
    after_updates, after_hot = _update_counts(db)
    print(
        f"{size:>9,} late steps, {variant}: sweep {elapsed:.1f} s (this process's CPU {cpu:.1f} s); "
        f"second run (nothing to do) {second:.2f} s; "
        f"HOT {after_hot - hot:,} of {after_updates - updates:,} step updates; "
        f"WAL {wal_bytes / size:,.0f} bytes per flagged step",
        flush=True,
    )
    return elapsed


if __name__ == "__main__":
    main()
