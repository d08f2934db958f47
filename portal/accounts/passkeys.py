"""Passkeys: adding, signing in with, renaming and removing them (py_webauthn via our adapter)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from portal import clock
from portal.accounts import webauthn
from portal.accounts.models import Passkey, User, WebAuthnChallenge
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db

CHALLENGE_LIFETIME = timedelta(minutes=5)
MAX_NAME_LENGTH = 50
RP_NAME = "学籍服务门户"


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkeys belong to: the site's host name and the origin pages are served from."""

    rp_id: str
    origin: str


_PASSKEY_REFUSED = _l(
    "The passkey could not be checked. Please try again, and confirm with your fingerprint, face or "
    "screen lock when your phone asks."
)


def refused(code: str = "passkey.refused", status: int = 400) -> ValidationFailed:
    return ValidationFailed(code, _PASSKEY_REFUSED, status=status, keep_bookkeeping=True)


def _new_challenge(purpose: str, user: User | None) -> WebAuthnChallenge:
    db.session.execute(delete(WebAuthnChallenge).where(WebAuthnChallenge.expires_at < clock.now()))
    row = WebAuthnChallenge(
        challenge=secrets.token_bytes(32),
        purpose=purpose,
        user_id=user.id if user else None,
        expires_at=clock.now() + CHALLENGE_LIFETIME,
    )
    db.session.add(row)
    db.session.flush()
    return row


def _take_challenge(challenge_id: int | None, purpose: str, user: User | None) -> bytes:
    """The challenge, deleted as it is read: a second answer to it finds nothing."""
    row = db.session.get(WebAuthnChallenge, challenge_id, with_for_update=True) if challenge_id else None
    if row is None:
        raise refused("passkey.challenge_unknown")
    db.session.delete(row)
    db.session.flush()
    fits = row.purpose == purpose and row.user_id == (user.id if user else None)
    if not fits or clock.aware(row.expires_at) < clock.now():
        raise refused("passkey.challenge_unknown")
    return row.challenge


def passkeys_of(user: User) -> list[Passkey]:
    return list(db.session.scalars(select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.id)))


def has_passkey(user: User) -> bool:
    return bool(
        db.session.scalar(select(func.count()).select_from(Passkey).where(Passkey.user_id == user.id))
    )


def begin_registration(user: User, party: RelyingParty) -> tuple[int, str]:
    """A new challenge for `user`; returns its id (kept in the session) and the browser's options."""
    if user.webauthn_handle is None:
        user.webauthn_handle = secrets.token_bytes(32)
    challenge = _new_challenge("register", user)
    options = webauthn.registration_options(
        rp_id=party.rp_id,
        rp_name=RP_NAME,
        user_handle=user.webauthn_handle,
        user_name=user.display_login,
        display_name=user.display_name,
        challenge=challenge.challenge,
        existing=[passkey.credential_id for passkey in passkeys_of(user)],
    )
    return challenge.id, options


def begin_sign_up(handle: bytes, user_name: str, display_name: str, party: RelyingParty) -> tuple[int, str]:
    """A challenge for the first passkey of an account that does not exist yet (made on success)."""
    challenge = _new_challenge("sign_up", None)
    options = webauthn.registration_options(
        rp_id=party.rp_id,
        rp_name=RP_NAME,
        user_handle=handle,
        user_name=user_name,
        display_name=display_name,
        challenge=challenge.challenge,
        existing=[],
    )
    return challenge.id, options


def verified_sign_up(challenge_id: int | None, response: str, party: RelyingParty) -> webauthn.NewCredential:
    """The new credential proven against a sign-up challenge (taken, so it answers once)."""
    return _verified_credential(_take_challenge(challenge_id, "sign_up", None), response, party)


def _verified_credential(challenge: bytes, response: str, party: RelyingParty) -> webauthn.NewCredential:
    try:
        credential = webauthn.verify_registration(
            response, challenge=challenge, rp_id=party.rp_id, origin=party.origin
        )
    except webauthn.WebAuthnError:
        raise refused() from None
    if db.session.scalar(select(Passkey.id).where(Passkey.credential_id == credential.credential_id)):
        raise refused("passkey.already_registered")
    return credential


def finish_registration(
    user: User,
    challenge_id: int | None,
    response: str,
    name: str,
    party: RelyingParty,
    *,
    first_enrolment=False,
) -> Passkey:
    credential = _verified_credential(_take_challenge(challenge_id, "register", user), response, party)
    return add_passkey(user, credential, name, first_enrolment=first_enrolment)


def add_passkey(
    user: User, credential: webauthn.NewCredential, name: str, *, first_enrolment: bool
) -> Passkey:
    passkey = Passkey(
        user_id=user.id,
        credential_id=credential.credential_id,
        public_key=credential.public_key,
        sign_count=credential.sign_count,
        name=_clean_name(name),
    )
    db.session.add(passkey)
    db.session.flush()
    record_event(AuditTag.PASSKEY_ADDED, actor=user, passkey_id=passkey.id, first_enrolment=first_enrolment)
    return passkey


def begin_sign_in(party: RelyingParty) -> tuple[int, str]:
    challenge = _new_challenge("sign_in", None)
    return challenge.id, webauthn.authentication_options(rp_id=party.rp_id, challenge=challenge.challenge)


def finish_sign_in(challenge_id: int | None, response: str, party: RelyingParty) -> User:
    """The account whose passkey answered the challenge, with user verification."""
    challenge = _take_challenge(challenge_id, "sign_in", None)
    try:
        credential_id = webauthn.credential_id_of(response)
    except webauthn.WebAuthnError:
        raise refused() from None
    passkey = db.session.scalar(select(Passkey).where(Passkey.credential_id == credential_id))
    if passkey is None:
        raise refused("passkey.unknown", status=401)
    try:
        passkey.sign_count = webauthn.verify_authentication(
            response,
            challenge=challenge,
            rp_id=party.rp_id,
            origin=party.origin,
            public_key=passkey.public_key,
            sign_count=passkey.sign_count,
        )
    except webauthn.WebAuthnError as error:
        record_event(
            AuditTag.PASSKEY_SIGN_IN_FAILED, actor=passkey.user, passkey_id=passkey.id, why=str(error)[:100]
        )
        raise refused(status=401) from None
    passkey.last_used_at = clock.now()
    return passkey.user


def _clean_name(name: str) -> str:
    name = " ".join(name.split())[:MAX_NAME_LENGTH]
    return name or str(_l("My passkey"))


def passkey_of(user: User, passkey_id: int) -> Passkey:
    passkey = db.session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user.id:
        raise NotFound("passkey.not_found", _l("No such passkey."))
    return passkey


def rename_passkey(user: User, passkey_id: int, name: str) -> Passkey:
    passkey = passkey_of(user, passkey_id)
    passkey.name = _clean_name(name)
    record_event(AuditTag.PASSKEY_RENAMED, actor=user, passkey_id=passkey.id)
    return passkey


def remove_passkey(user: User, passkey_id: int, *, passkey_required: bool) -> None:
    """Remove one passkey; staff who must sign in with a passkey keep at least one, and so does
    an account without a password (it would have no way in left)."""
    passkey = passkey_of(user, passkey_id)
    last_one = len(passkeys_of(user)) == 1
    if passkey_required and last_one:
        raise ValidationFailed(
            "passkey.last_one",
            _l("This is your only passkey, and your account signs in with a passkey. Add another one first."),
            status=409,
        )
    if user.password_hash is None and last_one:
        raise ValidationFailed(
            "passkey.last_way_in",
            _l(
                "This is your only passkey and your account has no password, so you could no longer "
                "sign in. Add another passkey first, or set a password with “Forgotten password” on the "
                "sign-in page."
            ),
            status=409,
        )
    db.session.delete(passkey)
    record_event(AuditTag.PASSKEY_REMOVED, actor=user, passkey_id=passkey_id)
