"""Proposing, deciding and applying corrections of a child's registry details (M-13, AH-29, N16).

Payload of a `correction` case:
- `changes`: field → proposed value (normalized as enrolment stores it; dates ISO). A new
  student number is never proposed by people: it follows from the document (a checked
  resident ID turns a J or L number into G, N16) and is added here as `student_number`;
- `before`: the same fields as the record had them when proposed;
- `photo` in `changes` is the evidence reference of the new registry photo (also first in
  `evidence`: the photo is its own proof); in `before`, the content hash of the current one;
- `photo_is_key`: whether the student's province made the photo a key field (decided when
  proposed, kept for the life of the case);
- `reason`, `evidence` (references of `portal.evidence`), `key` (whether a key field is
  among the changes: then the county decides after the school);
- `declined`: field → {"reason", "role"} for fields a unit declined (partial approval);
- `notes`: what the requester added when resubmitting.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.approvals import engine
from portal.approvals.models import Case, CaseState, Step, StepState
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.evidence.models import Evidence
from portal.evidence.photo import check_photo_reference
from portal.evidence.service import check_references
from portal.extensions import db
from portal.guardians.models import GuardianLink
from portal.orgs.models import OrgLevel
from portal.provinces.rules import photo_is_key
from portal.registry.documents import DocumentType, Gender, StudentNumberKind, normalize_document_number
from portal.registry.photo import PHOTO, change_photo
from portal.registry.service import KEY_FIELDS, change_fields, check_changes
from portal.security.scope import can_act_for_unit, get_visible_student

KIND = "correction"
# What a family (or a registrar from a paper form) may propose, in the order pages show them.
CORRECTABLE_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "document_type",
    "document_number",
    "ethnicity",
    "hukou_region_code",
)
# Everything a proposal may carry: the fields above as text, and the new photo as the
# reference of its upload (portal/evidence/photo.py).
PROPOSABLE_FIELDS = (*CORRECTABLE_FIELDS, PHOTO)
# Fields decided together: half of a document is not a document.
DOCUMENT_GROUP = frozenset({"document_type", "document_number", "student_number"})
MAX_REASON_LENGTH = 500
MAX_EVIDENCE = 10


class Action:
    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"


# --- proposing ---------------------------------------------------------------------------


def parse_changes(raw: dict) -> dict:
    """Typed values from what a form or the API sent (blank: no change proposed)."""
    changes = {}
    for name in CORRECTABLE_FIELDS:
        value = raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if not isinstance(value, str):
            raise ValidationFailed("correction.bad_value", _l("Please check the values entered."))
        value = value.strip()
        if name == "birth_date":
            try:
                value = date.fromisoformat(value)
            except ValueError:
                raise ValidationFailed("form.bad_date", _l("Please enter a date like 2015-09-01.")) from None
        elif name == "gender" and value not in set(Gender):
            raise ValidationFailed("student.bad_gender", _l("Please choose the gender."))
        elif name == "document_type" and value not in set(DocumentType):
            raise ValidationFailed(
                "document.unknown_type", _l("Please choose the type of identity document.")
            )
        changes[name] = value
    unknown = set(raw) - set(PROPOSABLE_FIELDS)
    if unknown:
        raise ValidationFailed("correction.field_not_correctable", _l("This field cannot be corrected here."))
    return changes


def _cosmetic(name: str, current, proposed) -> bool:
    """Whether `proposed` only differs from `current` in spacing or letter case (or not at all)."""
    if isinstance(current, str) and isinstance(proposed, str):
        return "".join(current.split()).casefold() == "".join(proposed.split()).casefold()
    return current == proposed


def prepare(student, raw_changes: dict, *, with_photo: bool = False) -> dict:
    """The proposal's changes of text fields, validated exactly as enrolment validates, with
    the student number that follows from them; refuses a proposal that changes nothing real
    (`with_photo`: a new photo comes too, so no text change is needed)."""
    changes = parse_changes({name: value for name, value in raw_changes.items() if name != PHOTO})
    if "document_number" in changes:
        changes["document_number"] = normalize_document_number(changes["document_number"])
    real = {
        name: value for name, value in changes.items() if not _cosmetic(name, getattr(student, name), value)
    }
    if not real and not with_photo:
        raise _nothing_changes()
    if real.keys() & DOCUMENT_GROUP:
        record = {**{name: getattr(student, name) for name in CORRECTABLE_FIELDS}, **real}
        derived = _derived_student_number(record)
        if derived and derived != student.student_number:
            real["student_number"] = derived
    return check_changes(student, real)


def _nothing_changes() -> ValidationFailed:
    return ValidationFailed(
        "correction.nothing_changes",
        _l(
            "The record already says this. Differences in spacing or in capital and small "
            "letters are not corrections, so there is nothing to send."
        ),
    )


def photo_reference(raw_changes: dict) -> str | None:
    """The reference of the proposed new photo, if one was proposed."""
    value = raw_changes.get(PHOTO)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValidationFailed("correction.bad_value", _l("Please check the values entered."))
    return value.strip()


def photo_is_key_for(student) -> bool:
    """Whether the student's province makes the photo a key field (AH-29: where it says so)."""
    return photo_is_key(student.school.ancestor_at(OrgLevel.PROVINCE).id)


def key_fields(payload: dict) -> frozenset:
    """The fields that take a correction to the county, as decided when it was proposed."""
    fields = KEY_FIELDS | {"student_number"}
    return fields | {PHOTO} if payload.get("photo_is_key") else fields


def _derived_student_number(record: dict) -> str | None:
    """N16: a checked resident ID turns J or L into G; a new resident ID number gives a new G."""
    if record["document_type"] != DocumentType.RESIDENT_ID:
        return None  # a passport, permit or residence card never yields G
    return StudentNumberKind.G + record["document_number"]


def _jsonable(value):
    return value.isoformat() if isinstance(value, date) else value


def build_payload(student, requester, raw_changes: dict, reason: str, evidence: list) -> dict:
    photo_ref = photo_reference(raw_changes)
    changes = prepare(student, raw_changes, with_photo=photo_ref is not None)
    if photo_ref is not None:
        if check_photo_reference(photo_ref, requester).sha256 != student.photo_sha256:
            changes[PHOTO] = photo_ref
        elif not changes:
            raise _nothing_changes()  # the very photo the record already has
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("case.reason_required", _l("Please give the reason for the request."))
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationFailed(
            "case.reason_too_long",
            _l("The reason is too long (at most %(max)s characters)."),
            max=MAX_REASON_LENGTH,
        )
    if not isinstance(evidence, list) or len(evidence) > MAX_EVIDENCE:
        raise ValidationFailed("case.bad_evidence", _l("The attached documents could not be read."))
    if PHOTO in changes and changes[PHOTO] not in evidence:
        evidence = [changes[PHOTO], *evidence]  # the new photo is the proof of itself
    photo_key = PHOTO in changes and photo_is_key_for(student)
    key = bool(set(changes) & key_fields({"photo_is_key": photo_key}))
    if key and not evidence:
        raise ValidationFailed(
            "correction.evidence_required",
            _l(
                "Name, gender, date of birth and identity document are corrected only with proof "
                "from the household registration authority: please attach a photo or scan of it."
            ),
        )
    return {
        "changes": {name: _jsonable(value) for name, value in changes.items()},
        "before": {name: _jsonable(_current(student, name)) for name in changes},
        "reason": reason,
        "evidence": check_references(evidence, requester),
        "key": key,
        "photo_is_key": photo_key,
        "declined": {},
    }


def _current(student, name: str):
    return student.photo_sha256 if name == PHOTO else getattr(student, name)


def check_requester(student, requester) -> None:
    """A linked guardian, or staff who may see the student (a paper form at the counter)."""
    if requester.is_staff:
        get_visible_student(requester, student.id)
        return
    linked = db.session.scalar(
        select(GuardianLink.id).where(
            GuardianLink.guardian_id == requester.id,
            GuardianLink.student_id == student.id,
            GuardianLink.revoked_at.is_(None),
        )
    )
    if linked is None:
        raise NotFound("student.not_found", _l("No such student."))


def case_for_key(key: str | None, requester) -> Case | None:
    """The case a retried submit (same form, same key) already opened, if any."""
    if not key:
        return None
    return db.session.scalar(
        select(Case).where(Case.idempotency_key == key, Case.requester_id == requester.id, Case.kind == KIND)
    )


def propose(student, requester, raw_changes: dict, *, reason: str, evidence: list, key: str | None = None):
    """Open a correction case (or return the one this very submit already opened)."""
    existing = case_for_key(key, requester)
    if existing is not None:
        return existing
    check_requester(student, requester)
    payload = build_payload(student, requester, raw_changes, reason, evidence)
    return engine.open_case(KIND, student, requester, payload, idempotency_key=key or None)


def resubmit(case_id: int, requester, *, note: str, evidence: list) -> Case:
    """The requester adds what the unit asked for; the returned step resumes."""
    case = db.session.get(Case, case_id)
    if case is None or case.kind != KIND or case.requester_id != requester.id:
        raise NotFound("case.not_found", _l("No such request."))
    note = (note or "").strip()[:MAX_REASON_LENGTH]
    refs = check_references(evidence, requester)
    if not note and not refs:
        raise ValidationFailed(
            "correction.nothing_added", _l("Please add the missing material or a note before sending again.")
        )
    notes = [*case.payload.get("notes", []), note] if note else case.payload.get("notes", [])
    return engine.resubmit(case_id, requester, additions={"notes": notes}, evidence=refs)


# --- deciding ----------------------------------------------------------------------------


def live_fields(case) -> list[str]:
    """The proposed fields no unit has declined, in page order."""
    declined = case.payload.get("declined", {})
    return [name for name in case.payload.get("changes", {}) if name not in declined]


def decidable_fields(case) -> list[str]:
    """What a person chooses among: live fields, the derived student number riding along."""
    return [name for name in live_fields(case) if name != "student_number"]


def decide(step_id: int, actor, *, action: str, fields=None, reason: str = ""):
    """Approve all or some fields (declining the others with `reason`), reject, or return."""
    if action == Action.RETURN:
        return engine.return_case(step_id, actor, missing=reason)
    if action == Action.REJECT:
        return engine.decide(step_id, actor, approve=False, reason=reason)
    if action != Action.APPROVE:
        raise ValidationFailed("step.bad_action", _l("Please choose what you decide."))
    step = db.session.get(Step, step_id)
    if step is None or step.case.kind != KIND or not can_act_for_unit(actor, step.org_unit):
        raise NotFound("step.not_found", _l("No such step waiting for your unit."))
    case = step.case
    if step.state != StepState.PENDING or case.requester_id == actor.id or fields is None:
        return engine.decide(step_id, actor, approve=True, reason=reason)  # all, or the engine refuses
    offered = set(decidable_fields(case))
    chosen = set(fields)
    if chosen - offered:
        raise ValidationFailed("correction.unknown_field", _l("This field is not part of the request."))
    if not chosen:
        if not (reason or "").strip():
            raise ValidationFailed(
                "correction.decline_reason_required",
                _l("Please give the reason for declining, which the family reads."),
            )
        return engine.decide(step_id, actor, approve=False, reason=reason)
    documents = offered & DOCUMENT_GROUP
    if documents and (chosen & documents) and (chosen & documents) != documents:
        raise ValidationFailed(
            "correction.decide_together",
            _l("The document type and the document number are decided together."),
        )
    declined = offered - chosen
    if declined and "student_number" in live_fields(case) and not (chosen & DOCUMENT_GROUP):
        declined.add("student_number")
    if declined and not (reason or "").strip():
        raise ValidationFailed(
            "correction.decline_reason_required",
            _l("Please give the reason for declining, which the family reads."),
        )
    approved = {name: case.payload["changes"][name] for name in live_fields(case) if name not in declined}
    # The approved part must make a valid record on its own (the photo was checked on upload).
    check_changes(case.student, _typed(_text_fields(approved)))
    payload = dict(case.payload)
    payload["declined"] = {
        **payload.get("declined", {}),
        **{name: {"reason": reason.strip(), "role": step.role} for name in sorted(declined)},
    }
    case.payload = payload
    if not set(approved) & key_fields(case.payload):
        # Nothing key is left: the county has nothing to decide (M-13: the school alone).
        for later in case.steps:
            if later.state == StepState.WAITING:
                engine.move_step(later, StepState.SKIPPED, actor)
    return engine.decide(step_id, actor, approve=True, reason=reason if declined else "")


def _text_fields(changes: dict) -> dict:
    return {name: value for name, value in changes.items() if name != PHOTO}


def _typed(changes: dict) -> dict:
    return {
        name: date.fromisoformat(value) if name == "birth_date" and isinstance(value, str) else value
        for name, value in changes.items()
    }


def apply(case, actor) -> None:
    """The route completed: the approved fields change, in this transaction, with history."""
    approved = {name: case.payload["changes"][name] for name in live_fields(case)}
    if not approved:
        return
    reason = case.payload.get("reason", "")
    if _text_fields(approved):
        change_fields(case.student, _typed(_text_fields(approved)), actor, reason=reason, case=case)
    if PHOTO in approved:
        photo = db.session.get(Evidence, approved[PHOTO])
        change_photo(case.student, photo.sha256, actor, reason=reason, case=case)
    approvers = [step.decided_by_id for step in case.steps if step.state == StepState.APPROVED]
    record_event(
        AuditTag.CORRECTION_APPLIED,
        actor=actor,
        student=case.student,
        case=case,
        fields=sorted(approved),
        approvers=approvers,
    )


def correction_case_for(user, case_id: int) -> Case:
    """A correction case `user` may read: requester, linked guardian, or staff who may see the child."""
    case = db.session.get(Case, case_id)
    if case is None or case.kind != KIND:
        raise NotFound("case.not_found", _l("No such request."))
    if case.requester_id != user.id:
        try:
            check_requester(case.student, user)
        except NotFound:
            raise NotFound("case.not_found", _l("No such request.")) from None
    return case


def step_for_staff(user, step_id: int) -> Step:
    step = db.session.get(Step, step_id)
    if step is None or step.case.kind != KIND:
        raise NotFound("step.not_found", _l("No such step waiting for your unit."))
    if not can_act_for_unit(user, step.org_unit):
        try:
            get_visible_student(user, step.case.student_id)
        except NotFound:
            raise NotFound("step.not_found", _l("No such step waiting for your unit.")) from None
    return step


def pending_steps(unit) -> list[Step]:
    return [step for step in engine.queue_for(unit) if step.case.kind == KIND]


def ensure_live(case) -> None:
    if case.state not in (CaseState.OPEN, CaseState.RETURNED):
        raise Conflict("case.closed", _l("This request is finished."))
