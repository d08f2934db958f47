"""Ed25519 signing keys: created, published, signing, retired; private halves encrypted at rest.

Rotation (docs/identity.md): `create_key` publishes a key in the JWKS at once and lets it sign
only after IDENTITY_KEY_PUBLISH_SECONDS, when every cached JWKS has it; the newest active key
signs; `retire_key` removes a key from the JWKS only once everything it signed has expired.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import clock
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import Conflict, DomainError, NotFound
from portal.extensions import db
from portal.identity.models import SigningKey
from portal.identity.verifier import ALGORITHMS, KeySet, b64url, thumbprint

_NONCE_BYTES = 12
# Decrypted private keys, by kid: decrypting once per process, not once per token.
_private_keys: dict[str, Ed25519PrivateKey] = {}


def derived_secret(purpose: str) -> bytes:
    """A 32-byte secret for one purpose, derived from IDENTITY_KEY_ENCRYPTION_KEY (one key, one use)."""
    master = current_app.config.get("IDENTITY_KEY_ENCRYPTION_KEY")
    if not master:
        raise RuntimeError("IDENTITY_KEY_ENCRYPTION_KEY must be set outside local development.")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"xueji {purpose}".encode())
    return hkdf.derive(master.encode())


def create_key(actor=None, *, activate_now: bool = False) -> SigningKey:
    """A new key, in the JWKS from now, signing after the publish delay (or now, for the first)."""
    private = Ed25519PrivateKey.generate()
    x = b64url(private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    kid = thumbprint(x)
    now = clock.now()
    delay = 0 if activate_now else current_app.config["IDENTITY_KEY_PUBLISH_SECONDS"]
    key = SigningKey(
        kid=kid,
        public_x=x,
        private_key_ciphertext=_encrypt(private, kid),
        created_at=now,
        activates_at=now + timedelta(seconds=delay),
    )
    db.session.add(key)
    db.session.flush()
    record_event(AuditTag.IDENTITY_KEY_CREATED, actor=actor, kid=kid)
    return key


def ensure_key() -> SigningKey | None:
    """Create a key that signs at once when none exists yet (first start); None if one did."""
    if db.session.scalar(select(SigningKey.id).where(SigningKey.retired_at.is_(None)).limit(1)):
        return None
    return create_key(activate_now=True)


def retire_key(kid: str, actor=None, *, now: datetime | None = None) -> SigningKey:
    """Remove a key from the JWKS, once every token it signed has expired."""
    now = now or clock.now()
    key = db.session.scalar(select(SigningKey).where(SigningKey.kid == kid).with_for_update())
    if key is None or key.retired_at is not None:
        raise NotFound("identity.key_not_found", _l("No such signing key."))
    if key.last_expiry_at is not None and clock.aware(key.last_expiry_at) > now:
        raise Conflict(
            "identity.key_still_in_use",
            _l("Tokens signed with this key are still valid until %(until)s."),
            until=clock.aware(key.last_expiry_at).isoformat(timespec="seconds"),
        )
    if _signing_key(now) is key and _signing_key(now, exclude=key) is None:
        raise Conflict("identity.last_signing_key", _l("Create and activate another key first."))
    key.retired_at = now
    _private_keys.pop(kid, None)
    record_event(AuditTag.IDENTITY_KEY_RETIRED, actor=actor, kid=kid)
    return key


def published_keys() -> list[SigningKey]:
    """Every key a verifier must know: not yet signing, signing, and no longer signing but not retired."""
    return list(
        db.session.scalars(
            select(SigningKey).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.created_at)
        )
    )


def jwks() -> dict:
    """The JWKS document (public halves only)."""
    return {
        "keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": key.public_x, "kid": key.kid, "alg": "EdDSA", "use": "sig"}
            for key in published_keys()
        ]
    }


def key_set() -> KeySet:
    return KeySet.from_jwks(jwks())


def sign(claims: dict, token_type: str) -> tuple[str, SigningKey]:
    """A compact JWS over `claims` by the current signing key; the key remembers the expiry."""
    key = _signing_key(clock.now())
    if key is None:
        raise DomainError(
            "identity.no_signing_key", _l("Identity tokens are unavailable right now."), status=503
        )
    expires_at = datetime.fromtimestamp(claims["exp"], clock.now().tzinfo)
    if key.last_expiry_at is None or clock.aware(key.last_expiry_at) < expires_at:
        key.last_expiry_at = expires_at
    token = jwt.encode(
        claims, _private_key(key), algorithm=ALGORITHMS[0], headers={"typ": token_type, "kid": key.kid}
    )
    return token, key


def _signing_key(now: datetime, *, exclude: SigningKey | None = None) -> SigningKey | None:
    statement = (
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None), SigningKey.activates_at <= now)
        .order_by(SigningKey.activates_at.desc(), SigningKey.id.desc())
    )
    if exclude is not None:
        statement = statement.where(SigningKey.id != exclude.id)
    return db.session.scalars(statement.limit(1)).first()


def _private_key(key: SigningKey) -> Ed25519PrivateKey:
    if key.kid not in _private_keys:
        _private_keys[key.kid] = _decrypt(key.private_key_ciphertext, key.kid)
    return _private_keys[key.kid]


def _encrypt(private: Ed25519PrivateKey, kid: str) -> bytes:
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(derived_secret("signing key encryption")).encrypt(nonce, raw, kid.encode())


def _decrypt(ciphertext: bytes, kid: str) -> Ed25519PrivateKey:
    nonce, sealed = ciphertext[:_NONCE_BYTES], ciphertext[_NONCE_BYTES:]
    try:
        raw = AESGCM(derived_secret("signing key encryption")).decrypt(nonce, sealed, kid.encode())
    except InvalidTag as error:
        raise RuntimeError("IDENTITY_KEY_ENCRYPTION_KEY does not open the stored signing keys") from error
    return Ed25519PrivateKey.from_private_bytes(raw)
