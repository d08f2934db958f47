"""Certificates: purpose and validity, typed codes, revocation by the guardian or by a status change."""

from __future__ import annotations

import jwt
import pytest
from sqlalchemy import select

from portal.errors import DomainError
from portal.extensions import db
from portal.identity import certificates, statuslist
from portal.identity.keys import key_set
from portal.identity.verifier import Check, Outcome, Reason, StatusList
from portal.notifications.models import InboxMessage, OutboxMessage
from portal.registry.service import change_status
from portal.registry.status import Status


def _issue(family, **options):
    return certificates.request_certificate(
        family["guardian"], family["child"], purpose="租房申请", **options
    )


def test_validity_defaults_to_30_days_and_stops_at_180(family):
    certificate = _issue(family)
    assert (certificate.expires_at - certificate.issued_at).days == 30
    assert (_issue(family, valid_days=180).expires_at - certificate.issued_at).days == 180
    for days in (0, 181):
        with pytest.raises(DomainError) as refused:
            _issue(family, valid_days=days)
        assert refused.value.code == "certificate.bad_validity"


def test_a_purpose_is_required(family):
    with pytest.raises(DomainError) as refused:
        certificates.request_certificate(family["guardian"], family["child"], purpose=" ")
    assert refused.value.code == "certificate.purpose_needed"


def test_the_token_names_its_random_place_on_the_status_list(family):
    certificate = _issue(family)
    payload = jwt.decode(certificate.token, options={"verify_signature": False})
    assert payload["status"] == {
        "status_list": {"idx": certificate.status_index, "uri": "https://xueji.example/identity/status/1"}
    }
    assert 0 <= certificate.status_index < 2**20
    assert "租房" not in certificate.token  # the purpose stays on paper and in the database


def test_the_typed_code_finds_the_certificate_despite_typos(family):
    certificate = _issue(family)
    code = certificates.verification_code(certificate)
    assert len(code) == 11 and code[5] == "-"
    assert certificates.find_by_code(code) is certificate
    sloppy = code.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert certificates.find_by_code(sloppy) is certificate
    assert certificates.find_by_code("AAAAA-AAAAA") is None
    assert certificates.find_by_code("short") is None


@pytest.mark.parametrize(
    "target", [Status.TRANSFERRING, Status.ABROAD, Status.DEREGISTERED, Status.SUSPENDED]
)
def test_leaving_attending_revokes_every_live_certificate_at_once(family, check, target):
    certificate, another = _issue(family), _issue(family, valid_days=90)
    assert check(certificate.token).is_valid
    change_status(family["child"], target, family["registrar"], reason="转出")
    for each in (certificate, another):
        assert each.revoked_at is not None and each.revoked_reason == "status_change"
        verdict = check(each.token)
        assert verdict.reason == Reason.REVOKED
        assert verdict.checks[Check.REVOCATION] == Outcome.FAILED
    # Offline verifiers see it on the next status list.
    listing = StatusList.from_token(statuslist.status_list_token(), key_set())
    assert listing.is_revoked(certificate.status_index) and listing.is_revoked(another.status_index)
    # The family is told once, in the inbox and by SMS, without the child's name or the purpose.
    (message,) = db.session.scalars(select(InboxMessage)).all()
    assert message.recipient_id == family["guardian"].id and message.kind == "identity.certificates_revoked"
    assert message.student_id == family["child"].id and message.params == {"count": 2}
    (sms,) = db.session.scalars(select(OutboxMessage)).all()
    assert sms.recipient == family["guardian"].mobile and "2" in sms.body
    assert family["child"].name not in sms.body and "租房" not in sms.body


def test_withdrawal_in_senior_high_revokes_too(family, check):
    from tests.factories import make_student

    senior = make_student(family["tree"].senior_school, family["registrar"], name="周同学", grade=11)
    certificate = certificates.request_certificate(family["guardian"], senior, purpose="实习证明")
    change_status(senior, Status.WITHDRAWN, family["registrar"], reason="退学")
    assert check(certificate.token).reason == Reason.REVOKED


def test_nothing_to_revoke_tells_no_one(family):
    change_status(family["child"], Status.SUSPENDED, family["registrar"], reason="病休")
    assert db.session.scalars(select(InboxMessage)).all() == []


def test_the_guardian_revokes_and_cannot_revoke_twice(family, check):
    certificate = _issue(family)
    certificates.revoke(certificate, family["guardian"])
    assert certificate.revoked_reason == "guardian"
    assert check(certificate.token).reason == Reason.REVOKED
    with pytest.raises(DomainError) as refused:
        certificates.revoke(certificate, family["guardian"])
    assert refused.value.code == "certificate.already_revoked"


def test_no_certificate_for_a_student_who_is_not_attending(family):
    change_status(family["child"], Status.SUSPENDED, family["registrar"], reason="病休")
    with pytest.raises(DomainError) as refused:
        _issue(family)
    assert refused.value.code == "identity.not_attending"
