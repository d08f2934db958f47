"""The correction pages through the test client: propose with a photo, refusals that store
nothing, a double submit, the staff review page, field-by-field decisions, the family's view."""

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.approvals.models import Case, CaseState
from portal.evidence.models import Evidence
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.registry.models import Student
from tests import evidence_files
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import csrf_token, sign_in

GUARDIAN = "13911112222"


@pytest.fixture
def people(app, tmp_path):
    app.config["EVIDENCE_DIR"] = str(tmp_path / "evidence")
    tree = make_tree()
    guardian = make_guardian(GUARDIAN)
    make_staff(Role.SCHOOL_REGISTRAR, tree.school, "corr.school")
    make_staff(Role.SCHOOL_REGISTRAR, tree.school, "corr.clerk")
    make_staff(Role.COUNTY_REGISTRAR, tree.county, "corr.county")
    child = make_student(tree.school)
    db.session.add(GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.MOTHER))
    db.session.commit()
    return {"child": child.id, "evidence_dir": tmp_path / "evidence"}


def _start(client, child_id, fields, files=(), key=None):
    path = f"/corrections/students/{child_id}/new"
    page = client.get(path).get_data(as_text=True)
    key = key or re.search(r'name="key" value="([^"]+)"', page).group(1)
    data = {"csrf_token": csrf_token(client, path), "key": key, "reason": "户口簿与学籍不一致", **fields}
    data["evidence"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post(path, data=data, content_type="multipart/form-data"), key


def _cases() -> int:
    return db.session.scalar(select(func.count()).select_from(Case))


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_the_form_shows_each_current_value_beside_its_field(client, people):
    sign_in(client, GUARDIAN)
    page = client.get(f"/corrections/students/{people['child']}/new").get_data(as_text=True)
    assert "现为：李小明" in page
    assert 'type="file"' in page and 'enctype="multipart/form-data"' in page
    child_page = client.get(f"/children/{people['child']}").get_data(as_text=True)
    assert f"/corrections/students/{people['child']}/new" in child_page


def test_a_guardian_proposes_a_name_with_a_photo_whose_location_is_gone(client, people):
    sign_in(client, GUARDIAN)
    response, _ = _start(
        client, people["child"], {"name": "李晓明"}, [("IMG_0001.JPG", evidence_files.jpeg_with_gps())]
    )
    assert response.status_code == 302
    case = db.session.scalar(select(Case))
    assert case.payload["changes"] == {"name": "李晓明"} and case.payload["key"] is True
    evidence = db.session.get(Evidence, case.payload["evidence"][0])
    stored = client.get(f"/evidence/{evidence.id}")
    assert stored.status_code == 200
    assert dict(Image.open(io.BytesIO(stored.data)).getexif()) == {}
    child_page = client.get(f"/children/{people['child']}").get_data(as_text=True)
    assert "李晓明" in child_page and "信息更正" in child_page


# (An empty file is refused by store_upload; test_evidence.py proves it.)
@pytest.mark.parametrize("name", sorted(set(evidence_files.lying_files()) - {"empty"}))
def test_a_lying_oversized_or_broken_upload_is_refused_and_nothing_is_stored(client, people, name):
    filename, data, code = evidence_files.lying_files()[name]
    sign_in(client, GUARDIAN)
    response, _ = _start(client, people["child"], {"name": "李晓明"}, [(filename, data)])
    assert response.status_code in (400, 413)
    page = response.get_data(as_text=True)
    assert "李晓明" in page  # the form comes back filled in
    assert "请" in page and 'role="alert"' in page
    assert _cases() == 0
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 0
    assert _files(people["evidence_dir"]) == []


def test_a_refused_proposal_keeps_no_photo_either(client, people):
    sign_in(client, GUARDIAN)
    response, _ = _start(
        client, people["child"], {"birth_date": "2016-03-20"}, [("a.jpg", evidence_files.jpeg_with_gps())]
    )
    assert response.status_code == 400
    assert "出生日期" in response.get_data(as_text=True)
    assert _cases() == 0 and _files(people["evidence_dir"]) == []


def test_a_double_submit_opens_one_case_and_keeps_one_photo(client, people):
    sign_in(client, GUARDIAN)
    photo = [("a.jpg", evidence_files.jpeg_with_gps())]
    first, key = _start(client, people["child"], {"name": "李晓明"}, photo)
    again, _ = _start(client, people["child"], {"name": "李晓明"}, photo, key=key)
    assert first.status_code == again.status_code == 302
    assert _cases() == 1
    assert db.session.scalar(select(func.count()).select_from(Evidence)) == 1


def _decide(client, step_id, data):
    token = csrf_token(client, f"/corrections/steps/{step_id}")
    return client.post(f"/corrections/steps/{step_id}/decide", data={"csrf_token": token, **data})


def test_school_then_county_decide_field_by_field_and_the_family_sees_the_result(client, people):
    sign_in(client, GUARDIAN)
    _start(
        client,
        people["child"],
        {"name": "李晓明", "ethnicity": "03"},
        [("a.jpg", evidence_files.jpeg_with_gps())],
    )
    case = db.session.scalar(select(Case))
    school_step, county_step = (s.id for s in case.steps)
    ref = case.payload["evidence"][0]

    sign_in(client, "corr.school")
    queue = client.get("/corrections/queue").get_data(as_text=True)
    assert f"/corrections/steps/{school_step}" in queue
    review = client.get(f"/corrections/steps/{school_step}").get_data(as_text=True)
    assert "李小明" in review and "李晓明" in review and "回族" in review and "汉族" in review
    assert f'src="/evidence/{ref}"' in review
    response = _decide(client, school_step, {"action": "approve", "choose": "1", "field": ["name"]})
    assert response.status_code == 400 and "不予更正的理由" in response.get_data(as_text=True)
    response = _decide(
        client,
        school_step,
        {"action": "approve", "choose": "1", "field": ["name"], "reason": "民族成分需另行办理"},
    )
    assert response.status_code == 302

    sign_in(client, "corr.county")
    review = client.get(f"/corrections/steps/{county_step}").get_data(as_text=True)
    assert "民族成分需另行办理" in review  # the declined field shows as declined
    assert _decide(client, county_step, {"action": "approve"}).status_code == 302

    db.session.expire_all()
    child = db.session.get(Student, people["child"])
    assert (child.name, child.ethnicity) == ("李晓明", "01")
    assert db.session.get(Case, case.id).state == CaseState.APPROVED

    sign_in(client, GUARDIAN)
    page = client.get(f"/children/{people['child']}").get_data(as_text=True)
    assert "<h1>李晓明</h1>" in page
    assert "姓名：由李小明改为李晓明" in page


def test_return_and_resubmit_through_the_pages(client, people):
    sign_in(client, GUARDIAN)
    _start(client, people["child"], {"hukou_region_code": "110108"})
    case = db.session.scalar(select(Case))
    case_id, step_id = case.id, case.steps[0].id
    sign_in(client, "corr.school")
    assert _decide(client, step_id, {"action": "return", "reason": "请上传户口簿首页"}).status_code == 302
    sign_in(client, GUARDIAN)
    child_page = client.get(f"/children/{people['child']}").get_data(as_text=True)
    assert f"/corrections/{case_id}/resubmit" in child_page and "请上传户口簿首页" in child_page
    path = f"/corrections/{case_id}/resubmit"
    token = csrf_token(client, path)
    response = client.post(
        path,
        data={
            "csrf_token": token,
            "note": "已补充",
            "evidence": [(io.BytesIO(evidence_files.pdf()), "a.pdf")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    assert case.state == CaseState.OPEN and len(case.payload["evidence"]) == 1


def test_a_registrar_enters_a_paper_form_but_cannot_decide_it(client, people):
    sign_in(client, "corr.clerk")
    record = client.get(f"/staff/students/{people['child']}").get_data(as_text=True)
    assert f"/corrections/students/{people['child']}/new" in record
    response, _ = _start(client, people["child"], {"ethnicity": "03"})
    assert response.status_code == 302
    step_id = db.session.scalar(select(Case)).steps[0].id
    review = client.get(f"/corrections/steps/{step_id}").get_data(as_text=True)
    assert "该申请由您发起" in review
    assert _decide(client, step_id, {"action": "approve"}).status_code == 409
    sign_in(client, "corr.school")
    assert _decide(client, step_id, {"action": "approve"}).status_code == 302


def test_the_generic_step_page_shows_the_review_and_posts_to_the_correction_endpoint(client, people):
    sign_in(client, GUARDIAN)
    _start(client, people["child"], {"name": "李晓明"}, [("a.jpg", evidence_files.jpeg_with_gps())])
    case = db.session.scalar(select(Case))
    step_id, ref = case.steps[0].id, case.payload["evidence"][0]
    sign_in(client, "corr.school")
    page = client.get(f"/staff/queue/steps/{step_id}").get_data(as_text=True)
    assert 'class="changes-table"' in page and "李晓明" in page and f'src="/evidence/{ref}"' in page
    assert f'action="/corrections/steps/{step_id}/decide"' in page
    token = csrf_token(client, f"/staff/queue/steps/{step_id}")
    response = client.post(
        f"/corrections/steps/{step_id}/decide", data={"csrf_token": token, "action": "approve"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Case, case.id).steps[1].state == "pending"


def test_proposing_asks_for_a_fresh_sign_in_when_the_last_is_old(client, app, people):
    sign_in(client, GUARDIAN)
    form = f"/corrections/students/{people['child']}/new"
    app.config["RECENT_SIGN_IN_MAX_AGE"] = -1  # every sign-in is now too old
    try:
        stale = client.post(form, data={"csrf_token": csrf_token(client, "/children/"), "reason": "x"})
    finally:
        app.config["RECENT_SIGN_IN_MAX_AGE"] = 600
    assert stale.status_code == 302 and "/sign-in?next=" in stale.headers["Location"]
    assert _cases() == 0  # nothing was proposed
    assert client.get(form).status_code == 200
