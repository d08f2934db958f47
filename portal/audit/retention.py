"""Retention: entries older than AUDIT_RETENTION_DAYS go, leaving a signed checkpoint."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from portal import clock
from portal.audit.chain import latest_checkpoint, sign_checkpoint, take_chain_lock
from portal.audit.models import AuditCheckpoint, AuditEvent
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.extensions import db

_events = AuditEvent.__table__


def expire_entries(now: datetime | None = None) -> AuditCheckpoint | None:
    """Delete the chain's expired prefix and leave a checkpoint the verifier starts from.

    Only chained entries go, and only a prefix of the chain (every entry up to the first one
    still within the retention period), so the rest still links to the checkpoint's hash.
    Unchained old entries wait for the chain job and go next time. Joins the caller's
    transaction; returns None when nothing expired (or another chain writer holds the lock).
    """
    days = current_app.config["AUDIT_RETENTION_DAYS"]
    if days <= 0 or not take_chain_lock():
        return None
    cutoff = (now or clock.now()) - timedelta(days=days)
    first_kept = db.session.scalar(
        select(func.min(_events.c.chain_seq)).where(_events.c.chain_seq.is_not(None), _events.c.at >= cutoff)
    )
    # Everything chained is old, or everything before the first entry that is not.
    upto = db.session.scalar(select(func.max(_events.c.chain_seq))) if first_kept is None else first_kept - 1
    previous = latest_checkpoint()
    if upto is None or upto <= (previous.upto_seq if previous else 0):
        return None
    head_hash = db.session.scalar(select(_events.c.chain_hash).where(_events.c.chain_seq == upto))
    count = db.session.scalar(select(func.count()).select_from(_events).where(_events.c.chain_seq <= upto))
    checkpoint = AuditCheckpoint(
        upto_seq=upto,
        head_hash=head_hash,
        deleted_count=count,
        oldest_kept_at=cutoff,
        created_at=clock.now(),
        signature=sign_checkpoint(upto, head_hash, count),
    )
    db.session.add(checkpoint)
    db.session.flush()  # the PostgreSQL trigger deletes only what a checkpoint covers
    db.session.execute(delete(_events).where(_events.c.chain_seq <= upto))
    record_event(AuditTag.AUDIT_ENTRIES_EXPIRED, upto_seq=upto, deleted=count, days=days)
    return checkpoint
