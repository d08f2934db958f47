"""The child's page shows a case returned for more material as still open, with what is missing."""

from portal import clock
from portal.accounts.models import Role
from portal.approvals import engine
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from tests.factories import make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import sign_in


def test_a_returned_case_tells_the_family_what_is_missing(app, client):
    tree = make_tree()
    guardian = make_guardian("13912340001")
    school = make_staff(Role.SCHOOL_REGISTRAR, tree.school)
    child = make_student(tree.school)
    db.session.add(GuardianLink(guardian_id=guardian.id, student_id=child.id, relation=Relation.MOTHER))
    db.session.flush()
    return_on = clock.today().replace(year=clock.today().year + 1, day=1)
    case = engine.open_case(
        "suspension",
        child,
        guardian,
        {"reason": "因病休养", "evidence": [], "return_on": return_on.isoformat()},
    )
    engine.return_case(case.steps[0].id, school, missing="医院诊断证明")
    child_id = child.id
    db.session.commit()
    sign_in(client, "13912340001")
    page = client.get(f"/children/{child_id}").get_data(as_text=True)
    assert "退回补正" in page
    assert "请补充以下材料：医院诊断证明" in page
