"""De-identified exports (M-24): requested with a purpose, approved at county level, made by a job.

What leaves: no names; document and student numbers replaced by pseudonyms keyed per export
(the key is thrown away, so two exports cannot be joined on them); birth dates coarsened to
the year; the household region to its province; class names dropped; and every row whose
group on the quasi-identifiers (school, grade, gender, birth year, ethnicity) has fewer than
K_ANONYMITY rows suppressed. The export says what was suppressed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import Counter

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import clock
from portal.accounts.models import Role
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from portal.orgs.models import OrgLevel, OrgUnit
from portal.orgs.service import subtree_ids
from portal.oversight.models import DataExport, ExportState
from portal.registry.models import Student

K_ANONYMITY = 5
QUASI_IDENTIFIERS = ("school", "grade", "gender", "birth_year", "ethnicity")
APPROVING_LEVELS = (OrgLevel.COUNTY, OrgLevel.CITY, OrgLevel.PROVINCE)
PAGE_SIZE = 30


def _in_scope_of(user, unit_id: int) -> bool:
    return bool(
        db.session.scalar(
            select(OrgUnit.id).where(OrgUnit.id == unit_id, OrgUnit.id.in_(subtree_ids(user.org_unit)))
        )
    )


def request_export(actor, *, purpose: str, recipient: str, scope_unit_id: int) -> DataExport:
    """Ask for an export of the students under `scope_unit_id` (a unit at or below the actor's)."""
    purpose, recipient = purpose.strip(), recipient.strip()
    if len(purpose) < 10:
        raise ValidationFailed(
            "export.purpose_required", _l("Please describe the purpose and its legal basis.")
        )
    if not recipient:
        raise ValidationFailed("export.recipient_required", _l("Please name who will receive the data."))
    if not _in_scope_of(actor, scope_unit_id):
        raise ValidationFailed(
            "export.scope_outside", _l("You can only ask for data of your own unit and below.")
        )
    export = DataExport(
        purpose=purpose[:2000],
        recipient=recipient[:200],
        scope_unit_id=scope_unit_id,
        requested_by_id=actor.id,
        state=ExportState.REQUESTED,
        decision_note="",
    )
    db.session.add(export)
    db.session.flush()
    record_event(AuditTag.EXPORT_REQUESTED, actor=actor, export=export.id, scope_unit=scope_unit_id)
    return export


def _visible(user):
    return select(DataExport).where(
        (DataExport.scope_unit_id.in_(subtree_ids(user.org_unit))) | (DataExport.requested_by_id == user.id)
    )


def get_export(user, export_id: int) -> DataExport:
    export = db.session.scalar(_visible(user).where(DataExport.id == export_id))
    if export is None:
        raise NotFound("export.not_found", _l("No such export."))
    return export


def exports_page(user, *, before: int | None = None, limit: int = PAGE_SIZE):
    query = _visible(user)
    if before is not None:
        query = query.where(DataExport.id < before)
    rows = list(db.session.scalars(query.order_by(DataExport.id.desc()).limit(limit + 1)))
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def decide_export(actor, export_id: int, *, approve: bool, note: str) -> DataExport:
    """A county-level (or higher) unit over the scope approves or refuses; it answers for it (M-24)."""
    export = _locked(get_export(actor, export_id))
    if actor.org_unit.level not in APPROVING_LEVELS or actor.role == Role.GUARDIAN:
        raise ValidationFailed(
            "export.approver_level", _l("Only a county, city or province unit can approve.")
        )
    if export.requested_by_id == actor.id:
        raise ValidationFailed("export.own_request", _l("Someone other than the requester must decide."))
    if export.state_enum is not ExportState.REQUESTED:
        raise ValidationFailed("export.already_decided", _l("This export was already decided."))
    note = note.strip()
    if not approve and not note:
        raise ValidationFailed("export.reason_required", _l("Please give the reason for the refusal."))
    export.state = ExportState.APPROVED if approve else ExportState.REFUSED
    export.decided_by_id = actor.id
    export.decided_unit_id = actor.org_unit_id
    export.decided_at = clock.now()
    export.decision_note = note[:2000]
    tag = AuditTag.EXPORT_APPROVED if approve else AuditTag.EXPORT_REFUSED
    record_event(tag, actor=actor, export=export.id, unit=actor.org_unit_id)
    db.session.flush()
    return export


def _locked(export: DataExport) -> DataExport:
    return db.session.scalar(
        select(DataExport)
        .where(DataExport.id == export.id)
        .with_for_update(of=DataExport)
        .execution_options(populate_existing=True)
    )


# Producing (the job).


def _pseudonym(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:16]


def deidentified_rows(students, key: bytes) -> list[dict]:
    return [
        {
            "student": _pseudonym(key, "student_number", student.student_number),
            "document": _pseudonym(key, "document", f"{student.document_type}{student.document_number}"),
            "school": student.school.name,
            "grade": student.grade,
            "gender": student.gender,
            "birth_year": student.birth_date.year,
            "ethnicity": student.ethnicity,
            "hukou_province": student.hukou_region_code[:2],
            "status": student.status,
            "enrolled_year": student.enrolled_on.year,
        }
        for student in students
    ]


def suppress_small_groups(rows: list[dict], k: int = K_ANONYMITY) -> tuple[list[dict], dict]:
    """Keep rows whose quasi-identifier group has at least `k` rows; say what went."""
    groups = Counter(tuple(row[name] for name in QUASI_IDENTIFIERS) for row in rows)
    kept = [row for row in rows if groups[tuple(row[name] for name in QUASI_IDENTIFIERS)] >= k]
    small = [size for size in groups.values() if size < k]
    statement = {
        "rule": f"rows in groups of fewer than {k} on ({', '.join(QUASI_IDENTIFIERS)}) are left out",
        "suppressed_rows": sum(small),
        "suppressed_groups": len(small),
        "kept_rows": len(kept),
        "kept_groups": len(groups) - len(small),
    }
    return kept, statement


def produce_export(export_id: int) -> DataExport | None:
    """Make an approved export's content (idempotent: an export is produced once)."""
    export = db.session.scalar(
        select(DataExport)
        .where(DataExport.id == export_id)
        .with_for_update(of=DataExport)
        .execution_options(populate_existing=True)
    )
    if export is None or export.state_enum is not ExportState.APPROVED:
        return None
    scope = db.session.get(OrgUnit, export.scope_unit_id)
    students = db.session.scalars(
        select(Student).where(Student.school_id.in_(subtree_ids(scope))).order_by(Student.id)
    ).all()
    key = secrets.token_bytes(32)  # never stored: pseudonyms cannot be linked across exports
    rows, suppression = suppress_small_groups(deidentified_rows(students, key))
    approver_unit = db.session.get(OrgUnit, export.decided_unit_id)
    export.content = {
        "purpose": export.purpose,
        "recipient": export.recipient,
        "scope": scope.name,
        "approved_by_unit": approver_unit.name if approver_unit else None,
        "approved_at": export.decided_at.isoformat() if export.decided_at else None,
        "columns": list(rows[0]) if rows else [],
        "pseudonyms": "keyed per export (HMAC-SHA256, key discarded): not linkable to other exports",
        "coarsened": {"birth_date": "year", "hukou_region_code": "province (first two digits)"},
        "removed": ["name", "class_name", "document_number", "student_number", "birth_date"],
        "suppression": suppression,
        "rows": rows,
    }
    export.state = ExportState.PRODUCED
    export.produced_at = clock.now()
    record_event(
        AuditTag.EXPORT_PRODUCED,
        export=export.id,
        rows=len(rows),
        **{"suppressed": suppression["suppressed_rows"]},
    )
    db.session.flush()
    return export


def produce_approved_exports() -> int:
    ids = db.session.scalars(select(DataExport.id).where(DataExport.state == ExportState.APPROVED)).all()
    for export_id in ids:
        produce_export(export_id)
    return len(ids)


def download_export(user, export_id: int) -> dict:
    """The produced content, for the requester or a unit over the scope (audited)."""
    export = get_export(user, export_id)
    if export.state_enum is not ExportState.PRODUCED:
        raise NotFound("export.not_ready", _l("This export is not ready."))
    record_event(AuditTag.EXPORT_DOWNLOADED, actor=user, export=export.id)
    return export.content
