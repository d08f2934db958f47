"""The early-warning rules read audit events of a few tags within a time window: an index on
(tag, at) serves them, instead of every event of those tags ever written."""

from datetime import timedelta

from sqlalchemy import inspect, text

from portal import clock
from portal.audit.tags import AuditTag
from portal.extensions import db
from portal.oversight.warnings import READ_TAGS

INDEX = "ix_audit_events_tag_at"


def test_audit_events_have_an_index_on_tag_then_time(app):
    indexes = {
        i["name"]: i["column_names"] for i in inspect(db.session.connection()).get_indexes("audit_events")
    }
    assert indexes.get(INDEX) == ["tag", "at"]


def _plan(sql: str, params: dict) -> str:
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        # A test database is small: without this the planner rightly reads the whole table.
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        rows = connection.execute(text(f"EXPLAIN {sql}"), params).scalars()
    else:
        rows = (row[-1] for row in connection.execute(text(f"EXPLAIN QUERY PLAN {sql}"), params))
    return "\n".join(rows)


def test_the_heavy_reader_and_failure_queries_use_it(app):
    since = clock.now() - timedelta(days=7)
    readers = _plan(
        "SELECT actor_id, count(DISTINCT student_id) FROM audit_events "
        "WHERE tag IN (:a, :b) AND at >= :since GROUP BY actor_id",
        {"a": READ_TAGS[0], "b": READ_TAGS[1], "since": since},
    )
    failures = _plan(
        "SELECT actor_id, at FROM audit_events WHERE tag = :tag AND at >= :since ORDER BY actor_id, at",
        {"tag": AuditTag.ACCOUNT_SIGN_IN_FAILED, "since": since},
    )
    assert INDEX in readers, readers
    assert INDEX in failures, failures
