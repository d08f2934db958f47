"""The one way evidence bytes leave the portal: after a permission check, never cached."""

from __future__ import annotations

from flask import Blueprint, Response
from flask_login import current_user

from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.evidence.checks import EXTENSIONS
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
    response = Response(read(evidence), mimetype=evidence.content_type)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    # Opened on its own (a PDF in a tab), it may run nothing and reach nothing.
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response
