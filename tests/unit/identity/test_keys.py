"""Keys: RFC 7638 kids, encrypted at rest, published before signing, retired only after expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from portal import clock
from portal.audit.models import AuditEvent
from portal.errors import DomainError
from portal.extensions import db
from portal.identity import keys, tokens
from portal.identity.verifier import Reason, thumbprint


def test_kid_is_the_rfc_7638_thumbprint():
    # RFC 8037 appendix A.3: the thumbprint of the example Ed25519 key.
    assert (
        thumbprint("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
        == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    )


def test_jwks_publishes_public_halves_only(signing_key):
    document = keys.jwks()
    assert document["keys"] == [
        {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": signing_key.public_x,
            "kid": signing_key.kid,
            "alg": "EdDSA",
            "use": "sig",
        }
    ]
    assert thumbprint(signing_key.public_x) == signing_key.kid


def test_the_private_key_is_encrypted_at_rest_and_never_in_the_audit_trail(signing_key, app):
    raw = keys._private_key(signing_key).private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    assert raw not in signing_key.private_key_ciphertext
    assert len(signing_key.private_key_ciphertext) == 12 + 32 + 16  # nonce, key, GCM tag
    events = db.session.scalars(db.select(AuditEvent)).all()
    assert all(raw.hex() not in str(event.data) for event in events)
    app.config["IDENTITY_KEY_ENCRYPTION_KEY"] = "another-key"
    try:
        with pytest.raises(RuntimeError, match="does not open"):
            keys._decrypt(signing_key.private_key_ciphertext, signing_key.kid)
    finally:
        app.config["IDENTITY_KEY_ENCRYPTION_KEY"] = "test-identity-key-encryption-key"
    # The kid is bound to the ciphertext: a row's key cannot be swapped into another row.
    with pytest.raises(RuntimeError):
        keys._decrypt(signing_key.private_key_ciphertext, "another-kid")


def test_no_encryption_key_no_signing(app):
    app.config["IDENTITY_KEY_ENCRYPTION_KEY"] = None
    try:
        with pytest.raises(RuntimeError, match="IDENTITY_KEY_ENCRYPTION_KEY"):
            keys.create_key(activate_now=True)
    finally:
        app.config["IDENTITY_KEY_ENCRYPTION_KEY"] = "test-identity-key-encryption-key"


def test_ensure_key_creates_one_signing_key_once(app):
    first = keys.ensure_key()
    assert first is not None and keys.ensure_key() is None
    assert clock.aware(first.activates_at) <= clock.now()


def test_a_new_key_is_published_before_it_signs(family, monkeypatch):
    old = keys._signing_key(clock.now())
    new = keys.create_key()
    assert new.kid in {jwk["kid"] for jwk in keys.jwks()["keys"]}
    token, used = keys.sign({"exp": int(clock.now().timestamp()) + 60}, "xj-card+jwt")
    assert used is old
    later = clock.now() + timedelta(seconds=601)
    monkeypatch.setattr(clock, "now", lambda: later)
    _, used = keys.sign({"exp": int(later.timestamp()) + 60}, "xj-card+jwt")
    assert used is new


def test_rotation_old_tokens_verify_until_their_key_is_retired(family, check, monkeypatch):
    old = keys._signing_key(clock.now())
    card = tokens.issue_card(family["child"]).token
    new = keys.create_key(activate_now=True)
    assert keys._signing_key(clock.now()) is new
    assert check(card).is_valid  # the previous key still verifies its tokens

    with pytest.raises(DomainError) as refused:
        keys.retire_key(old.kid)
    assert refused.value.code == "identity.key_still_in_use"

    later = clock.now() + timedelta(seconds=tokens.CARD_LIFETIME_SECONDS + 1)
    monkeypatch.setattr(clock, "now", lambda: later)
    keys.retire_key(old.kid)
    assert old.kid not in {jwk["kid"] for jwk in keys.jwks()["keys"]}
    assert check(card).reason == Reason.UNKNOWN_KEY


def test_the_last_signing_key_cannot_be_retired(signing_key):
    with pytest.raises(DomainError) as refused:
        keys.retire_key(signing_key.kid)
    assert refused.value.code == "identity.last_signing_key"
