"""Every forged or broken token is refused, with its reason; a good one passes every check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from portal.identity import certificates, keys, statuslist, tokens, transport
from portal.identity.verifier import Check, Outcome, Reason, TokenType, thumbprint


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(payload), signature


def _unsigned(header: dict, payload: dict) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"


def _claims(**changes) -> dict:
    now = int(time.time())
    claims = {"iss": "https://xueji.example", "aud": "public", "iat": now, "exp": now + 120, "jti": "j1"}
    claims |= {"sub": "s", "enr": True, "sch": "3101000001", "stg": "primary", "grd": 4}
    return claims | changes


@pytest.fixture
def card(family):
    return tokens.issue_card(family["child"]).token


def test_a_genuine_card_passes_every_check_but_revocation_which_it_does_not_need(card, check):
    verdict = check(card)
    assert verdict.is_valid and verdict.reason is None
    assert verdict.checks[Check.SIGNATURE] == Outcome.PASSED
    assert verdict.checks[Check.KEY] == Outcome.PASSED
    assert verdict.checks[Check.VALIDITY] == Outcome.PASSED
    assert verdict.checks[Check.AUDIENCE] == Outcome.PASSED
    # Online, a live card is checked against the child's current status too.
    assert verdict.checks[Check.REVOCATION] == Outcome.PASSED


def test_alg_none_is_refused(card, check):
    header, payload, _ = _parts(card)
    forged = _unsigned(header | {"alg": "none"}, payload) + "."
    verdict = check(forged)
    assert verdict.reason == Reason.UNSUPPORTED_ALGORITHM
    assert verdict.checks[Check.SIGNATURE] == Outcome.FAILED


def test_hs256_signed_with_the_public_key_is_refused(card, check, signing_key):
    header, payload, _ = _parts(card)
    public_pem = (
        keys._private_key(signing_key)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    for secret in (public_pem, base64.urlsafe_b64decode(signing_key.public_x + "=")):
        signing_input = _unsigned(header | {"alg": "HS256"}, payload | {"grd": 12})
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert check(f"{signing_input}.{_b64(mac)}").reason == Reason.UNSUPPORTED_ALGORITHM


def test_a_key_the_portal_does_not_publish_is_refused(card, check):
    header, payload, _ = _parts(card)
    stranger = Ed25519PrivateKey.generate()
    x = _b64(stranger.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    forged = jwt.encode(
        payload, stranger, algorithm="EdDSA", headers={"typ": header["typ"], "kid": thumbprint(x)}
    )
    verdict = check(forged)
    assert verdict.reason == Reason.UNKNOWN_KEY
    assert verdict.checks[Check.KEY] == Outcome.FAILED


def test_a_stranger_key_claiming_the_portal_kid_fails_the_signature(card, check):
    header, payload, _ = _parts(card)
    forged = jwt.encode(payload, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers=header)
    assert check(forged).reason == Reason.BAD_SIGNATURE


def test_a_tampered_payload_is_refused(card, check):
    header, payload, signature = _parts(card)
    tampered = _unsigned(header, payload | {"grd": 9}).split(".")
    forged = f"{card.split('.')[0]}.{tampered[1]}.{signature}"
    assert check(forged).reason == Reason.BAD_SIGNATURE


def test_a_tampered_signature_is_refused(card, check):
    head, payload, signature = card.split(".")
    middle = len(signature) // 2
    flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1 :]
    assert check(f"{head}.{payload}.{flipped}").reason == Reason.BAD_SIGNATURE


def test_a_tampered_qr_text_is_refused(family, check):
    qr_text = tokens.issue_card(family["child"]).qr_text
    position = len(qr_text) - 30
    flipped = qr_text[:position] + ("0" if qr_text[position] != "0" else "1") + qr_text[position + 1 :]
    assert check(flipped).reason in (Reason.BAD_SIGNATURE, Reason.MALFORMED)
    assert not check(flipped).is_valid


def test_expired_and_not_yet_valid_tokens_are_refused(family, check):
    now = int(time.time())
    expired, _ = keys.sign(_claims(iat=now - 300, exp=now - 180), TokenType.CARD)
    early, _ = keys.sign(_claims(iat=now + 600, exp=now + 720), TokenType.CARD)
    assert check(expired).reason == Reason.EXPIRED
    assert check(early).reason == Reason.NOT_YET_VALID
    assert check(expired).checks[Check.VALIDITY] == Outcome.FAILED


def test_a_token_for_another_audience_is_refused(card, check):
    verdict = check(card, audience="exam-centre.example")
    assert verdict.reason == Reason.WRONG_AUDIENCE
    assert verdict.checks[Check.AUDIENCE] == Outcome.FAILED


def test_another_issuer_is_refused(family, check):
    token, _ = keys.sign(_claims(iss="https://elsewhere.example"), TokenType.CARD)
    assert check(token).reason == Reason.WRONG_ISSUER


def test_a_revoked_certificate_is_refused(family, check):
    certificate = certificates.request_certificate(family["guardian"], family["child"], purpose="租房申请")
    assert check(certificate.token).is_valid
    certificates.revoke(certificate, family["guardian"])
    verdict = check(certificate.token)
    assert verdict.reason == Reason.REVOKED
    assert verdict.checks[Check.REVOCATION] == Outcome.FAILED


def test_a_replayed_token_is_refused_when_single_use_is_asked(card, check):
    assert check(card, single_use=True).is_valid
    assert check(card, single_use=True).reason == Reason.ALREADY_USED
    assert check(card).is_valid  # a verifier that does not ask for single use still sees it valid


@pytest.mark.parametrize(
    "broken",
    [
        lambda token: token[: len(token) // 2],  # truncated
        lambda token: token.rsplit(".", 1)[0],  # signature cut off
        lambda token: "hello, world",  # not a JWT
        lambda token: "",
        lambda token: "a.b.c",
        lambda token: transport.PREFIX + "ZZZZ",  # damaged QR text
        lambda token: transport.pack(token)[:-12],  # truncated QR text
    ],
)
def test_truncated_or_non_tokens_are_malformed(card, check, broken):
    verdict = check(broken(card))
    assert verdict.reason in (Reason.MALFORMED, Reason.BAD_SIGNATURE)
    assert not verdict.is_valid


def test_a_truncated_token_is_malformed(card, check):
    assert check(card[:60]).reason == Reason.MALFORMED
    assert check("not a jwt").reason == Reason.MALFORMED


def test_an_oversized_token_is_refused_before_parsing(card, check):
    assert check(card + "A" * 3000).reason == Reason.OVERSIZED


def test_a_token_of_another_type_is_refused(family, check):
    assert check(statuslist.status_list_token()).reason == Reason.WRONG_TYPE
    header, payload, _ = _parts(tokens.issue_card(family["child"]).token)
    as_jwt, _ = keys.sign(payload, "JWT")
    assert check(as_jwt).reason == Reason.WRONG_TYPE


def test_claims_are_only_disclosed_when_valid(card, check):
    assert check(card).as_dict()["claims"]["grd"] == 4
    assert check(card, audience="someone-else").as_dict()["claims"] == {}
