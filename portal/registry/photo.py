"""Changing a record's registry photo (学籍照片): only by applying an approved correction.

Beside `service.change_fields` (which refuses the photo: it is not an editable field there),
so that the photo has one way in. The history keeps the content hashes of the old and the
new photo, never the bytes; the bytes live in the evidence storage (portal/evidence/photo.py).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import Conflict
from portal.registry.models import HistoryKind, Student

# The record's own helpers: the same row lock, history row and correction check as every
# other change of the record (service.py must change together with this module).
from portal.registry.service import _add_history, _is_approved_correction, _lock

PHOTO = "photo"  # the field's name in histories, proposals and pages


def change_photo(student: Student, sha256: str, actor, *, reason: str, case) -> None:
    """Replace the registry photo with the stored one named by `sha256` (an approved correction)."""
    if not _is_approved_correction(case, student):
        raise Conflict(
            "student.photo_needs_correction",
            _l("The registry photo changes only through an approved correction request."),
        )
    locked = _lock(student)
    before = locked.photo_sha256
    locked.photo_sha256 = sha256
    _add_history(locked, HistoryKind.FIELDS, {PHOTO: before}, {PHOTO: sha256}, actor, reason, case)
    record_event(AuditTag.STUDENT_FIELDS_CHANGED, actor=actor, student=locked, case=case, fields=[PHOTO])
