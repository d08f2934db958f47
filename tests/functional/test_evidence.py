"""Evidence storage: what is kept, what is refused (nothing stored), who may see it (404 for the rest)."""

import io
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from portal import clock
from portal.accounts.models import Role
from portal.approvals import engine
from portal.errors import ValidationFailed
from portal.evidence import storage
from portal.evidence.models import Evidence
from portal.evidence.service import check_references, store_upload
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from tests import evidence_files
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import sign_in


def _upload(data: bytes, filename="photo.jpg", content_type="image/jpeg") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=filename, content_type=content_type)


def _stored_files(app) -> list[Path]:
    return [p for p in Path(app.config["EVIDENCE_DIR"]).rglob("*") if p.is_file()]


def _evidence_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(Evidence))


@pytest.fixture
def evidence_dir(app, tmp_path):
    app.config["EVIDENCE_DIR"] = str(tmp_path / "evidence")
    return tmp_path / "evidence"


def test_a_photo_is_stored_clean_content_addressed_with_its_checked_type(app, evidence_dir):
    guardian = make_guardian()
    lying_name = _upload(evidence_files.jpeg_with_gps(), "x.pdf", "application/pdf")
    evidence = store_upload(lying_name, uploader=guardian)
    assert evidence.content_type == "image/jpeg"  # judged from the bytes, not the name or declared type
    assert len(evidence.id) == 32 and evidence.uploader_id == guardian.id
    path = storage.path_for(evidence.sha256)
    assert path.is_relative_to(evidence_dir) and path.name == evidence.sha256
    stored = path.read_bytes()
    assert len(stored) == evidence.size
    assert dict(Image.open(io.BytesIO(stored)).getexif()) == {}


def test_the_same_bytes_are_stored_once(app, evidence_dir):
    guardian = make_guardian()
    first = store_upload(_upload(evidence_files.pdf()), uploader=guardian)
    second = store_upload(_upload(evidence_files.pdf()), uploader=guardian)
    assert first.id != second.id and first.sha256 == second.sha256
    assert len(_stored_files(app)) == 1


@pytest.mark.parametrize("name", sorted(evidence_files.lying_files()))
def test_a_lying_or_broken_file_is_refused_and_nothing_is_stored(app, evidence_dir, name):
    filename, data, code = evidence_files.lying_files()[name]
    guardian = make_guardian()
    rows = _evidence_rows()
    with pytest.raises(ValidationFailed) as refused:
        store_upload(_upload(data, filename), uploader=guardian)
    assert refused.value.code == code
    assert _evidence_rows() == rows
    assert _stored_files(app) == []


def test_an_oversized_file_is_refused_before_it_is_read_in_full(app, evidence_dir, monkeypatch):
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", 50_000)  # the app lives for the session
    guardian = make_guardian()
    big = evidence_files.pdf() + b"%" * 60_000
    with pytest.raises(ValidationFailed) as refused:
        store_upload(_upload(big, "a.pdf"), uploader=guardian)
    assert refused.value.code == "evidence.too_large" and refused.value.status == 413
    assert _stored_files(app) == [] and _evidence_rows() == 0


def test_a_rolled_back_request_leaves_no_file_behind(app, evidence_dir):
    guardian = make_guardian()
    db.session.commit()
    store_upload(_upload(evidence_files.png_with_metadata(), "a.png"), uploader=guardian)
    assert len(_stored_files(app)) == 1
    db.session.rollback()  # e.g. the request was refused after the upload
    assert _stored_files(app) == []


def test_a_committed_upload_keeps_its_file(app, evidence_dir):
    guardian = make_guardian()
    evidence = store_upload(_upload(evidence_files.png_with_metadata(), "a.png"), uploader=guardian)
    db.session.commit()
    assert storage.exists(evidence.sha256)


def test_references_must_be_the_requesters_own_uploads(app, evidence_dir):
    mine, theirs = make_guardian(), make_guardian()
    own = store_upload(_upload(evidence_files.pdf()), uploader=mine)
    other = store_upload(_upload(evidence_files.pdf()), uploader=theirs)
    assert check_references([own.id, own.id], mine) == [own.id]
    for refs in ([other.id], ["0" * 32], "abc", [own.id, 5]):
        with pytest.raises(ValidationFailed):
            check_references(refs, mine)


# --- Who may see it -----------------------------------------------------------------


@pytest.fixture
def shown(app, client, evidence_dir):
    """A suspension request by a guardian carrying a photo, and everybody around it."""
    tree = make_tree()
    people = {
        "owner": make_guardian("13900000001"),
        "other_guardian": make_guardian("13900000002"),
        "school": make_staff(Role.SCHOOL_REGISTRAR, tree.school, "ev.school"),
        "county": make_staff(Role.COUNTY_REGISTRAR, tree.county, "ev.county"),
        "other_school": make_staff(Role.SCHOOL_REGISTRAR, tree.other_school, "ev.other_school"),
        "other_county": make_staff(Role.COUNTY_REGISTRAR, tree.other_county, "ev.other_county"),
    }
    child = make_student(tree.school)
    other_child = make_student(tree.other_school)
    for guardian, kid in ((people["owner"], child), (people["other_guardian"], other_child)):
        db.session.add(GuardianLink(guardian_id=guardian.id, student_id=kid.id, relation=Relation.MOTHER))
    db.session.flush()
    evidence = store_upload(_upload(evidence_files.jpeg_with_gps()), uploader=people["owner"])
    return_on = clock.today().replace(year=clock.today().year + 1, day=1)
    engine.open_case(
        "suspension",
        child,
        people["owner"],
        {"reason": "因病休养", "evidence": [evidence.id], "return_on": return_on.isoformat()},
    )
    db.session.commit()
    return evidence.id, people, other_child


@pytest.mark.parametrize("who", ["owner", "school", "county"])
def test_the_family_and_the_staff_of_the_case_see_it_with_safe_headers(client, shown, who):
    ref, people, _ = shown
    sign_in(client, people[who].mobile or people[who].username)
    response = client.get(f"/evidence/{ref}")
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Content-Disposition"] == f'inline; filename="evidence-{ref[:8]}.jpg"'
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert dict(Image.open(io.BytesIO(response.data)).getexif()) == {}


@pytest.mark.parametrize("who", ["other_guardian", "other_school", "other_county"])
def test_a_guardian_of_another_child_and_staff_of_another_unit_get_404(client, shown, who):
    ref, people, _ = shown
    sign_in(client, people[who].mobile or people[who].username)
    assert client.get(f"/evidence/{ref}").status_code == 404
    assert client.get(f"/evidence/{'f' * 32}").status_code == 404  # the same answer as for nothing


def test_a_signed_out_visitor_gets_404_not_a_sign_in_redirect(client, shown):
    ref, _, _ = shown
    assert client.get(f"/evidence/{ref}").status_code == 404


def test_copying_a_reference_into_ones_own_case_grants_nothing(app, client, shown):
    ref, people, other_child = shown
    intruder = people["other_guardian"]
    return_on = clock.today().replace(year=clock.today().year + 1, day=1)
    # The status kinds check only the shape of references; access is decided at the door of the file.
    engine.open_case(
        "suspension",
        other_child,
        intruder,
        {"reason": "因病休养", "evidence": [ref], "return_on": return_on.isoformat()},
    )
    db.session.commit()
    sign_in(client, intruder.mobile)
    assert client.get(f"/evidence/{ref}").status_code == 404
