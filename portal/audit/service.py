"""The one function that writes audit events."""

from __future__ import annotations

from flask import has_request_context, request

from portal.audit.models import AuditEvent
from portal.audit.tags import AuditTag
from portal.extensions import db


def record_event(
    tag: AuditTag,
    *,
    actor=None,
    student=None,
    case=None,
    **data,
) -> AuditEvent:
    """Record that `actor` did `tag` to `student`/`case`; `data` must hold no names or ID numbers."""
    event = AuditEvent(
        tag=str(tag),
        actor_id=getattr(actor, "id", None),
        student_id=getattr(student, "id", None),
        case_id=getattr(case, "id", None),
        data=data,
        ip_address=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event
