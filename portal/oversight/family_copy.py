"""A guardian's copy of everything the portal holds about their child (PIPL: the right to a copy).

Requested on a page, produced by the job runner as JSON and a readable PDF, offered for
FAMILY_COPY_HOURS, then erased. Staff appear by unit and role only, as in the access log;
document and student numbers are masked as on every guardian page (docs/security.md).
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import clock
from portal.accounts.models import User
from portal.approvals.kinds import case_kind_label
from portal.approvals.models import Case
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import NotFound
from portal.extensions import db
from portal.guardians.models import GuardianLink
from portal.notifications.messages import register_message
from portal.notifications.service import notify
from portal.oversight.access_log import access_log
from portal.oversight.models import FamilyCopy
from portal.oversight.pdf import render_pdf
from portal.registry.masking import mask_record_values
from portal.registry.models import Student, StudentHistory

SECTIONS = ("record", "history", "requests", "evidence", "guardians", "access_log")
RECORD_FIELDS = (
    "student_number",
    "document_type",
    "document_number",
    "name",
    "gender",
    "birth_date",
    "ethnicity",
    "hukou_region_code",
    "grade",
    "class_name",
    "enrolled_on",
    "status",
)

COPY_READY = register_message(
    "oversight.family_copy_ready",
    subject=_l("Your copy of your child's data is ready"),
    body=_l("You can download it as PDF or JSON until %(until)s."),
)


def request_copy(guardian, student: Student) -> FamilyCopy:
    """Queue a copy for the job runner (the caller has checked the child is the guardian's)."""
    copy = FamilyCopy(student_id=student.id, guardian_id=guardian.id)
    db.session.add(copy)
    db.session.flush()
    record_event(AuditTag.FAMILY_COPY_REQUESTED, actor=guardian, student=student, copy=copy.id)
    return copy


def copies_of(guardian, student: Student) -> list[FamilyCopy]:
    """The guardian's copies of this child that are waiting or still offered, newest first."""
    now = clock.now()
    return list(
        db.session.scalars(
            select(FamilyCopy)
            .where(FamilyCopy.guardian_id == guardian.id, FamilyCopy.student_id == student.id)
            .where((FamilyCopy.expires_at.is_(None)) | (FamilyCopy.expires_at > now))
            .order_by(FamilyCopy.id.desc())
            .limit(10)
        )
    )


def get_copy(guardian, student: Student, copy_id: int) -> FamilyCopy:
    """A produced, unexpired copy of the guardian's (audited on download)."""
    copy = db.session.get(FamilyCopy, copy_id)
    alive = copy is not None and copy.expires_at is not None and clock.aware(copy.expires_at) > clock.now()
    if not alive or copy.guardian_id != guardian.id or copy.student_id != student.id or copy.content is None:
        raise NotFound("family_copy.not_found", _l("This copy is not available (it may have expired)."))
    record_event(AuditTag.FAMILY_COPY_DOWNLOADED, actor=guardian, student=student, copy=copy.id)
    return copy


def collect(student: Student) -> dict:
    """Every section, as plain JSON values."""
    return {
        "record": mask_record_values({name: _plain(getattr(student, name)) for name in RECORD_FIELDS})
        | {"school": student.school.name},
        "history": [
            {
                "at": h.at.isoformat(),
                "kind": h.kind,
                "before": mask_record_values(h.before or {}),
                "after": mask_record_values(h.after or {}),
                "reason": h.reason,
            }
            for h in db.session.scalars(
                select(StudentHistory)
                .where(StudentHistory.student_id == student.id)
                .order_by(StudentHistory.id)
            )
        ],
        "requests": [_case(case) for case in _cases(student)],
        "evidence": [
            {"request": case.id, "document": str(item)}
            for case in _cases(student)
            for item in (case.payload or {}).get("evidence", [])
        ],
        "guardians": [
            {"relation": link.relation, "since": link.created_at.isoformat() if link.created_at else None}
            for link in db.session.scalars(
                select(GuardianLink).where(
                    GuardianLink.student_id == student.id, GuardianLink.revoked_at.is_(None)
                )
            )
        ],
        "access_log": [_access(entry) for entry in _whole_access_log(student)],
    }


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _cases(student: Student) -> list[Case]:
    return list(db.session.scalars(select(Case).where(Case.student_id == student.id).order_by(Case.id)))


def _case(case: Case) -> dict:
    return {
        "id": case.id,
        "kind": case.kind,
        "kind_label": case_kind_label(case.kind),
        "state": case.state,
        "opened_at": case.opened_at.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "steps": [
            {
                "unit": step.org_unit.name,
                "state": step.state,
                "due_on": _plain(step.due_on),
                "reason": step.reason,
            }
            for step in case.steps
        ],
    }


def _whole_access_log(student: Student):
    entries, cursor = access_log(student, limit=500)
    yield from entries
    while cursor is not None:
        entries, cursor = access_log(student, before=cursor, limit=500)
        yield from entries


def _access(entry) -> dict:
    return {
        "at": entry.at.isoformat(),
        "unit": entry.unit,
        "role": entry.role,
        "action": entry.action,
        "reason": entry.reason,
    }


def _pdf(student: Student, content: dict) -> bytes:
    record = content["record"]
    sections = [
        (str(_l("Registry record")), [f"{name}: {value}" for name, value in record.items()]),
        (
            str(_l("History")),
            [
                f"{h['at'][:10]} {h['kind']}: {h['before']} → {h['after']} {h['reason']}"
                for h in content["history"]
            ],
        ),
        (
            str(_l("Requests")),
            [f"{c['opened_at'][:10]} {c['kind_label']}: {c['state']}" for c in content["requests"]],
        ),
        (str(_l("Evidence")), [f"{e['request']}: {e['document']}" for e in content["evidence"]]),
        (str(_l("Guardians")), [f"{g['relation']} {g['since'] or ''}" for g in content["guardians"]]),
        (
            str(_l("Who used the record")),
            [
                f"{a['at'][:16]} {a['unit']} {a['role']}: {a['action']} ({a['reason']})"
                for a in content["access_log"]
            ],
        ),
    ]
    title = str(_l("Everything the portal holds about %(name)s", name=student.name))
    return render_pdf(title, sections, current_app.config["FAMILY_COPY_FONT"])


def produce_copy(copy_id: int) -> FamilyCopy | None:
    """Fill a requested copy (once), offer it for FAMILY_COPY_HOURS, tell the guardian."""
    copy = db.session.get(FamilyCopy, copy_id)
    if copy is None or copy.produced_at is not None:
        return None
    student = db.session.get(Student, copy.student_id)
    with force_locale("zh_Hans"):
        copy.content = collect(student)
        copy.pdf = _pdf(student, copy.content)
        copy.produced_at = clock.now()
        copy.expires_at = copy.produced_at + timedelta(hours=current_app.config["FAMILY_COPY_HOURS"])
        until = copy.expires_at.astimezone(clock.CHINA).strftime("%Y-%m-%d %H:%M")
    guardian = db.session.get(User, copy.guardian_id)
    notify(guardian, COPY_READY.code, student=student, url=f"/children/{student.id}/copy", until=until)
    db.session.flush()
    return copy


def produce_requested_copies() -> int:
    ids = db.session.scalars(select(FamilyCopy.id).where(FamilyCopy.produced_at.is_(None))).all()
    for copy_id in ids:
        produce_copy(copy_id)
    return len(ids)


def erase_expired_copies() -> int:
    """Copies past their time lose their content (the row stays: it was made, and when)."""
    expired = db.session.scalars(
        select(FamilyCopy).where(FamilyCopy.expires_at <= clock.now(), FamilyCopy.content.is_not(None))
    ).all()
    for copy in expired:
        copy.content = None
        copy.pdf = None
    return len(expired)
