"""The registry photo through the pages: a guardian proposes a new photo, the province's
setting decides the route, refusals store nothing, only the family and staff in scope see it."""

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.approvals.models import Case, CaseState
from portal.audit.models import AuditEvent
from portal.evidence.models import Evidence
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.provinces.models import CorrectionSetting
from portal.registry.models import Student
from tests import evidence_files
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import csrf_token, post_form, sign_in

GUARDIAN = "13922223333"
OTHER_FAMILY = "13922224444"


@pytest.fixture
def people(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EVIDENCE_DIR", str(tmp_path / "evidence"))
    tree = make_tree()
    guardian = make_guardian(GUARDIAN)
    other = make_guardian(OTHER_FAMILY)
    make_staff(Role.SCHOOL_REGISTRAR, tree.school, "photo.school")
    make_staff(Role.COUNTY_REGISTRAR, tree.county, "photo.county")
    make_staff(Role.SCHOOL_REGISTRAR, tree.other_school, "photo.elsewhere")
    make_staff(Role.PROVINCE_ADMIN, tree.province, "photo.admin")
    child = make_student(tree.school)
    other_child = make_student(tree.school)
    db.session.add(GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.MOTHER))
    db.session.add(GuardianLink(guardian_id=other.id, student_id=other_child.id, relation=Relation.MOTHER))
    db.session.commit()
    return {"child": child.id, "province": tree.province.id, "evidence_dir": tmp_path / "evidence"}


def _propose(client, child_id, photo: tuple[str, bytes] | None, fields=None, files=()):
    path = f"/corrections/students/{child_id}/new"
    page = client.get(path).get_data(as_text=True)
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    data = {"csrf_token": csrf_token(client, path), "key": key, "reason": "照片已过时", **(fields or {})}
    if photo is not None:
        data["photo"] = (io.BytesIO(photo[1]), photo[0])
    data["evidence"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post(path, data=data, content_type="multipart/form-data")


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def _decide(client, step_id, data):
    token = csrf_token(client, f"/corrections/steps/{step_id}")
    return client.post(f"/corrections/steps/{step_id}/decide", data={"csrf_token": token, **data})


def _photo_url(child_id: int) -> str:
    return f"/evidence/students/{child_id}/photo"


def _set_photo_is_key(client, value: str):
    sign_in(client, "photo.admin")
    return post_form(
        client, "/admin/province/corrections", {"photo_is_key": value}, form_page="/admin/province/settings"
    )


def test_a_new_photo_goes_to_the_school_alone_and_the_family_sees_it_after_approval(client, people):
    sign_in(client, GUARDIAN)
    form = client.get(f"/corrections/students/{people['child']}/new").get_data(as_text=True)
    assert "现为：尚无学籍照片。" in form and 'name="photo"' in form and "新照片由学校审核。" in form
    response = _propose(client, people["child"], ("IMG_0002.JPG", evidence_files.portrait_with_gps()))
    assert response.status_code == 302
    case = db.session.scalar(select(Case))
    assert [s.role for s in case.steps] == ["school"] and case.payload["key"] is False
    proposed = client.get(f"/evidence/{case.payload['changes']['photo']}")
    assert proposed.status_code == 200 and dict(Image.open(io.BytesIO(proposed.data)).getexif()) == {}

    sign_in(client, "photo.school")
    review = client.get(f"/corrections/steps/{case.steps[0].id}").get_data(as_text=True)
    assert "学籍照片" in review and f'src="/evidence/{case.payload["changes"]["photo"]}"' in review
    assert _decide(client, case.steps[0].id, {"action": "approve"}).status_code == 302
    db.session.expire_all()
    child = db.session.get(Student, people["child"])
    assert db.session.get(Case, case.id).state == CaseState.APPROVED
    assert child.photo_sha256 == db.session.get(Evidence, case.payload["changes"]["photo"]).sha256

    sign_in(client, GUARDIAN)
    form = client.get(f"/corrections/students/{people['child']}/new").get_data(as_text=True)
    assert f'src="{_photo_url(people["child"])}"' in form
    photo = client.get(_photo_url(people["child"]))
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"
    assert photo.headers["Cache-Control"] == "private, no-store"
    assert photo.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(photo.data)).size == (413, 531)
    child_page = client.get(f"/children/{people['child']}").get_data(as_text=True)
    assert f"学籍照片：由—改为照片 {child.photo_sha256[:8]}" in child_page


def test_the_province_setting_sends_a_new_photo_on_to_the_county(client, people):
    response = _set_photo_is_key(client, "1")
    assert response.status_code == 302
    assert db.session.get(CorrectionSetting, people["province"]).photo_is_key is True
    settings = client.get("/admin/province/settings").get_data(as_text=True)
    assert 'name="photo_is_key" value="1" checked' in settings
    changed = db.session.scalars(
        select(AuditEvent).where(AuditEvent.tag == "province:settings_changed")
    ).all()
    assert changed[-1].data["after"] == {"photo_is_key": True}

    sign_in(client, GUARDIAN)
    form = client.get(f"/corrections/students/{people['child']}/new").get_data(as_text=True)
    assert "本省将学籍照片列为关键信息" in form
    assert _propose(client, people["child"], ("a.jpg", evidence_files.portrait_with_gps())).status_code == 302
    case = db.session.scalar(select(Case))
    assert [s.role for s in case.steps] == ["school", "county"] and case.payload["key"] is True

    sign_in(client, "photo.school")
    assert _decide(client, case.steps[0].id, {"action": "approve"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Student, people["child"]).photo_sha256 is None
    sign_in(client, "photo.county")
    assert _decide(client, case.steps[1].id, {"action": "approve"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Student, people["child"]).photo_sha256 is not None


def test_the_setting_refuses_an_unknown_choice_and_changes_nothing(client, people):
    response = _set_photo_is_key(client, "maybe")
    assert response.status_code == 400 and "请从选项中选择" in response.get_data(as_text=True)
    assert db.session.get(CorrectionSetting, people["province"]) is None


def _refused_photos() -> dict:
    lying = evidence_files.lying_files()
    return {
        **{
            name: (lying[name][0], lying[name][1], 400)
            for name in ("html named .jpg", "truncated jpeg", "gif")
        },
        "decompression bomb": ("a.png", evidence_files.bomb_png(), 413),
        "too small": ("a.jpg", evidence_files.jpeg_with_gps(size=(200, 250)), 400),
        "landscape": ("a.jpg", evidence_files.jpeg_with_gps(size=(640, 480)), 400),
        "pdf": ("a.pdf", evidence_files.pdf(), 400),
    }


@pytest.mark.parametrize("name", sorted(_refused_photos()))
def test_a_lying_broken_or_unfit_photo_is_refused_and_nothing_is_stored(client, people, name):
    filename, data, status = _refused_photos()[name]
    sign_in(client, GUARDIAN)
    response = _propose(client, people["child"], (filename, data), {"ethnicity": "03"})
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page and "请" in page
    assert _count(Case) == 0 and _count(Evidence) == 0
    assert _files(people["evidence_dir"]) == []


def test_an_oversized_photo_is_refused_in_english_too(client, app, people, monkeypatch):
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", 30_000)
    client.set_cookie("lang", "en")
    sign_in(client, GUARDIAN)
    big = evidence_files.portrait_with_gps(size=(1200, 1600))
    response = _propose(client, people["child"], ("big.jpg", big))
    assert response.status_code == 413 and "This file is too large" in response.get_data(as_text=True)
    small = _propose(client, people["child"], ("s.jpg", evidence_files.jpeg_with_gps(size=(200, 250))))
    assert "The photo is too small: it needs at least 358 × 441 pixels." in small.get_data(as_text=True)
    assert _count(Case) == 0 and _count(Evidence) == 0 and _files(people["evidence_dir"]) == []


def test_a_photo_and_three_more_files_are_too_many(client, people):
    sign_in(client, GUARDIAN)
    files = [("a.pdf", evidence_files.pdf())] * 3
    response = _propose(client, people["child"], ("a.jpg", evidence_files.portrait_with_gps()), files=files)
    assert response.status_code == 400 and "最多" in response.get_data(as_text=True)
    assert _count(Case) == 0 and _files(people["evidence_dir"]) == []


def _child_with_a_photo(client, people) -> int:
    sign_in(client, GUARDIAN)
    _propose(client, people["child"], ("a.jpg", evidence_files.portrait_with_gps()))
    step_id = db.session.scalar(select(Case)).steps[0].id
    sign_in(client, "photo.school")
    assert _decide(client, step_id, {"action": "approve"}).status_code == 302
    client.post("/sign-out", data={"csrf_token": csrf_token(client, "/staff/queue")})
    return people["child"]


@pytest.mark.parametrize("who", ["another family", "staff of another school", "signed out"])
def test_only_the_family_and_staff_in_scope_see_the_photo(client, people, who):
    child_id = _child_with_a_photo(client, people)
    client.delete_cookie("session")
    if who == "another family":
        sign_in(client, OTHER_FAMILY)
    elif who == "staff of another school":
        sign_in(client, "photo.elsewhere")
    assert client.get(_photo_url(child_id)).status_code == 404
    assert client.get(_photo_url(child_id + 1000)).status_code == 404


def test_staff_in_scope_see_the_photo_on_the_record_and_the_read_is_audited(client, people):
    child_id = _child_with_a_photo(client, people)
    sign_in(client, "photo.school")
    record = client.get(f"/staff/students/{child_id}").get_data(as_text=True)
    assert f'src="{_photo_url(child_id)}"' in record
    assert client.get(_photo_url(child_id)).status_code == 200
    reads = db.session.scalars(
        select(AuditEvent).where(AuditEvent.tag == "student:viewed", AuditEvent.student_id == child_id)
    ).all()
    assert reads[-1].data.get("part") == "photo"


def test_a_student_without_a_photo_has_none_to_show(client, people):
    sign_in(client, "photo.school")
    record = client.get(f"/staff/students/{people['child']}").get_data(as_text=True)
    assert "尚无学籍照片。" in record
    assert client.get(_photo_url(people["child"])).status_code == 404


def test_through_the_api_a_photo_is_an_uploaded_reference_held_to_the_same_rules(client, people):
    sign_in(client, GUARDIAN)

    def upload(data):
        files = {"file": (io.BytesIO(data), "p.jpg")}
        return client.post("/api/v1/evidence", data=files, content_type="multipart/form-data").get_json()[
            "id"
        ]

    path = f"/api/v1/students/{people['child']}/corrections"
    wide = client.post(
        path, json={"changes": {"photo": upload(evidence_files.jpeg_with_gps())}, "reason": "新照片"}
    )
    assert wide.status_code == 400 and wide.get_json()["code"] == "photo.not_portrait"
    assert _count(Case) == 0
    photo = upload(evidence_files.avatar_with_gps())
    proposed = client.post(path, json={"changes": {"photo": photo}, "reason": "新照片"})
    assert proposed.status_code == 201
    body = proposed.get_json()
    assert [s["role"] for s in body["steps"]] == ["school"] and body["key_fields"] is False
    assert body["changes"] == {"photo": photo}
