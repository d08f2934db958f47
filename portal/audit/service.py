"""The one function that writes audit events.

An event is written at once, with one core INSERT on the request's own connection, not
queued for the ORM's flush (which cost a unit-of-work pass on every audited page):

- In a request that writes (POST, or a GET that changed something), the INSERT is part of
  the request's transaction. The after_request hook commits it before the response is
  sent; if that commit fails, the user gets an error page, not the page. The event and
  the change it records are committed together or not at all.
- In a request that only reads (a search, a record opened), no transaction is open
  (portal/database.py), and the INSERT runs as a statement of its own: it is committed,
  durably, when it returns, before the page is even rendered.

Either way, a page that was shown has its event in the database, a crash of the worker
included. The reverse is not promised: a read whose page then failed to render keeps
its event (the data was read; the trail says so).
"""

from __future__ import annotations

from flask import has_request_context, request
from sqlalchemy import inspect

from portal.audit.models import AuditEvent
from portal.audit.tags import AuditTag
from portal.database import STANDALONE
from portal.extensions import db

_INSERT = AuditEvent.__table__.insert()


def record_event(
    tag: AuditTag,
    *,
    actor=None,
    student=None,
    case=None,
    **data,
) -> None:
    """Record that `actor` did `tag` to `student`/`case`; `data` must hold no names or ID numbers."""
    if any(_pending(obj) for obj in (actor, student, case)):
        db.session.flush()  # the event names a row not yet written: write it first
    # On the session's connection, past the ORM's layers: an INSERT of plain values, in the
    # request's transaction if one is open, else a statement of its own (STANDALONE).
    db.session.connection().execute(
        _INSERT,
        {
            "tag": str(tag),
            "actor_id": getattr(actor, "id", None),
            "student_id": getattr(student, "id", None),
            "case_id": getattr(case, "id", None),
            "data": data,
            "ip_address": request.remote_addr if has_request_context() else None,
        },
        execution_options={STANDALONE: True},
    )


def _pending(obj) -> bool:
    """Whether `obj` is an ORM row added but not yet written (a plain row or the signed-in
    user's light view never is)."""
    state = inspect(obj, raiseerr=False) if obj is not None else None
    return state is not None and state.pending
