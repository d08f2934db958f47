"""The hash chain: built in id order by batches, and any edit, deletion or swap is named."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from portal import clock
from portal.audit.chain import GENESIS, chain_pending, link, verify_chain
from portal.audit.models import AuditCheckpoint, AuditEvent
from portal.audit.retention import expire_entries
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.extensions import db

LATER = timedelta(hours=1)


def _write(count: int) -> list[AuditEvent]:
    for n in range(count):
        record_event(AuditTag.STUDENT_SEARCHED, shown=[n], page=1)
    return _newest(count)


def _newest(count: int) -> list[AuditEvent]:
    """The last `count` entries, oldest first (record_event writes with a core INSERT)."""
    newest = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(count))
    return list(newest)[::-1]


def _chain(**options):
    return chain_pending(settled_before=clock.now() + LATER, **options)


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


@pytest.fixture
def tamper(app):
    """Let the test edit audit rows as an attacker with the table owner's rights would."""
    if _is_postgres():
        db.session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    yield
    # The test's transaction is rolled back, and the trigger with it.


def _rows() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.chain_seq)))


def test_entries_are_linked_in_id_order_in_batches(app):
    events = _write(7)
    run = _chain(batch_size=3)
    assert run.chained == 7 and run.batches == 3
    db.session.expire_all()
    rows = _rows()
    assert [row.id for row in rows] == [event.id for event in events]
    assert [row.chain_seq for row in rows] == list(range(1, 8))
    previous = GENESIS
    for row in rows:
        assert row.chain_hash == link(previous, row)
        previous = row.chain_hash
    verdict = verify_chain(chunk=2)
    assert verdict.is_intact and verdict.checked == 7


def test_a_second_run_links_only_new_entries_onto_the_head(app):
    _write(3)
    _chain()
    _write(2)
    assert _chain().chained == 2
    assert verify_chain().checked == 5


def test_entries_still_settling_wait(app):
    _write(2)
    run = chain_pending(settled_before=clock.now() - LATER)
    assert run.chained == 0


def test_an_edited_entry_is_named(app, tamper):
    events = _write(5)
    _chain()
    db.session.execute(
        update(AuditEvent).where(AuditEvent.id == events[2].id).values(data={"shown": [99], "page": 1})
    )
    verdict = verify_chain()
    assert not verdict.is_intact
    assert verdict.first_broken_id == events[2].id
    assert "edited" in verdict.reason


def test_a_deleted_entry_is_named_by_the_one_after_it(app, tamper):
    events = _write(5)
    _chain()
    db.session.execute(delete(AuditEvent).where(AuditEvent.id == events[1].id))
    verdict = verify_chain()
    assert not verdict.is_intact
    assert verdict.first_broken_id == events[2].id
    assert "missing" in verdict.reason


def test_two_swapped_entries_are_detected(app, tamper):
    events = _write(5)
    _chain()
    db.session.expire_all()
    first, second = (db.session.get(AuditEvent, e.id) for e in (events[1], events[3]))
    swapped = {"seq": (first.chain_seq, second.chain_seq), "hash": (first.chain_hash, second.chain_hash)}
    # Give each row the other's place in the chain (seq and hash), as a reordering would.
    db.session.execute(update(AuditEvent).where(AuditEvent.id == first.id).values(chain_seq=-1))
    db.session.execute(
        update(AuditEvent)
        .where(AuditEvent.id == second.id)
        .values(chain_seq=swapped["seq"][0], chain_hash=swapped["hash"][0])
    )
    db.session.execute(
        update(AuditEvent)
        .where(AuditEvent.id == first.id)
        .values(chain_seq=swapped["seq"][1], chain_hash=swapped["hash"][1])
    )
    verdict = verify_chain()
    assert not verdict.is_intact
    assert verdict.first_broken_id == second.id


def test_an_entry_committed_late_is_chained_and_reported(app, tamper):
    events = _write(3)
    # The middle entry "was still in its transaction" when the chain ran: hide it from that
    # run (its time in the future), then let it appear.
    late = events[1]
    hidden_at = late.at
    db.session.execute(
        update(AuditEvent).where(AuditEvent.id == late.id).values(at=clock.now() + timedelta(days=1))
    )
    _chain()
    db.session.execute(update(AuditEvent).where(AuditEvent.id == late.id).values(at=hidden_at))
    run = _chain()
    assert run.chained == 1 and run.late_ids == [late.id]
    verdict = verify_chain()
    assert verdict.is_intact and verdict.checked == 3
    assert verdict.late_ids == [late.id]


def test_retention_leaves_a_signed_checkpoint_the_chain_resumes_from(app, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_RETENTION_DAYS", 30)
    _write(4)
    _chain()
    checkpoint = expire_entries(now=clock.now() + timedelta(days=31))
    assert checkpoint is not None and checkpoint.deleted_count == 4
    # The expiry itself is an entry; chaining continues from the checkpoint.
    _write(2)
    _chain()
    verdict = verify_chain()
    assert verdict.is_intact and verdict.checked == 3
    assert db.session.scalar(select(AuditEvent.chain_seq).order_by(AuditEvent.chain_seq).limit(1)) == 5


def test_a_forged_checkpoint_is_named(app, tamper, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_RETENTION_DAYS", 30)
    _write(4)
    _chain()
    expire_entries(now=clock.now() + timedelta(days=31))
    _chain()
    if _is_postgres():
        db.session.execute(text("ALTER TABLE audit_checkpoints DISABLE TRIGGER USER"))
    db.session.execute(update(AuditCheckpoint).values(deleted_count=1))
    verdict = verify_chain()
    assert not verdict.is_intact and "signature" in verdict.reason


def test_nothing_expires_while_retention_keeps_everything(app, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_RETENTION_DAYS", 0)
    _write(2)
    _chain()
    assert expire_entries(now=clock.now() + timedelta(days=9999)) is None


@pytest.fixture
def postgres(app):
    if not _is_postgres():
        pytest.skip("the append-only trigger exists on PostgreSQL only")


def _refused(statement) -> None:
    with pytest.raises(DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(statement)


def test_the_application_cannot_edit_or_delete_audit_rows(postgres):
    events = _write(2)
    _refused(update(AuditEvent).where(AuditEvent.id == events[0].id).values(tag="student:viewed"))
    _refused(delete(AuditEvent).where(AuditEvent.id == events[0].id))
    _refused(text("TRUNCATE audit_events CASCADE"))
    _chain()
    # Once chained, not even the chain columns may change again.
    _refused(update(AuditEvent).where(AuditEvent.id == events[0].id).values(chain_hash="0" * 64))
    _refused(update(AuditEvent).where(AuditEvent.id == events[0].id).values(chain_seq=None, chain_hash=None))


def test_setting_the_chain_columns_cannot_smuggle_an_edit(postgres):
    events = _write(1)
    _refused(
        update(AuditEvent)
        .where(AuditEvent.id == events[0].id)
        .values(chain_seq=1, chain_hash="a" * 64, data={"shown": []})
    )


def test_only_entries_behind_a_checkpoint_may_be_deleted(postgres, app, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_RETENTION_DAYS", 30)
    _write(3)
    _chain()
    assert expire_entries(now=clock.now() + timedelta(days=31)).deleted_count == 3
    _refused(delete(AuditCheckpoint))
