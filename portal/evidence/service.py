"""Accepting an upload, and deciding who may see it.

- `store_upload(file_storage, *, uploader) -> Evidence`: checks the content (never the
  name or the declared type), cleans it, stores it, adds the row; or refuses with
  `evidence.unsupported_type`, `evidence.too_large`, `evidence.unreadable` and stores
  nothing.
- `check_references(refs, uploader)`: what a kind calls before it keeps references in
  `case.payload["evidence"]`: each one exists and was uploaded by that requester.
- `visible_evidence(user, ref)`: the Evidence, if `user` uploaded it, or is a linked
  guardian of the child / staff who may see the child of a case that carries it; else
  NotFound (404 tells nothing about whether it exists).
"""

from __future__ import annotations

import secrets

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, or_, select

from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import NotFound, ValidationFailed
from portal.evidence import checks, storage
from portal.evidence.models import Evidence
from portal.extensions import db

REFERENCE_LENGTH = 32


def max_bytes() -> int:
    return int(current_app.config["EVIDENCE_MAX_BYTES"])


def megabytes() -> str:
    return f"{max_bytes() / (1024 * 1024):g}"


def store_upload(file_storage, *, uploader) -> Evidence:
    """Check, clean and keep one uploaded file (a werkzeug FileStorage or any `.stream`)."""
    checked = checks.check_and_clean(
        read_upload(file_storage), max_pixels=max_pixels(), max_megabytes=megabytes()
    )
    return keep(checked, uploader=uploader)


def max_pixels() -> int:
    return int(current_app.config["EVIDENCE_MAX_PIXELS"])


def read_upload(file_storage) -> bytes:
    """The uploaded bytes, refused when larger than the cap (read no further) or empty."""
    limit = max_bytes()
    stream = getattr(file_storage, "stream", file_storage)
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise checks.too_large(megabytes())
    if not data:
        raise checks.unreadable()
    return data


def keep(checked: checks.Checked, *, uploader) -> Evidence:
    """Store checked, cleaned bytes and add their row (audited, with the reference only)."""
    digest = storage.put(checked.data, db.session)
    evidence = Evidence(
        id=secrets.token_hex(REFERENCE_LENGTH // 2),
        sha256=digest,
        content_type=checked.content_type,
        size=len(checked.data),
        uploader_id=uploader.id,
    )
    db.session.add(evidence)
    db.session.flush()
    record_event(AuditTag.EVIDENCE_STORED, actor=uploader, evidence=evidence.id, type=checked.content_type)
    return evidence


def check_references(refs, uploader, *, already=()) -> list[str]:
    """`refs` as a clean list, if each names evidence this person uploaded (or kept before)."""
    if not isinstance(refs, list) or not all(isinstance(ref, str) for ref in refs):
        raise _bad_reference()
    wanted = [ref for ref in dict.fromkeys(refs) if ref not in set(already)]
    if not wanted:
        return list(dict.fromkeys(refs))
    found = set(
        db.session.scalars(
            select(Evidence.id).where(Evidence.id.in_(wanted), Evidence.uploader_id == uploader.id)
        )
    )
    if found != set(wanted):
        raise _bad_reference()
    return list(dict.fromkeys(refs))


def _bad_reference() -> ValidationFailed:
    return ValidationFailed("case.bad_evidence", _l("The attached documents could not be read."))


def get_evidence(refs) -> list[Evidence]:
    """The evidence rows for `refs`, in that order (unknown references are left out)."""
    refs = [ref for ref in refs if isinstance(ref, str)]
    if not refs:
        return []
    rows = {e.id: e for e in db.session.scalars(select(Evidence).where(Evidence.id.in_(refs)))}
    return [rows[ref] for ref in refs if ref in rows]


def visible_evidence(user, ref: str) -> Evidence:
    """The evidence `ref`, if `user` may see it; NotFound otherwise (also when signed out)."""
    evidence = None
    if user.is_authenticated and isinstance(ref, str) and len(ref) == REFERENCE_LENGTH:
        evidence = db.session.get(Evidence, ref)
    if evidence is None or not _may_see(user, evidence):
        raise NotFound("evidence.not_found", _l("No such document."))
    return evidence


def cases_carrying(evidence: Evidence) -> list:
    """The cases that keep this evidence: only those its own uploader requested or followed up
    as the child's guardian (a reference copied into somebody else's case grants nothing)."""
    from portal.approvals.models import Case
    from portal.guardians.models import GuardianLink

    # The requester, or a guardian of the child who added it on resubmitting (the engine lets
    # any linked guardian follow a case up; `check_references` took only their own uploads).
    uploader_id = evidence.uploader_id
    uploaders_children = select(GuardianLink.student_id).where(GuardianLink.guardian_id == uploader_id)
    candidates = db.session.scalars(
        select(Case).where(
            or_(Case.requester_id == evidence.uploader_id, Case.student_id.in_(uploaders_children)),
            cast(Case.payload, String).contains(evidence.id),  # narrows; the check is below
        )
    )
    return [case for case in candidates if evidence.id in (case.payload or {}).get("evidence", [])]


def _may_see(user, evidence: Evidence) -> bool:
    from portal.guardians.models import GuardianLink
    from portal.security.scope import get_visible_student

    if evidence.uploader_id == user.id:
        return True
    for case in cases_carrying(evidence):
        if user.is_staff:
            try:
                get_visible_student(user, case.student_id)
            except NotFound:
                continue
            return True
        linked = db.session.scalar(
            select(GuardianLink.id).where(
                GuardianLink.guardian_id == user.id,
                GuardianLink.student_id == case.student_id,
                GuardianLink.revoked_at.is_(None),
            )
        )
        if linked is not None:
            return True
    return False


def read(evidence: Evidence) -> bytes:
    return storage.read_bytes(evidence.sha256)
