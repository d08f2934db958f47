"""Registered relying parties and the county approvals of the extra claims they receive."""

from __future__ import annotations

import re
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import clock
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import Conflict, DomainError, NotFound, ValidationFailed
from portal.extensions import db
from portal.identity.models import ClaimApproval, RelyingParty
from portal.identity.verifier import PUBLIC_AUDIENCE
from portal.orgs.models import OrgLevel

APPROVABLE_CLAIMS = ("name", "class")  # tokens.EXTRA_CLAIM_VALUES gives their values
_AUDIENCE = re.compile(r"[a-z0-9][a-z0-9.:-]{2,63}")
MAX_APPROVAL_DAYS = 366


def register(audience: str, name: str, actor) -> RelyingParty:
    """A relying party with its own audience; it receives default claims only until approved."""
    audience = audience.strip().lower()
    if not _AUDIENCE.fullmatch(audience) or audience == PUBLIC_AUDIENCE:
        raise ValidationFailed("relying_party.bad_audience", _l("Use 3–64 lowercase letters, digits, . : -"))
    if db.session.scalar(select(RelyingParty.id).where(RelyingParty.audience == audience)):
        raise Conflict("relying_party.duplicate", _l("This relying party is already registered."))
    party = RelyingParty(
        audience=audience, name=name.strip()[:100], registered_by_id=getattr(actor, "id", None)
    )
    db.session.add(party)
    db.session.flush()
    record_event(AuditTag.RELYING_PARTY_REGISTERED, actor=actor, relying_party=party.id)
    return party


def approve_claims(
    party: RelyingParty, claims: list[str], *, purpose: str, valid_until: datetime, approver
) -> ClaimApproval:
    """A county registrar approves extra claims for students of their county (who approves is responsible)."""
    if not approver.is_staff or approver.org_unit.level != OrgLevel.COUNTY:
        raise DomainError("relying_party.county_only", _l("Only a county registrar may approve."), status=403)
    if not claims or set(claims) - set(APPROVABLE_CLAIMS):
        raise ValidationFailed("relying_party.bad_claims", _l("These claims cannot be approved."))
    if not 5 <= len(purpose.strip()) <= 500:
        raise ValidationFailed("relying_party.purpose_needed", _l("Please state the purpose."))
    days = (valid_until - clock.now()).days
    if not 0 <= days <= MAX_APPROVAL_DAYS:
        raise ValidationFailed("relying_party.bad_until", _l("An approval lasts at most a year."))
    approval = ClaimApproval(
        relying_party=party,
        county_id=approver.org_unit_id,
        claims=sorted(set(claims)),
        purpose=purpose.strip(),
        approved_by_id=approver.id,
        approved_at=clock.now(),
        valid_until=valid_until,
    )
    db.session.add(approval)
    db.session.flush()
    record_event(
        AuditTag.RELYING_PARTY_CLAIMS_APPROVED,
        actor=approver,
        relying_party=party.id,
        claims=approval.claims,
        valid_until=valid_until.isoformat(),
    )
    return approval


def revoke_approval(approval_id: int, *, reason: str, revoker) -> ClaimApproval:
    """End a county's approval early; tokens issued from now on carry default claims only."""
    approval = db.session.get(ClaimApproval, approval_id, with_for_update=True)
    if approval is None or approval.county_id != getattr(revoker, "org_unit_id", None):
        raise NotFound("relying_party.approval_not_found", _l("No such approval."))
    if approval.revoked_at is not None:
        raise Conflict("relying_party.approval_revoked", _l("This approval is already revoked."))
    reason = " ".join(reason.split())
    if not 5 <= len(reason) <= 500:
        raise ValidationFailed("relying_party.reason_needed", _l("Please give the reason for revoking."))
    approval.revoked_at = clock.now()
    approval.revoked_by_id = revoker.id
    approval.revoked_reason = reason
    record_event(
        AuditTag.RELYING_PARTY_CLAIMS_REVOKED,
        actor=revoker,
        relying_party=approval.relying_party_id,
        approval=approval.id,
    )
    return approval


def approved_claims(party: RelyingParty, student) -> list[str]:
    """The extra claims a live approval by the student's own county grants this party."""
    now = clock.now()
    county = student.school.ancestor_at(OrgLevel.COUNTY)
    granted: set[str] = set()
    for approval in party.approvals:
        live = approval.revoked_at is None and clock.aware(approval.valid_until) > now
        if live and county is not None and approval.county_id == county.id:
            granted |= set(approval.claims)
    return sorted(granted)


def approvals_by(approver) -> list[ClaimApproval]:
    """The approvals a county registrar's unit gave, newest first."""
    return list(
        db.session.scalars(
            select(ClaimApproval)
            .where(ClaimApproval.county_id == approver.org_unit_id)
            .order_by(ClaimApproval.approved_at.desc())
        )
    )


def find(audience: str) -> RelyingParty | None:
    return db.session.scalar(select(RelyingParty).where(RelyingParty.audience == audience))


def all_parties() -> list[RelyingParty]:
    return list(db.session.scalars(select(RelyingParty).order_by(RelyingParty.name)))
