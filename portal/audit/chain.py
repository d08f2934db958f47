"""The hash chain over audit events: built in batches by one job, verified by a command.

Each chained entry holds `chain_hash = sha256(previous chain_hash || canonical(entry))` and
its place `chain_seq`. Writing an event never touches the chain (the hot paths never wait
for one another); the chain job links committed rows in id order, under a lock so that two
runs cannot fork it. docs/audit.md explains why nothing is lost.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import bindparam, func, select, text, update

from portal import clock
from portal.audit.models import AuditCheckpoint, AuditEvent
from portal.extensions import db

log = logging.getLogger(__name__)

GENESIS = "0" * 64
BATCH_SIZE = 5_000
# One number for every process that writes the chain (chain job, retention): pg advisory lock.
CHAIN_LOCK_KEY = 0x58_4A_41_55  # "XJAU"
LATE_IDS_KEPT = 20

_events = AuditEvent.__table__
CANONICAL_COLUMNS = (
    _events.c.id,
    _events.c.tag,
    _events.c.actor_id,
    _events.c.student_id,
    _events.c.case_id,
    _events.c.data,
    _events.c.ip_address,
    _events.c.at,
)


def _moment(value) -> str | None:
    if value is None:
        return None
    return clock.aware(value).astimezone(UTC).isoformat(timespec="microseconds")


def canonical(row) -> bytes:
    """The bytes an entry's hash covers: every column but the chain's own, in one fixed form."""
    return json.dumps(
        {
            "id": row.id,
            "tag": row.tag,
            "actor_id": row.actor_id,
            "student_id": row.student_id,
            "case_id": row.case_id,
            "data": row.data,
            "ip_address": row.ip_address,
            "at": _moment(row.at),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def link(previous_hash: str, row) -> str:
    return hashlib.sha256(bytes.fromhex(previous_hash) + canonical(row)).hexdigest()


def take_chain_lock() -> bool:
    """Become the chain's only writer until this transaction ends (False: another run is at it).

    PostgreSQL: a transaction-scoped advisory lock. SQLite: every transaction already begins
    IMMEDIATE (portal/database.py), so it holds the one write lock.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return True
    return bool(db.session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK_KEY}))


@dataclass
class ChainRun:
    chained: int = 0
    batches: int = 0
    # Committed after a higher id was already chained: linked (nothing lost) but an alarm.
    late_ids: list[int] = field(default_factory=list)
    was_locked_out: bool = False


def _head() -> tuple[int, str, int]:
    """(seq, hash, highest chained id) of the chain's end; a retention checkpoint if all expired."""
    last = db.session.execute(
        select(_events.c.chain_seq, _events.c.chain_hash)
        .where(_events.c.chain_seq.is_not(None))
        .order_by(_events.c.chain_seq.desc())
        .limit(1)
    ).first()
    highest_id = db.session.scalar(select(func.max(_events.c.id)).where(_events.c.chain_seq.is_not(None)))
    if last is not None:
        return last.chain_seq, last.chain_hash, highest_id or 0
    checkpoint = latest_checkpoint()
    if checkpoint is not None:
        return checkpoint.upto_seq, checkpoint.head_hash, 0
    return 0, GENESIS, 0


def chain_head() -> tuple[int, str]:
    """The chain's last place and hash (what the weekly report and the job's log carry)."""
    seq, head_hash, _ = _head()
    return seq, head_hash


def chain_pending(
    *,
    batch_size: int = BATCH_SIZE,
    settled_before: datetime | None = None,
    after_each: Callable[[], None] | None = None,
    on_batch: Callable[[list[int]], None] | None = None,
) -> ChainRun:
    """Link every committed, unchained entry written before `settled_before`, in id order.

    `on_batch` sees the ids of each batch inside its transaction (so a watcher sees each
    entry exactly once: its work commits or rolls back with the chaining). `after_each` (the
    job passes `db.session.commit`) ends each batch's transaction, which also releases the
    lock; without it everything joins the caller's transaction.
    """
    settled_before = settled_before or clock.now()
    run = ChainRun()
    while True:
        if not take_chain_lock():
            run.was_locked_out = True
            return run
        seq, previous, highest_id = _head()
        rows = db.session.execute(
            select(*CANONICAL_COLUMNS)
            .where(_events.c.chain_seq.is_(None), _events.c.at < settled_before)
            .order_by(_events.c.id)
            .limit(batch_size)
        ).all()
        if not rows:
            return run
        updates = []
        for row in rows:
            seq += 1
            previous = link(previous, row)
            updates.append({"row_id": row.id, "seq": seq, "hash": previous})
            if row.id < highest_id and len(run.late_ids) < LATE_IDS_KEPT:
                run.late_ids.append(row.id)
        db.session.execute(
            update(_events)
            .where(_events.c.id == bindparam("row_id"), _events.c.chain_seq.is_(None))
            .values(chain_seq=bindparam("seq"), chain_hash=bindparam("hash")),
            updates,
            execution_options={"synchronize_session": False},
        )
        if on_batch is not None:
            on_batch([row.id for row in rows])
        run.chained += len(rows)
        run.batches += 1
        if run.late_ids:
            log.warning("audit entries committed after later ones were chained: %s", run.late_ids)
        if after_each is None:
            db.session.flush()
            if len(rows) < batch_size:
                return run
        else:
            after_each()


# Retention checkpoints.


def checkpoint_key() -> bytes:
    configured = current_app.config.get("AUDIT_CHECKPOINT_KEY")
    if configured:
        return configured.encode()
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, b"xueji audit checkpoint", hashlib.sha256).digest()


def sign_checkpoint(upto_seq: int, head_hash: str, deleted_count: int) -> str:
    message = f"{upto_seq}|{head_hash}|{deleted_count}".encode()
    return hmac.new(checkpoint_key(), message, hashlib.sha256).hexdigest()


def checkpoint_is_genuine(checkpoint: AuditCheckpoint) -> bool:
    expected = sign_checkpoint(checkpoint.upto_seq, checkpoint.head_hash, checkpoint.deleted_count)
    return hmac.compare_digest(expected, checkpoint.signature)


def latest_checkpoint() -> AuditCheckpoint | None:
    return db.session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.upto_seq.desc()).limit(1))


# Verification.


@dataclass
class Verdict:
    is_intact: bool
    checked: int
    first_broken_id: int | None = None
    first_broken_seq: int | None = None
    reason: str = ""
    late_ids: list[int] = field(default_factory=list)
    unchained_below_head: int = 0

    def describe(self) -> str:
        if self.is_intact:
            text_ = f"chain intact: {self.checked} entries verified"
        else:
            where = f"id={self.first_broken_id} (seq {self.first_broken_seq})"
            text_ = f"chain BROKEN at entry {where}: {self.reason}"
        if self.late_ids:
            text_ += f"; chained late (committed after later ids): {self.late_ids}"
        if self.unchained_below_head:
            text_ += f"; {self.unchained_below_head} entries below the chained head are not chained yet"
        return text_


def _chained_rows(chunk: int) -> Iterator:
    """Every chained row in chain order, read in keyset chunks (constant memory)."""
    after = -1
    while True:
        rows = db.session.execute(
            select(_events.c.chain_seq, _events.c.chain_hash, *CANONICAL_COLUMNS)
            .where(_events.c.chain_seq > after)
            .order_by(_events.c.chain_seq)
            .limit(chunk)
        ).all()
        yield from rows
        if len(rows) < chunk:
            return
        after = rows[-1].chain_seq


def _starting_point(first_seq: int) -> tuple[str, str]:
    """The hash the chain starts from at `first_seq`, or ("", reason) if it cannot be trusted."""
    if first_seq == 1:
        return GENESIS, ""
    checkpoint = db.session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.upto_seq == first_seq - 1))
    if checkpoint is None:
        return "", f"entries before seq {first_seq} are missing and no retention checkpoint covers them"
    if not checkpoint_is_genuine(checkpoint):
        return "", f"retention checkpoint up to seq {checkpoint.upto_seq} has a bad signature"
    return checkpoint.head_hash, ""


def verify_chain(*, chunk: int = 20_000) -> Verdict:
    """Walk the chain from its start (or the newest checkpoint) and name the first broken entry."""
    verdict = Verdict(is_intact=True, checked=0)
    expected_seq = previous = None
    highest_id = 0
    for row in _chained_rows(chunk):
        if expected_seq is None:
            previous, reason = _starting_point(row.chain_seq)
            expected_seq = row.chain_seq
            if reason:
                return _broken(verdict, row, reason)
        if row.chain_seq != expected_seq:
            return _broken(verdict, row, f"entries with seq {expected_seq}..{row.chain_seq - 1} are missing")
        if link(previous, row) != row.chain_hash:
            return _broken(verdict, row, "contents do not match the chain (edited, moved or replaced)")
        if row.id < highest_id and len(verdict.late_ids) < LATE_IDS_KEPT:
            verdict.late_ids.append(row.id)
        highest_id = max(highest_id, row.id)
        previous, expected_seq = row.chain_hash, expected_seq + 1
        verdict.checked += 1
    if expected_seq is None:
        checkpoint = latest_checkpoint()
        if checkpoint is not None and not checkpoint_is_genuine(checkpoint):
            verdict.is_intact = False
            verdict.reason = f"retention checkpoint up to seq {checkpoint.upto_seq} has a bad signature"
    verdict.unchained_below_head = db.session.scalar(
        select(func.count())
        .select_from(_events)
        .where(_events.c.chain_seq.is_(None), _events.c.id < highest_id)
    )
    return verdict


def _broken(verdict: Verdict, row, reason: str) -> Verdict:
    verdict.is_intact = False
    verdict.first_broken_id = row.id
    verdict.first_broken_seq = row.chain_seq
    verdict.reason = reason
    return verdict
