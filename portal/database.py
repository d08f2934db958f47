"""Engine-level settings that differ by database."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine


def configure_sqlite(engine: Engine) -> None:
    """Make SQLite behave: real transactions, savepoints, foreign keys, one writer at a time.

    pysqlite's own transaction handling breaks SAVEPOINT; we emit BEGIN ourselves.
    IMMEDIATE takes the write lock at the start, which is what SELECT … FOR UPDATE
    gives us on PostgreSQL: two registrars deciding one step are serialised, not lost.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 10000")
        # LIKE is case-sensitive on PostgreSQL; make SQLite search the same way.
        cursor.execute("PRAGMA case_sensitive_like = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
