"""Sending messages: `notify` (inbox + the recipient's channel), `enqueue_email`, `enqueue_sms`.

Nothing here commits. The rows join the caller's transaction, so a decision that is rolled
back sends nothing; the outbox worker (`portal.notifications.worker`) delivers after commit.
"""

from __future__ import annotations

import logging

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session

from portal import clock
from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.logging_filters import contains_sensitive_number
from portal.notifications.messages import message_kind
from portal.notifications.models import Channel, InboxMessage, OutboxMessage

log = logging.getLogger(__name__)

DEFAULT_LANGUAGE = "zh_Hans"  # what leaves the portal by e-mail or SMS
INBOX_PAGE_SIZE = 20
# Set on the session by whatever adds or reads inbox messages: the header's badge counts again.
INBOX_CHANGED = "inbox_changed"


class PersonalNumberInMessage(DomainError):
    """A message leaving the portal would carry an ID, student or mobile number."""

    status = 500  # a programming error in the caller, never the user's fault

    def __init__(self):
        super().__init__(
            "notifications.personal_number", _l("This message may not carry an identity number.")
        )


def _refuse_personal_numbers(*texts: object) -> None:
    if any(isinstance(text, str) and contains_sensitive_number(text) for text in texts):
        raise PersonalNumberInMessage()


def enqueue_email(to: str, subject: str, body: str) -> OutboxMessage:
    """Queue an e-mail in the current transaction; it leaves after the commit."""
    _refuse_personal_numbers(subject, body)
    return _enqueue(Channel.EMAIL, to, subject, body)


def enqueue_sms(mobile: str, body: str) -> OutboxMessage:
    """Queue an SMS in the current transaction; it leaves after the commit."""
    _refuse_personal_numbers(body)
    return _enqueue(Channel.SMS, mobile, "", body)


def _enqueue(channel: Channel, recipient: str, subject: str, body: str) -> OutboxMessage:
    message = OutboxMessage(
        channel=channel, recipient=recipient, subject=subject, body=body, next_attempt_at=clock.now()
    )
    db.session.add(message)
    db.session.info["outbox_kick"] = True
    return message


def notify(recipient, kind: str, *, student=None, case=None, url: str | None = None, **params) -> None:
    """Tell `recipient` something: an inbox row, plus SMS (guardians) or e-mail (staff with an address)."""
    message = message_kind(kind)
    _refuse_personal_numbers(*params.values())
    db.session.add(
        InboxMessage(
            recipient_id=recipient.id,
            kind=kind,
            params=params,
            student_id=student.id if student is not None else None,
            case_id=case.id if case is not None else None,
            url=url,
        )
    )
    db.session.info[INBOX_CHANGED] = True
    with force_locale(DEFAULT_LANGUAGE):
        subject, body = message.render(params)
    link = f"{current_app.config['PUBLIC_URL']}{url}" if url else current_app.config["PUBLIC_URL"]
    if not recipient.is_staff and recipient.mobile:
        enqueue_sms(recipient.mobile, f"【学籍服务门户】{subject}：{body}")
    elif recipient.is_staff and recipient.email:
        enqueue_email(recipient.email, subject, f"{body}\n\n{link}")
    db.session.flush()


def notify_many(kind: str, entries: list) -> None:
    """`notify` for many recipients at once (the sweep's chunks): bulk INSERTs, one flush.

    `entries` are `(recipient, {"params": ..., "student_id": ..., "case_id": ..., "url": ...})`.
    """
    if not entries:
        return
    message = message_kind(kind)
    inbox, outbox = [], []
    now = clock.now()
    for recipient, entry in entries:
        params = entry["params"]
        _refuse_personal_numbers(*params.values())
        inbox.append(
            {
                "recipient_id": recipient.id,
                "kind": kind,
                "params": params,
                "student_id": entry.get("student_id"),
                "case_id": entry.get("case_id"),
                "url": entry.get("url"),
            }
        )
        with force_locale(DEFAULT_LANGUAGE):
            subject, body = message.render(params)
        if not recipient.is_staff and recipient.mobile:
            sms = f"【学籍服务门户】{subject}：{body}"
            _refuse_personal_numbers(sms)
            outbox.append(_outbox_row(Channel.SMS, recipient.mobile, "", sms, now))
        elif recipient.is_staff and recipient.email:
            link = f"{current_app.config['PUBLIC_URL']}{entry.get('url') or ''}"
            outbox.append(_outbox_row(Channel.EMAIL, recipient.email, subject, f"{body}\n\n{link}", now))
    db.session.execute(insert(InboxMessage), inbox)
    if outbox:
        db.session.execute(insert(OutboxMessage), outbox)
        db.session.info["outbox_kick"] = True


def _outbox_row(channel: Channel, recipient: str, subject: str, body: str, now) -> dict:
    return {
        "channel": channel,
        "recipient": recipient,
        "subject": subject,
        "body": body,
        "next_attempt_at": now,
    }


@event.listens_for(Session, "after_commit")
def _kick_delivery(session: Session) -> None:
    """Deliver soon after a commit that queued messages (the minutely run is the safety net)."""
    if not session.info.pop("outbox_kick", False) or not current_app.config["JOBS_KICK_AFTER_COMMIT"]:
        return
    from portal.notifications.worker import deliver_outbox

    try:
        deliver_outbox()
    except Exception as error:  # the queue being down must not fail a committed request
        log.warning("could not queue outbox delivery (%s); the minutely run will send", type(error).__name__)


@event.listens_for(Session, "after_rollback")
def _forget_kick(session: Session) -> None:
    session.info.pop("outbox_kick", None)


# The inbox, read by its owner.


def unread_count(user) -> int:
    """One COUNT on the (recipient_id, read_at) index: the header badge."""
    query = select(func.count()).where(InboxMessage.recipient_id == user.id, InboxMessage.read_at.is_(None))
    return db.session.scalar(query)


def inbox_page(user, before: int | None = None, limit: int = INBOX_PAGE_SIZE) -> tuple[list, int | None]:
    """Newest first, by keyset: messages older than `before`, and the cursor for the next page."""
    query = select(InboxMessage).where(InboxMessage.recipient_id == user.id)
    if before is not None:
        query = query.where(InboxMessage.id < before)
    rows = list(db.session.scalars(query.order_by(InboxMessage.id.desc()).limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if has_more else None)


def read_message(user, message_id: int) -> InboxMessage:
    """The user's own message, marked read."""
    message = db.session.get(InboxMessage, message_id)
    if message is None or message.recipient_id != user.id:
        raise NotFound("inbox.not_found")
    if message.read_at is None:
        message.read_at = clock.now()
        db.session.info[INBOX_CHANGED] = True
        db.session.flush()
    return message


def mark_all_read(user) -> int:
    db.session.info[INBOX_CHANGED] = True
    result = db.session.execute(
        update(InboxMessage)
        .where(InboxMessage.recipient_id == user.id, InboxMessage.read_at.is_(None))
        .values(read_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def render(message: InboxMessage) -> tuple[str, str]:
    """Subject and body in the reader's language (unknown kinds degrade, never crash the page)."""
    try:
        return message_kind(message.kind).render(message.params or {})
    except (LookupError, KeyError):
        return message.kind, ""
