"""The weekly security report: open warnings by rule and the chain head, to security staff."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal import clock
from portal.accounts.models import Role
from portal.audit.chain import chain_pending
from portal.audit.models import AuditEvent
from portal.audit.tags import AuditTag
from portal.extensions import db
from portal.notifications.models import InboxMessage, OutboxMessage
from portal.oversight.jobs import send_weekly_report
from portal.oversight.warnings import raise_warnings
from tests.factories import make_staff, make_tree


def test_security_staff_get_counts_and_the_chain_head_by_email(app):
    tree = make_tree()
    registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school)
    county = make_staff(Role.COUNTY_REGISTRAR, tree.county)
    county.email = "security@county.example.cn"
    for n in range(6):
        db.session.add(
            AuditEvent(
                tag=str(AuditTag.ACCOUNT_SIGN_IN_FAILED),
                actor_id=registrar.id,
                at=clock.now() - timedelta(minutes=n),
                data={},
            )
        )
    raise_warnings()
    chain_pending(settled_before=clock.now() + timedelta(hours=1))
    db.session.flush()

    assert send_weekly_report() >= 1
    inbox = db.session.scalars(select(InboxMessage).where(InboxMessage.recipient_id == county.id)).all()
    assert [message.params["total"] for message in inbox] == ["1"]
    assert registrar.id not in inbox[0].params.values()
    mail = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.recipient == "security@county.example.cn")
    )
    assert "多次登录失败：1" in mail.body and inbox[0].params["head"] in mail.body
    assert registrar.username not in mail.body
    school = db.session.scalars(select(InboxMessage).where(InboxMessage.recipient_id == registrar.id)).all()
    assert school == []  # school registrars are not security staff
