"""Signing keys, relying parties and their approvals, issued tokens, certificates, verifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.extensions import db
from portal.registry.models import Student


class SigningKey(db.Model):
    """An Ed25519 key: published in the JWKS from creation, signs from `activates_at`."""

    __tablename__ = "identity_signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(43), unique=True)  # RFC 7638 thumbprint
    public_x: Mapped[str] = mapped_column(String(43))  # the JWK `x`: raw public key, base64url
    # AES-256-GCM under IDENTITY_KEY_ENCRYPTION_KEY, with the kid as associated data.
    private_key_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    activates_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The latest expiry of anything this key signed: it may be retired only after that.
    last_expiry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return f"<SigningKey {self.kid[:8]}>"


class RelyingParty(db.Model):
    """A registered verifier (exam centre, library, another school) with its own audience."""

    __tablename__ = "identity_relying_parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    audience: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    approvals: Mapped[list[ClaimApproval]] = relationship(back_populates="relying_party")


class ClaimApproval(db.Model):
    """A county registrar's approval of extra claims for one relying party ("who approves is responsible")."""

    __tablename__ = "identity_claim_approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    relying_party_id: Mapped[int] = mapped_column(ForeignKey("identity_relying_parties.id"), index=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    claims: Mapped[list] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(Text)
    approved_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Ended early by a registrar of the same county: who and why stay with the approval.
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_reason: Mapped[str | None] = mapped_column(Text)

    relying_party: Mapped[RelyingParty] = relationship(back_populates="approvals")
    approved_by: Mapped[User] = relationship(foreign_keys=[approved_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])


class IssuedToken(db.Model):
    """Which child a token speaks for, kept server-side only: the token itself never says."""

    __tablename__ = "identity_issued_tokens"

    jti: Mapped[str] = mapped_column(String(32), primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    type: Mapped[str] = mapped_column(String(20))
    audience: Mapped[str] = mapped_column(String(64))
    kid: Mapped[str] = mapped_column(String(43))
    claims: Mapped[list] = mapped_column(JSON)  # the names of the claims it discloses
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Certificate(db.Model):
    """A registry certificate (学籍证明) for one purpose, with a place on the status list."""

    __tablename__ = "identity_certificates"
    __table_args__ = (UniqueConstraint("status_list", "status_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(String(100))
    jti: Mapped[str] = mapped_column(String(32), unique=True)
    token: Mapped[str] = mapped_column(Text)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status_list: Mapped[str] = mapped_column(String(16))
    status_index: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    revoked_reason: Mapped[str | None] = mapped_column(String(20))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    student: Mapped[Student] = relationship()

    def __repr__(self) -> str:
        return f"<Certificate {self.id}>"


class Verification(db.Model):
    """One online verification of a child's token: the family's share receipt."""

    __tablename__ = "identity_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    jti: Mapped[str] = mapped_column(String(32))
    relying_party_id: Mapped[int | None] = mapped_column(ForeignKey("identity_relying_parties.id"))
    channel: Mapped[str] = mapped_column(String(10))  # "page" or "api"
    claims: Mapped[list] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(20))  # "valid" or the refusal reason
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    relying_party: Mapped[RelyingParty | None] = relationship()


class TokenUse(db.Model):
    """A token id presented for single use: the replay guard's memory (unique on jti)."""

    __tablename__ = "identity_token_uses"

    jti: Mapped[str] = mapped_column(String(32), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
