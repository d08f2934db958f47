"""WebAuthn (passkeys) behind one adapter: py_webauthn is imported here and nowhere else.

Every ceremony requires user verification (a PIN, fingerprint or face on the device) and a
discoverable credential, so a passkey alone signs in without typing a name.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import webauthn
from webauthn.helpers import parse_authentication_credential_json
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidJSONStructure,
    InvalidRegistrationResponse,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

log = logging.getLogger(__name__)


class WebAuthnError(Exception):
    """The browser's answer does not prove what it must; the reason is for the log only."""

    def __init__(self, reason: str):
        super().__init__(reason)
        log.warning("passkey answer refused: %s", reason)


@dataclass(frozen=True)
class NewCredential:
    credential_id: bytes
    public_key: bytes
    sign_count: int


TIMEOUT_MS = 120_000  # a parent may take a while to find the fingerprint sensor


def registration_options(
    *,
    rp_id: str,
    rp_name: str,
    user_handle: bytes,
    user_name: str,
    display_name: str,
    challenge: bytes,
    existing: list[bytes],
) -> str:
    """Options for navigator.credentials.create(), as JSON."""
    options = webauthn.generate_registration_options(
        rp_id=rp_id,
        rp_name=rp_name,
        user_id=user_handle,
        user_name=user_name,
        user_display_name=display_name,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            require_resident_key=True,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=credential_id) for credential_id in existing],
    )
    return webauthn.options_to_json(options)


def verify_registration(response: str, *, challenge: bytes, rp_id: str, origin: str) -> NewCredential:
    try:
        verified = webauthn.verify_registration_response(
            credential=response,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
        )
    except (InvalidRegistrationResponse, InvalidJSONStructure, ValueError, KeyError, TypeError) as error:
        raise WebAuthnError(str(error)) from error
    return NewCredential(verified.credential_id, verified.credential_public_key, verified.sign_count)


def authentication_options(*, rp_id: str, challenge: bytes) -> str:
    """Options for navigator.credentials.get() with no allow-list: the device offers its passkeys."""
    options = webauthn.generate_authentication_options(
        rp_id=rp_id,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return webauthn.options_to_json(options)


def credential_id_of(response: str) -> bytes:
    """Which credential answered (to find its public key before verifying)."""
    try:
        return parse_authentication_credential_json(response).raw_id
    except (InvalidJSONStructure, ValueError, KeyError, TypeError, json.JSONDecodeError) as error:
        raise WebAuthnError(str(error)) from error


def verify_authentication(
    response: str, *, challenge: bytes, rp_id: str, origin: str, public_key: bytes, sign_count: int
) -> int:
    """Verify the assertion; returns the authenticator's new sign count.

    py_webauthn refuses a count that did not grow (when either is non-zero): a cloned
    authenticator shows itself that way.
    """
    try:
        verified = webauthn.verify_authentication_response(
            credential=response,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=public_key,
            credential_current_sign_count=sign_count,
            require_user_verification=True,
        )
    except (InvalidAuthenticationResponse, InvalidJSONStructure, ValueError, KeyError, TypeError) as error:
        raise WebAuthnError(str(error)) from error
    return verified.new_sign_count
