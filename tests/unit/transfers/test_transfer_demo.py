"""The demo province has transfers in flight, each waiting on its receiving school."""

from sqlalchemy import select

from portal.accounts.models import Role
from portal.approvals.models import Case
from portal.demo.generator import generate
from portal.extensions import db


def test_demo_transfers_are_in_flight_at_their_receiving_schools(app):
    generate(students=300, seed=7)
    transfers = db.session.scalars(select(Case).where(Case.kind == "transfer", Case.state == "open")).all()
    assert len(transfers) >= 3
    for case in transfers:
        step = case.current_step()
        assert step.role == "receiving_school" and step.org_unit_id == case.payload["to_school_id"]
        # Entered at the receiving school's counter, or applied for by a linked guardian.
        assert case.requester.role_enum in (Role.SCHOOL_REGISTRAR, Role.GUARDIAN)
        if case.requester.role_enum is Role.SCHOOL_REGISTRAR:
            assert case.requester.org_unit_id == step.org_unit_id
