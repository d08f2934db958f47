"""The registry photo through corrections: the province decides the route when the family
proposes; the photo changes only by an approved correction, with the hashes in the history."""

import io

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from portal.accounts.models import Role
from portal.approvals.models import CaseState, StepState
from portal.audit.models import AuditEvent
from portal.corrections import service
from portal.errors import Conflict, ValidationFailed
from portal.evidence.models import Evidence
from portal.evidence.photo import store_photo
from portal.evidence.service import store_upload
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.provinces.service import set_correction_setting
from portal.registry.models import StudentHistory
from portal.registry.photo import change_photo
from portal.registry.service import change_fields
from tests import evidence_files
from tests.factories import approved_correction, make_guardian, make_staff, make_student, make_tree


@pytest.fixture
def world(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "EVIDENCE_DIR", str(tmp_path / "evidence"))
    tree = make_tree()
    people = {
        "guardian": make_guardian(),
        "school": make_staff(Role.SCHOOL_REGISTRAR, tree.school),
        "county": make_staff(Role.COUNTY_REGISTRAR, tree.county),
        "admin": make_staff(Role.PROVINCE_ADMIN, tree.province),
    }
    child = make_student(tree.school)
    db.session.add(
        GuardianLink(guardian_id=people["guardian"].id, student_id=child.id, relation=Relation.FATHER)
    )
    db.session.flush()
    return tree, people, child


def _upload_photo(uploader, size=(413, 531)) -> Evidence:
    data = evidence_files.portrait_with_gps(size=size)
    return store_photo(FileStorage(io.BytesIO(data), filename="photo.jpg"), uploader=uploader)


def _propose_photo(child, requester, photo=None, **changes):
    photo = photo or _upload_photo(requester)
    return service.propose(child, requester, {"photo": photo.id, **changes}, reason="换新照片", evidence=[])


def _photo_history(child) -> list[StudentHistory]:
    rows = db.session.scalars(select(StudentHistory).where(StudentHistory.student_id == child.id))
    return [row for row in rows if "photo" in row.after]


def test_without_a_setting_a_new_photo_goes_to_the_school_alone_and_is_applied_with_history(world):
    tree, people, child = world
    assert child.photo_sha256 is None
    photo = _upload_photo(people["guardian"])
    case = _propose_photo(child, people["guardian"], photo)
    assert [(s.role, s.org_unit_id) for s in case.steps] == [("school", tree.school.id)]
    assert case.payload["key"] is False and case.payload["photo_is_key"] is False
    assert case.payload["evidence"] == [photo.id]  # the photo is its own proof
    assert case.payload["before"] == {"photo": None}
    service.decide(case.steps[0].id, people["school"], action="approve")
    assert case.state == CaseState.APPROVED
    assert child.photo_sha256 == photo.sha256
    [entry] = _photo_history(child)
    assert (entry.before, entry.after, entry.case_id) == ({"photo": None}, {"photo": photo.sha256}, case.id)
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == case.id, AuditEvent.tag == "student:fields_changed")
    ).all()
    assert [event.data["fields"] for event in events] == [["photo"]]


def test_where_the_province_says_so_the_photo_goes_school_then_county(world):
    tree, people, child = world
    set_correction_setting(tree.province, photo_is_key=True, actor=people["admin"])
    case = _propose_photo(child, people["guardian"])
    assert [s.org_unit_id for s in case.steps] == [tree.school.id, tree.county.id]
    assert case.payload["key"] is True
    service.decide(case.steps[0].id, people["school"], action="approve")
    assert child.photo_sha256 is None  # not before the county decides
    service.decide(case.steps[1].id, people["county"], action="approve")
    assert child.photo_sha256 is not None


def test_the_route_is_fixed_when_proposed_not_when_decided(world):
    tree, people, child = world
    set_correction_setting(tree.province, photo_is_key=True, actor=people["admin"])
    case = _propose_photo(child, people["guardian"])
    set_correction_setting(tree.province, photo_is_key=False, actor=people["admin"])
    service.decide(case.steps[0].id, people["school"], action="approve")
    assert case.state == CaseState.OPEN and case.steps[1].state == StepState.PENDING


def test_declining_the_key_photo_skips_the_county_for_the_other_details(world):
    tree, people, child = world
    set_correction_setting(tree.province, photo_is_key=True, actor=people["admin"])
    case = _propose_photo(child, people["guardian"], ethnicity="03")
    service.decide(
        case.steps[0].id, people["school"], action="approve", fields=["ethnicity"], reason="照片不清晰"
    )
    assert case.state == CaseState.APPROVED
    assert [s.state for s in case.steps] == [StepState.APPROVED, StepState.SKIPPED]
    assert (child.ethnicity, child.photo_sha256) == ("03", None)


def test_a_second_photo_replaces_the_first_and_the_history_keeps_both_hashes(world):
    _, people, child = world
    first = _upload_photo(people["guardian"])
    service.decide(
        _propose_photo(child, people["guardian"], first).steps[0].id, people["school"], action="approve"
    )
    second = _upload_photo(people["guardian"], size=(450, 600))
    case = _propose_photo(child, people["guardian"], second)
    assert case.payload["before"] == {"photo": first.sha256}
    service.decide(case.steps[0].id, people["school"], action="approve")
    latest = max(_photo_history(child), key=lambda row: row.id)
    assert (latest.before, latest.after) == ({"photo": first.sha256}, {"photo": second.sha256})


def test_the_photo_the_record_already_has_changes_nothing(world):
    _, people, child = world
    photo = _upload_photo(people["guardian"])
    service.decide(
        _propose_photo(child, people["guardian"], photo).steps[0].id, people["school"], action="approve"
    )
    with pytest.raises(ValidationFailed) as refused:
        _propose_photo(child, people["guardian"], _upload_photo(people["guardian"]))  # same bytes
    assert refused.value.code == "correction.nothing_changes"


def test_a_photo_reference_must_be_the_proposers_own_upload_of_a_registry_photo(world):
    _, people, child = world
    someone_elses = _upload_photo(people["school"])
    with pytest.raises(ValidationFailed) as refused:
        _propose_photo(child, people["guardian"], someone_elses)
    assert refused.value.code == "case.bad_evidence"
    # Evidence of the wrong shape (a landscape scan) named as the new photo (the API path).
    scan = store_upload(
        FileStorage(io.BytesIO(evidence_files.jpeg_with_gps(size=(640, 480))), filename="a.jpg"),
        uploader=people["guardian"],
    )
    with pytest.raises(ValidationFailed) as refused:
        _propose_photo(child, people["guardian"], scan)
    assert refused.value.code == "photo.not_portrait"
    pdf = store_upload(
        FileStorage(io.BytesIO(evidence_files.pdf()), filename="a.pdf"), uploader=people["guardian"]
    )
    with pytest.raises(ValidationFailed) as refused:
        _propose_photo(child, people["guardian"], pdf)
    assert refused.value.code == "photo.not_a_photo"


# --- the guard: the photo has one way in ---------------------------------------------------


def test_the_photo_changes_only_by_applying_an_approved_correction_of_that_student(world):
    tree, people, child = world
    photo = _upload_photo(people["guardian"])
    open_case = _propose_photo(child, people["guardian"], photo)
    other_child = make_student(tree.school)
    attempts = {
        "no case": None,
        "an open correction": open_case,
        "another student's correction": approved_correction(other_child),
    }
    for what, case in attempts.items():
        with pytest.raises(Conflict) as refused:
            change_photo(child, photo.sha256, people["school"], reason="", case=case)
        assert refused.value.code == "student.photo_needs_correction", what
    with pytest.raises(ValidationFailed) as refused:
        change_fields(child, {"photo_sha256": photo.sha256}, people["school"], reason="")
    assert refused.value.code == "student.field_not_editable"
    assert child.photo_sha256 is None
    change_photo(child, photo.sha256, people["school"], reason="", case=approved_correction(child))
    assert child.photo_sha256 == photo.sha256
