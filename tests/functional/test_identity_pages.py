"""The identity pages and API through the test client: card, certificates, verify page, JWKS, status list."""

from __future__ import annotations

import io
import re

import pypdfium2
import pytest
import qrcode
import zxingcpp

from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.identity import certificates, tokens
from portal.identity.keys import create_key
from portal.identity.models import Certificate, Verification
from portal.registry.service import change_status
from portal.registry.status import Status
from tests.factories import make_guardian, make_student, make_tree, registrar_for
from tests.functional.conftest import csrf_token, post_form, sign_in

MOBILE = "13911112222"


@pytest.fixture
def family(app):
    create_key(activate_now=True)
    tree = make_tree()
    registrar = registrar_for(tree)
    guardian = make_guardian(MOBILE, "陈家长")
    child = make_student(tree.school, registrar, name="陈小雨")
    stranger = make_student(tree.school, registrar, name="赵一鸣")
    db.session.add(GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.MOTHER))
    db.session.commit()
    return {"guardian": guardian.id, "child": child.id, "stranger": stranger.id, "registrar": registrar.id}


def _get(family, who: str):
    from portal.accounts.models import User
    from portal.registry.models import Student

    return db.session.get(User if who in ("guardian", "registrar") else Student, family[who])


def _png(text: str) -> bytes:
    buffer = io.BytesIO()
    qrcode.make(text, error_correction=qrcode.constants.ERROR_CORRECT_M).save(buffer, format="PNG")
    return buffer.getvalue()


def _verify_page(client, **fields):
    data = {name: value for name, value in fields.items() if name != "photo"}
    if "photo" in fields:
        data["photo"] = (io.BytesIO(fields["photo"]), "photo.png")
    return client.post("/verify", data=data, content_type="multipart/form-data")


def test_the_guardian_sees_a_live_card_that_works_without_javascript(client, family):
    sign_in(client, MOBILE)
    child_page = client.get(f"/children/{family['child']}").get_data(as_text=True)
    assert f"/children/{family['child']}/card" in child_page
    page = client.get(f"/children/{family['child']}/card")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and 'id="live-clock"' in html
    assert '<noscript><meta http-equiv="refresh" content="60"></noscript>' in html
    assert "identity-card.js" in html and "<script>" not in html  # no inline script under the CSP
    assert page.headers["Cache-Control"] == "no-store"
    fresh = client.get(f"/children/{family['child']}/card/qr").get_json()
    assert fresh["svg"].startswith("<svg") and fresh["renew_in"] <= 60


def test_another_family_cannot_open_the_card(client, family):
    sign_in(client, MOBILE)
    assert client.get(f"/children/{family['stranger']}/card").status_code == 404
    assert client.get(f"/children/{family['stranger']}/certificates").status_code == 404


def test_no_card_once_the_child_no_longer_attends(client, family):
    change_status(_get(family, "child"), Status.TRANSFERRING, _get(family, "registrar"), reason="转出")
    db.session.commit()
    sign_in(client, MOBILE)
    page = client.get(f"/children/{family['child']}/card")
    assert page.status_code == 409
    assert "仅为当前在读的学生签发" in page.get_data(as_text=True)
    assert client.get(f"/children/{family['child']}/card/qr").status_code == 409


def test_the_verify_page_is_green_for_a_photo_of_the_card_and_tells_the_family(client, family):
    card = tokens.issue_card(_get(family, "child"))
    db.session.commit()
    page = _verify_page(client, photo=_png(card.qr_text))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-verdict="valid"' in html and "有效" in html and "陈小雨" not in html
    receipt = db.session.scalars(db.select(Verification)).one()
    assert receipt.student_id == family["child"] and receipt.channel == "page"
    assert receipt.outcome == "valid" and set(receipt.claims) == {"enr", "sch", "stg", "grd"}

    sign_in(client, MOBILE)
    card_page = client.get(f"/children/{family['child']}/card").get_data(as_text=True)
    assert "公开核验页面的核验方" in card_page and "查看了" in card_page


def test_the_verify_page_is_red_with_the_reason_for_a_tampered_token(client, family):
    token = tokens.issue_card(_get(family, "child")).token
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    html = _verify_page(client, token=tampered).get_data(as_text=True)
    assert 'data-verdict="invalid"' in html
    assert 'data-reason="bad_signature"' in html or 'data-reason="malformed"' in html
    assert "无效" in html


def test_a_photo_without_a_qr_code_is_answered_kindly(client, family):
    page = _verify_page(client, photo=b"not an image")
    assert page.status_code == 400
    assert "未能从照片中识别二维码" in page.get_data(as_text=True)


def test_a_certificate_is_requested_printed_verified_by_code_and_its_pdf_qr_verifies(client, family):
    sign_in(client, MOBILE)
    child_id = family["child"]
    response = post_form(
        client, f"/children/{child_id}/certificates", {"purpose": "申请住房", "valid_days": "60"}
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    code = re.search(r"data-code>([0-9A-Z-]{11})<", page).group(1)
    assert "申请住房" in page and "<svg" in page

    certificate = db.session.scalars(db.select(Certificate)).one()
    assert (certificate.expires_at - certificate.issued_at).days == 60
    pdf = client.get(f"/children/{child_id}/certificates/{certificate.id}.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    rendered = pypdfium2.PdfDocument(pdf.data)[0].render(scale=2).to_pil()
    found = zxingcpp.read_barcodes(rendered, formats=zxingcpp.BarcodeFormat.QRCode)
    texts = sorted({result.text for result in found if result.valid})
    assert len(texts) == 1

    anonymous = client.application.test_client()
    verdict = anonymous.post("/api/v1/identity/verify", json={"token": texts[0]}).get_json()
    assert verdict["valid"] and verdict["type"] == "xj-cert+jwt"
    typed = _verify_page(anonymous, code=code.lower()).get_data(as_text=True)
    assert 'data-verdict="valid"' in typed


def test_the_guardian_revokes_a_certificate_and_the_verify_page_turns_red(client, family):
    certificate = certificates.request_certificate(
        _get(family, "guardian"), _get(family, "child"), purpose="申请住房"
    )
    db.session.commit()
    code = certificates.verification_code(certificate)
    sign_in(client, MOBILE)
    path = f"/children/{family['child']}/certificates/{certificate.id}"
    response = client.post(f"{path}/revoke", data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 302
    html = _verify_page(client, code=code).get_data(as_text=True)
    assert 'data-verdict="invalid"' in html and 'data-reason="revoked"' in html


def test_a_status_change_turns_the_verify_page_red_at_once(client, family):
    certificate = certificates.request_certificate(
        _get(family, "guardian"), _get(family, "child"), purpose="申请住房"
    )
    db.session.commit()
    code = certificates.verification_code(certificate)
    assert 'data-verdict="valid"' in _verify_page(client, code=code).get_data(as_text=True)
    change_status(_get(family, "child"), Status.ABROAD, _get(family, "registrar"), reason="出境")
    db.session.commit()
    html = _verify_page(client, code=code).get_data(as_text=True)
    assert 'data-reason="revoked"' in html
    sign_in(client, MOBILE)
    inbox = client.get("/inbox/").get_data(as_text=True)
    assert "学籍证明已撤销" in inbox


def test_the_api_reports_a_replay_when_single_use_is_asked(client, family):
    token = tokens.issue_card(_get(family, "child")).qr_text
    db.session.commit()
    body = {"token": token, "single_use": True}
    first = client.post("/api/v1/identity/verify", json=body).get_json()
    second = client.post("/api/v1/identity/verify", json=body).get_json()
    assert first["valid"] and first["claims"]["grd"] == _get(family, "child").grade
    assert second == {**second, "valid": False, "reason": "already_used", "claims": {}}
    bad = client.post("/api/v1/identity/verify", json={"token": ""})
    assert bad.status_code == 400 and bad.mimetype == "application/problem+json"


def test_jwks_and_status_list_are_public_and_cacheable(client, family):
    jwks = client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200 and "public, max-age=" in jwks.headers["Cache-Control"]
    assert all(set(key) == {"kty", "crv", "x", "kid", "alg", "use"} for key in jwks.get_json()["keys"])
    listing = client.get("/identity/status/1")
    assert listing.mimetype == "application/statuslist+jwt"
    assert "public, max-age=" in listing.headers["Cache-Control"]
    assert client.get("/identity/status/2").status_code == 404


def test_the_share_receipt_names_the_registered_relying_party(client, family):
    from portal.identity import relying_parties

    party = relying_parties.register("library.example", "市图书馆", None)
    token = tokens.issue_card(_get(family, "child"), party).token
    db.session.commit()
    verdict = client.post(
        "/api/v1/identity/verify", json={"token": token, "audience": "library.example"}
    ).get_json()
    assert verdict["valid"]
    sign_in(client, MOBILE)
    assert "市图书馆" in client.get(f"/children/{family['child']}/card").get_data(as_text=True)


def test_a_county_registrar_approves_extra_claims_on_a_page(client, family):
    from portal.accounts.models import Role
    from portal.identity import relying_parties
    from portal.identity.models import ClaimApproval
    from tests.factories import make_staff

    registrar = _get(family, "registrar")
    county = make_staff(Role.COUNTY_REGISTRAR, registrar.org_unit.parent, "county.identity")
    county_id = county.id
    relying_parties.register("exam-centre.example", "考试中心", None)
    db.session.commit()
    sign_in(client, "county.identity")
    assert "考试中心" in client.get("/identity/relying-parties").get_data(as_text=True)
    response = post_form(
        client,
        "/identity/relying-parties",
        {
            "audience": "exam-centre.example",
            "claims": "name",
            "purpose": "中考考场身份核验",
            "valid_days": "30",
        },
    )
    assert response.status_code == 302
    approval = db.session.scalars(db.select(ClaimApproval)).one()
    assert approval.approved_by_id == county_id and approval.claims == ["name"]
    assert approval.purpose == "中考考场身份核验"
    page = client.get("/identity/relying-parties").get_data(as_text=True)
    assert "中考考场身份核验" in page

    refused = post_form(
        client,
        "/identity/relying-parties",
        {"audience": "exam-centre.example", "purpose": "x", "valid_days": "1"},
    )
    assert refused.status_code == 400


def test_school_registrars_and_guardians_cannot_approve(client, family):
    sign_in(client, MOBILE)
    assert client.get("/identity/relying-parties").status_code == 403


def test_the_card_asks_for_a_fresh_sign_in_when_the_last_is_old(client, app, family):
    sign_in(client, MOBILE)
    card = f"/children/{family['child']}/card"
    app.config["RECENT_SIGN_IN_MAX_AGE"] = -1  # every sign-in is now too old
    try:
        stale = client.get(card)
    finally:
        app.config["RECENT_SIGN_IN_MAX_AGE"] = 600
    assert stale.status_code == 302 and "/sign-in?next=" in stale.headers["Location"]
    assert "card" in stale.headers["Location"]  # back to the card afterwards
    assert client.get(card).status_code == 200


def _approval_by_a_county(family, username: str = "county.revoke"):
    from datetime import timedelta

    from portal import clock
    from portal.accounts.models import Role
    from portal.identity import relying_parties
    from tests.factories import make_staff

    registrar = _get(family, "registrar")
    county = make_staff(Role.COUNTY_REGISTRAR, registrar.org_unit.parent, username)
    party = relying_parties.register("exam-centre.example", "考试中心", None)
    approval = relying_parties.approve_claims(
        party,
        ["name"],
        purpose="中考考场身份核验",
        valid_until=clock.now() + timedelta(days=30),
        approver=county,
    )
    db.session.commit()
    return approval.id, county.id, party


def test_a_county_registrar_revokes_an_approval_early_with_a_reason(client, family):
    from portal.audit.models import AuditEvent
    from portal.identity import relying_parties
    from portal.identity.models import ClaimApproval
    from portal.registry.models import Student

    approval_id, county_id, party = _approval_by_a_county(family)
    child = db.session.get(Student, family["child"])
    assert relying_parties.approved_claims(party, child) == ["name"]
    sign_in(client, "county.revoke")
    path = f"/identity/relying-parties/approvals/{approval_id}/revoke"

    no_reason = post_form(client, path, {"reason": " "}, form_page="/identity/relying-parties")
    assert no_reason.status_code == 400 and "请说明撤销的原因" in no_reason.get_data(as_text=True)
    assert db.session.get(ClaimApproval, approval_id).revoked_at is None

    done = post_form(client, path, {"reason": "考试已结束"}, form_page="/identity/relying-parties")
    assert done.status_code == 302
    db.session.expire_all()
    approval = db.session.get(ClaimApproval, approval_id)
    assert approval.revoked_by_id == county_id and approval.revoked_reason == "考试已结束"
    assert approval.revoked_at is not None
    fresh_party = relying_parties.find("exam-centre.example")
    assert relying_parties.approved_claims(fresh_party, db.session.get(Student, family["child"])) == []
    page = client.get("/identity/relying-parties").get_data(as_text=True)
    assert "考试已结束" in page and f"approvals/{approval_id}/revoke" not in page

    # A double submit (the same form posted again) changes nothing and says so.
    again = post_form(client, path, {"reason": "再次撤销"}, form_page="/identity/relying-parties")
    assert again.status_code == 409
    db.session.expire_all()
    assert db.session.get(ClaimApproval, approval_id).revoked_reason == "考试已结束"
    tags = db.session.scalars(
        db.select(AuditEvent.tag).where(AuditEvent.tag == "relying_party:claims_revoked")
    )
    assert len(list(tags)) == 1


def test_another_countys_registrar_cannot_revoke(client, family):
    from portal.accounts.models import Role
    from portal.identity.models import ClaimApproval
    from tests.factories import make_staff

    approval_id, _, _ = _approval_by_a_county(family)
    from portal.orgs.models import OrgLevel, OrgUnit

    own_county = _get(family, "registrar").org_unit.parent
    other_county = db.session.scalar(
        db.select(OrgUnit).where(
            OrgUnit.parent_id == own_county.parent_id,
            OrgUnit.level == OrgLevel.COUNTY,
            OrgUnit.id != own_county.id,
        )
    )
    make_staff(Role.COUNTY_REGISTRAR, other_county, "county.elsewhere")
    db.session.commit()
    sign_in(client, "county.elsewhere")

    response = post_form(
        client,
        f"/identity/relying-parties/approvals/{approval_id}/revoke",
        {"reason": "不是我们县的"},
        form_page="/identity/relying-parties",
    )

    assert response.status_code == 404
    assert db.session.get(ClaimApproval, approval_id).revoked_at is None
