"""The audit trail's scheduled work: chain new entries every minute, expire old ones nightly."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from huey import crontab

from portal import clock
from portal.audit.chain import ChainRun, chain_head, chain_pending
from portal.audit.retention import expire_entries
from portal.extensions import db
from portal.jobs import periodic_task

log = logging.getLogger(__name__)


def chain_settled_entries() -> ChainRun:
    """Chain what was committed before the settle window, one commit per batch."""
    settle = timedelta(seconds=current_app.config["AUDIT_CHAIN_SETTLE_SECONDS"])
    run = chain_pending(
        settled_before=clock.now() - settle, after_each=db.session.commit, on_batch=_watch_batch
    )
    db.session.commit()
    if run.chained:
        # The head in the log (kept apart from the database) reveals a later truncation.
        seq, head_hash = chain_head()
        log.info("audit chain head: seq %s hash %s (+%s entries)", seq, head_hash, run.chained)
    return run


def _watch_batch(event_ids: list[int]) -> None:
    """What must happen once per new entry: tell families when an outside unit looked."""
    from portal.oversight.access_log import notify_outside_looks

    notify_outside_looks(event_ids)


@periodic_task(crontab(minute="*"))
def chain_audit_trail() -> None:
    chain_settled_entries()


@periodic_task(crontab(minute="15", hour="18"))  # 02:15 in China
def expire_audit_entries() -> None:
    chain_settled_entries()
    expire_entries()
    db.session.commit()
