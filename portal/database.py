"""Engine-level settings that differ by database, and when a transaction really begins."""

from __future__ import annotations

import sqlite3

from flask import has_request_context, request
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import Select, TextClause, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

# Requests that by HTTP's rules change nothing: their reads need no transaction.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# An execution option for a statement that may run on its own, outside any transaction,
# when none is open (the audit insert of a page that only reads: see portal/audit/service.py).
STANDALONE = "standalone"


def configure_sqlite(engine: Engine) -> None:
    """Make SQLite behave: real transactions, savepoints, foreign keys, one writer at a time.

    pysqlite's own transaction handling breaks SAVEPOINT; we emit BEGIN ourselves
    (`configure_transactions`). IMMEDIATE takes the write lock at the start, which is what
    SELECT … FOR UPDATE gives us on PostgreSQL: two registrars deciding one step are
    serialised, not lost.
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


def configure_transactions(engine: Engine) -> None:
    """BEGIN when the work needs it: at once, or, in a read-only request, at the first write.

    The driver runs in autocommit mode and we send BEGIN ourselves. Outside a request
    (CLI, migrations, tests' set-up) and in POST/PUT/DELETE requests, BEGIN goes out as
    soon as the session starts, exactly as before. A GET/HEAD/OPTIONS request starts no
    transaction: its SELECTs run as single statements (each sees committed data, as each
    statement of a READ COMMITTED transaction would), and its after_request hook has
    nothing to COMMIT. Should such a request write after all (the once-a-day "last seen"
    stamp, a session check that seals an account), BEGIN goes out just before the first
    INSERT/UPDATE/DELETE or SELECT … FOR UPDATE, and the request commits as any other.
    That saves two round trips (BEGIN, COMMIT) on every page that only reads.

    Because the driver is in autocommit mode, do not set `isolation_level` through
    SQLAlchemy's execution options (psycopg would start transactions of its own); run
    `SET TRANSACTION ISOLATION LEVEL …` as the transaction's first statement instead.
    """
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def autocommit_driver(dbapi_connection, _record):
            if _in_transaction(dbapi_connection):
                dbapi_connection.rollback()
            dbapi_connection.autocommit = True

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection):
        if not _reads_only_request():
            _send_begin(connection)

    @event.listens_for(engine, "before_execute")
    def begin_before_first_write(connection, statement, _multiparams, _params, execution_options):
        if _reads(statement) or execution_options.get(STANDALONE):
            return
        if not _in_transaction(connection.connection.dbapi_connection):
            _send_begin(connection)


def _reads_only_request() -> bool:
    return has_request_context() and request.method in READ_ONLY_METHODS


def _reads(statement) -> bool:
    if isinstance(statement, Select):
        return statement._for_update_arg is None
    if isinstance(statement, TextClause | str):
        text = str(statement).lstrip().upper()
        return text.startswith(("SELECT", "SHOW")) and "FOR UPDATE" not in text
    return False


def _send_begin(connection: Connection) -> None:
    dbapi_connection = connection.connection.dbapi_connection
    if _in_transaction(dbapi_connection):
        return
    sqlite = connection.dialect.name == "sqlite"
    dbapi_connection.execute("BEGIN IMMEDIATE" if sqlite else "BEGIN")


def _in_transaction(dbapi_connection) -> bool:
    if isinstance(dbapi_connection, sqlite3.Connection):
        return dbapi_connection.in_transaction
    from psycopg.pq import TransactionStatus

    return dbapi_connection.info.transaction_status != TransactionStatus.IDLE


def wrote_anything(session) -> bool:
    """Whether the session has anything to commit: pending changes, or a BEGIN that went out."""
    if session.new or session.dirty or session.deleted:
        return True
    if not session.in_transaction():
        return False
    connection = session.connection()
    return not connection.invalidated and _in_transaction(connection.connection.dbapi_connection)


class Session(FlaskSession):
    """Retries a statement once when the pooled connection turns out to be dead.

    There is no ping on checkout (it costs a round trip on every request). Connections are
    recycled after DATABASE_POOL_RECYCLE seconds instead, and if the database dropped one
    anyway (restart, failover, an idle timeout), the first statement on it fails: the pool
    then discards every connection older than the failure, and the statement runs again on
    a new one. Only the first statement of a session's transaction is retried, when nothing
    else has been read or written in it, so no earlier work can be lost or repeated.
    """

    # execute(), scalar(), scalars() and get() all run through this one (SQLAlchemy 2.x).
    def _execute_internal(self, statement, *args, **kwargs):
        first = not self.in_transaction() and not (self.new or self.dirty or self.deleted)
        try:
            return super()._execute_internal(statement, *args, **kwargs)
        except DBAPIError as error:
            if not (first and error.connection_invalidated):
                raise
            self.rollback()
            return super()._execute_internal(statement, *args, **kwargs)


def read(session, statement, params: dict | None = None):
    """Run a SELECT of plain columns on the session's connection, past the ORM's layers.

    `Session.execute` spends about a third of a short statement's CPU preparing ORM results;
    a statement that builds no entity does not need them (the hot pages' session check,
    children and result lists). A dead pooled connection is retried once, as
    `Session._execute_internal` does.
    """
    session = session()  # the request's own session, from the scoped session given
    first = not session.in_transaction() and not (session.new or session.dirty or session.deleted)
    try:
        return session.connection().execute(statement, params)
    except DBAPIError as error:
        if not (first and error.connection_invalidated):
            raise
        session.rollback()
        return session.connection().execute(statement, params)
