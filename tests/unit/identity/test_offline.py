"""The offline verifier: saved JWKS and status list, a token or a QR photo, a verdict; no portal."""

from __future__ import annotations

import base64
import io
import json
import zlib

import jwt
import qrcode

from portal.identity import certificates, keys, statuslist, tokens
from portal.identity.offline import build_verifier, main
from portal.identity.verifier import Reason, TokenType


def _save(tmp_path, jwks: dict, status_list: str):
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    (tmp_path / "status.jwt").write_text(status_list)
    return ["--jwks", str(tmp_path / "jwks.json"), "--status-list", str(tmp_path / "status.jwt")]


def test_the_status_list_has_the_ietf_draft_shape(family):
    certificate = certificates.request_certificate(family["guardian"], family["child"], purpose="租房申请")
    certificates.revoke(certificate, family["guardian"])
    token = statuslist.status_list_token()
    assert jwt.get_unverified_header(token)["typ"] == TokenType.STATUS_LIST
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["sub"] == "https://xueji.example/identity/status/1"
    assert payload["ttl"] == statuslist.TTL_SECONDS and payload["exp"] > payload["iat"]
    assert payload["status_list"]["bits"] == 1
    lst = payload["status_list"]["lst"]
    bits = zlib.decompress(base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4)))
    assert len(bits) == 2**20 // 8
    index = certificate.status_index
    assert bits[index // 8] >> (index % 8) & 1 == 1
    assert sum(bin(byte).count("1") for byte in bits) == 1


def test_offline_verdicts_match_the_portal(family, check):
    card = tokens.issue_card(family["child"]).qr_text
    certificate = certificates.request_certificate(family["guardian"], family["child"], purpose="租房申请")
    verifier = build_verifier(keys.jwks(), [statuslist.status_list_token()])
    assert verifier.verify(card, audience="public").is_valid
    assert verifier.verify(certificate.token, audience="public").is_valid
    certificates.revoke(certificate, family["guardian"])
    # A relying party with yesterday's list does not know yet; one that refreshed does.
    assert verifier.verify(certificate.token, audience="public").is_valid
    fresh = build_verifier(keys.jwks(), [statuslist.status_list_token()])
    assert fresh.verify(certificate.token, audience="public").reason == Reason.REVOKED


def test_a_certificate_naming_an_unknown_status_list_is_not_accepted_offline(family):
    certificate = certificates.request_certificate(family["guardian"], family["child"], purpose="租房申请")
    verifier = build_verifier(keys.jwks(), [statuslist.status_list_token()])
    verifier.is_revoked = lambda claims: None
    assert verifier.verify(certificate.token, audience="public").reason == Reason.STATUS_UNAVAILABLE


def test_the_console_command_reads_a_token_or_a_qr_photo(family, tmp_path, capsys):
    card = tokens.issue_card(family["child"])
    arguments = _save(tmp_path, keys.jwks(), statuslist.status_list_token())
    assert main([*arguments, card.token]) == 0
    assert json.loads(capsys.readouterr().out)["valid"] is True

    photo = tmp_path / "card.png"
    image = qrcode.make(card.qr_text, error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    photo.write_bytes(buffer.getvalue())
    assert main([*arguments, "--image", str(photo)]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["valid"] and verdict["claims"]["grd"] == family["child"].grade

    assert main([*arguments, "--audience", "library.example", card.token]) == 1
    assert json.loads(capsys.readouterr().out)["reason"] == "wrong_audience"


def test_the_console_command_refuses_a_forged_status_list(family, tmp_path, capsys):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    payload = jwt.decode(statuslist.status_list_token(), options={"verify_signature": False})
    forged = jwt.encode(
        payload,
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"typ": "statuslist+jwt", "kid": keys.jwks()["keys"][0]["kid"]},
    )
    assert main([*_save(tmp_path, keys.jwks(), forged), "token"]) == 2
    assert "status list refused" in capsys.readouterr().err
