"""Delivering the outbox: every message sent once its server is reachable, none twice.

The claim/mark protocol:

1. **Claim** (one statement, then commit): due `pending` rows become `sending` and their
   attempt count goes up. On PostgreSQL the rows are chosen with FOR UPDATE SKIP LOCKED, so
   concurrent runs take disjoint rows without waiting; on SQLite the single UPDATE runs
   under the one write lock (BEGIN IMMEDIATE). Either way a row is claimed by one run only.
2. **Send** each claimed row, outside any transaction.
3. **Mark** each row in its own commit: `sent`; or, when sending failed, back to `pending`
   with a later `next_attempt_at` (exponential backoff), or `failed` after
   OUTBOX_MAX_ATTEMPTS.

A row is only ever sent by the run that claimed it, and a `sent` row is never claimed again.
If a worker dies between sending and marking, its rows stay `sending`: whether they left is
unknown, so they are not resent automatically; `flask outbox list --state sending` shows
them and `flask outbox retry ID` requeues one after an operator has checked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from huey import crontab
from sqlalchemy import select, update

from portal import clock
from portal.extensions import db
from portal.jobs import periodic_task, task
from portal.notifications import senders
from portal.notifications.models import Channel, OutboxMessage, OutboxState

log = logging.getLogger(__name__)

BATCH_SIZE = 100
MAX_BATCHES_PER_RUN = 50  # a run ends; the next minute's run goes on
FIRST_RETRY_AFTER = timedelta(minutes=1)
LONGEST_RETRY_AFTER = timedelta(hours=6)


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def deliver_due(now: datetime | None = None) -> DeliveryReport:
    """Claim the due messages, send them, mark each; commits as it goes."""
    now = now or clock.now()
    report = DeliveryReport()
    for _ in range(MAX_BATCHES_PER_RUN):
        claimed = _claim_due(now)
        if not claimed:
            break
        for message_id in claimed:
            _deliver(db.session.get(OutboxMessage, message_id), now, report)
            db.session.commit()
    return report


def _deliver(message: OutboxMessage, now: datetime, report: DeliveryReport) -> None:
    try:
        _send(message)
    except Exception as error:  # any failure of one message must not strand it in 'sending'
        _schedule_retry(message, now, error, report)
    else:
        message.state = OutboxState.SENT
        message.sent_at = clock.now()
        report.sent.append(message.id)


def _claim_due(now: datetime) -> list[int]:
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(BATCH_SIZE)
        .with_for_update(skip_locked=True)
    )
    claimed = db.session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due), OutboxMessage.state == OutboxState.PENDING)
        .values(state=OutboxState.SENDING, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return sorted(claimed)


def _send(message: OutboxMessage) -> None:
    if message.channel == Channel.EMAIL:
        senders.send_email(message.recipient, message.subject, message.body)
    else:
        senders.send_sms(message.recipient, message.body)


def _schedule_retry(message: OutboxMessage, now: datetime, error: Exception, report: DeliveryReport) -> None:
    message.last_error = (
        str(error)[:200] if isinstance(error, senders.DeliveryFailed) else type(error).__name__
    )
    if message.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        message.state = OutboxState.FAILED
        report.failed.append(message.id)
        log.error("outbox message %s failed for good: %s", message.id, message.last_error)
        return
    message.state = OutboxState.PENDING
    message.next_attempt_at = now + retry_delay(message.attempts)
    report.retrying.append(message.id)
    log.warning("outbox message %s not sent (%s); retrying later", message.id, message.last_error)


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failed attempt, at most six hours."""
    return min(FIRST_RETRY_AFTER * 2 ** (attempts - 1), LONGEST_RETRY_AFTER)


def requeue(message_id: int) -> OutboxMessage | None:
    """An operator sends a failed or stuck message again (the caller commits)."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.state == OutboxState.SENT:
        return None
    message.state = OutboxState.PENDING
    message.next_attempt_at = clock.now()
    return message


@task()
def deliver_outbox() -> None:
    """Queued after a commit that wrote outbox rows."""
    deliver_due()


@periodic_task(crontab(minute="*"))
def deliver_outbox_every_minute() -> None:
    deliver_due()
