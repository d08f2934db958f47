"""Default claims only; unlinkable public subjects; pairwise subjects; extra claims only when approved."""

from __future__ import annotations

import json
from datetime import timedelta

import jwt
import pytest

from portal import clock
from portal.accounts.models import Role
from portal.errors import DomainError
from portal.identity import qr, relying_parties, tokens
from portal.identity.verifier import TokenType
from portal.registry.service import change_status
from portal.registry.status import Status
from tests.factories import make_staff, make_student

DEFAULT_CLAIMS = {"iss", "aud", "iat", "exp", "jti", "sub", "enr", "sch", "stg", "grd"}


def _payload(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_a_public_card_holds_default_claims_only_and_nothing_that_names_the_child(family):
    child = family["child"]
    token = tokens.issue_card(child).token
    payload = _payload(token)
    assert set(payload) == DEFAULT_CLAIMS
    assert payload["enr"] is True and payload["grd"] == child.grade
    assert payload["sch"] == child.school.code and payload["stg"] == "primary"
    assert payload["aud"] == "public"
    text = json.dumps(payload, ensure_ascii=False)
    for personal in (child.name, child.document_number, child.student_number, child.birth_date.isoformat()):
        assert personal not in text
    assert jwt.get_unverified_header(token)["typ"] == TokenType.CARD


def test_a_live_card_lives_at_most_120_seconds_and_renews_every_60(family):
    card = tokens.issue_card(family["child"])
    payload = _payload(card.token)
    assert payload["exp"] - payload["iat"] <= 120
    assert (card.renew_at - card.issued_at).total_seconds() <= 60


def test_public_presentations_never_repeat_a_subject_or_token_id(family):
    payloads = [_payload(tokens.issue_card(family["child"]).token) for _ in range(50)]
    assert len({payload["sub"] for payload in payloads}) == 50
    assert len({payload["jti"] for payload in payloads}) == 50


def test_relying_parties_get_pairwise_subjects(family):
    child = family["child"]
    other_child = make_student(family["tree"].school, family["registrar"], name="王小明")
    exam = relying_parties.register("exam-centre.example", "考试中心", None)
    library = relying_parties.register("library.example", "市图书馆", None)
    first, again = (_payload(tokens.issue_card(child, exam).token) for _ in range(2))
    assert first["sub"] == again["sub"]  # the party recognises a returning child
    assert first["jti"] != again["jti"]
    assert _payload(tokens.issue_card(child, library).token)["sub"] != first["sub"]  # parties cannot link
    assert _payload(tokens.issue_card(other_child, exam).token)["sub"] != first["sub"]
    assert first["aud"] == "exam-centre.example"
    assert set(first) == DEFAULT_CLAIMS  # nothing extra without an approval


def test_extra_claims_only_with_a_live_approval_of_the_childs_county(family):
    child, tree = family["child"], family["tree"]
    exam = relying_parties.register("exam-centre.example", "考试中心", None)
    other_county_registrar = make_staff(Role.COUNTY_REGISTRAR, tree.other_county)
    relying_parties.approve_claims(
        exam,
        ["name"],
        purpose="考场身份核验",
        valid_until=clock.now() + timedelta(days=30),
        approver=other_county_registrar,
    )
    assert "name" not in _payload(tokens.issue_card(child, exam).token)

    registrar = make_staff(Role.COUNTY_REGISTRAR, tree.county)
    approval = relying_parties.approve_claims(
        exam,
        ["name"],
        purpose="考场身份核验",
        valid_until=clock.now() + timedelta(days=30),
        approver=registrar,
    )
    assert approval.approved_by_id == registrar.id and approval.purpose == "考场身份核验"
    assert approval.approved_at is not None and approval.valid_until > clock.now()
    payload = _payload(tokens.issue_card(child, exam).token)
    assert payload["name"] == child.name
    assert "class" not in payload
    assert "name" not in _payload(tokens.issue_card(child).token)  # never in public presentations


def test_an_expired_approval_grants_nothing(family, monkeypatch):
    exam = relying_parties.register("exam-centre.example", "考试中心", None)
    registrar = make_staff(Role.COUNTY_REGISTRAR, family["tree"].county)
    relying_parties.approve_claims(
        exam,
        ["name"],
        purpose="考场身份核验",
        valid_until=clock.now() + timedelta(days=1),
        approver=registrar,
    )
    later = clock.now() + timedelta(days=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert relying_parties.approved_claims(exam, family["child"]) == []


@pytest.mark.parametrize("role", [Role.SCHOOL_REGISTRAR, Role.PROVINCE_ADMIN])
def test_only_a_county_registrar_approves(family, role):
    exam = relying_parties.register("exam-centre.example", "考试中心", None)
    unit = family["tree"].school if role is Role.SCHOOL_REGISTRAR else family["tree"].province
    with pytest.raises(DomainError) as refused:
        relying_parties.approve_claims(
            exam,
            ["name"],
            purpose="考场身份核验",
            valid_until=clock.now() + timedelta(days=1),
            approver=make_staff(role, unit),
        )
    assert refused.value.code == "relying_party.county_only"


def test_no_card_for_a_student_who_is_not_attending(family):
    child = family["child"]
    tokens.issue_card(child)
    change_status(child, Status.SUSPENDED, family["registrar"], reason="病休")
    with pytest.raises(DomainError) as refused:
        tokens.issue_card(child)
    assert refused.value.code == "identity.not_attending"


def test_the_default_live_card_fits_a_version_12_qr_code_at_level_m(family):
    card = tokens.issue_card(family["child"])
    version, _modules = qr.version(card.qr_text)
    assert version <= 12
    assert qr.read(_png(card.qr_text)) == [card.qr_text]


def _png(text: str) -> bytes:
    import io

    import qrcode

    buffer = io.BytesIO()
    qrcode.make(text, error_correction=qrcode.constants.ERROR_CORRECT_M).save(buffer, format="PNG")
    return buffer.getvalue()


def test_expired_token_bookkeeping_is_purged_and_receipts_stay(family, check, monkeypatch):
    from portal.extensions import db
    from portal.identity.jobs import purge_expired
    from portal.identity.models import IssuedToken, Verification

    card = tokens.issue_card(family["child"]).token
    assert check(card, single_use=True).is_valid
    assert purge_expired() == 0
    later = clock.now() + timedelta(days=1, seconds=tokens.CARD_LIFETIME_SECONDS + 1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert purge_expired() == 1
    assert db.session.scalars(db.select(IssuedToken)).all() == []
    assert len(db.session.scalars(db.select(Verification)).all()) == 1
