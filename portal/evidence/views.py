"""The one way evidence bytes (and registry photos) leave the portal: after a permission
check, never cached."""

from __future__ import annotations

from flask import Blueprint, Response
from flask_login import current_user

from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.evidence.checks import EXTENSIONS
from portal.evidence.photo import read_photo, visible_photo
from portal.evidence.service import read, visible_evidence
from portal.security.permissions import Permission, requires

blueprint = Blueprint("evidence", __name__, url_prefix="/evidence")


@blueprint.get("/<ref>")
# PUBLIC on purpose: a signed-out visitor must get the same 404 as anyone else who may not
# see it (a redirect to sign-in would tell that the reference exists). The check is
# `visible_evidence`: the uploader, a linked guardian of the case's child, or staff who
# may see that child.
@requires(Permission.PUBLIC)
def show(ref: str):
    evidence = visible_evidence(current_user, ref)
    record_event(AuditTag.EVIDENCE_VIEWED, actor=current_user, evidence=evidence.id)
    filename = f"evidence-{evidence.id[:8]}.{EXTENSIONS[evidence.content_type]}"
    return _private_file(read(evidence), evidence.content_type, filename)


@blueprint.get("/students/<int:student_id>/photo")
# PUBLIC for the same reason as `show`: whoever may not see the child gets a 404. The check
# is `visible_photo`: a linked guardian, or staff who may see the child.
@requires(Permission.PUBLIC)
def student_photo(student_id: int):
    """The child's current registry photo (学籍照片)."""
    student = visible_photo(current_user, student_id)
    if current_user.is_staff:  # a staff read of the record, audited as the record page is
        record_event(AuditTag.STUDENT_VIEWED, actor=current_user, student=student, part="photo")
    data, content_type = read_photo(student)
    return _private_file(data, content_type, f"photo-{student.id}.{EXTENSIONS[content_type]}")


def _private_file(data: bytes, content_type: str, filename: str) -> Response:
    response = Response(data, mimetype=content_type)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    # Opened on its own (a PDF in a tab), it may run nothing and reach nothing.
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response
