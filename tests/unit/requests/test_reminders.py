"""The family is reminded once before a suspension ends (a daily job, via notify)."""

from datetime import timedelta

from flask_babel import force_locale
from sqlalchemy import select

from portal import clock
from portal.extensions import db
from portal.guardians.models import GuardianLink, Relation
from portal.jobs import huey
from portal.notifications.models import InboxMessage, OutboxMessage
from portal.notifications.service import render
from portal.registry.status import Status
from portal.requests import reminders
from tests.factories import make_guardian, make_student, make_tree


def _suspended(tree, guardian, ends_in_days):
    student = make_student(tree.school)
    student.status = Status.SUSPENDED
    student.status_until = clock.today() + timedelta(days=ends_in_days)
    db.session.add(GuardianLink(guardian_id=guardian.id, student_id=student.id, relation=Relation.FATHER))
    db.session.flush()
    return student


def _reminded(guardian):
    return db.session.scalars(
        select(InboxMessage).where(
            InboxMessage.recipient_id == guardian.id, InboxMessage.kind == "requests.suspension_ending"
        )
    ).all()


def test_reminded_once_inside_the_window_and_never_outside_it(app):
    tree = make_tree()
    soon, later, returned = make_guardian(), make_guardian(), make_guardian()
    ending = _suspended(tree, soon, 10)
    _suspended(tree, later, 40)
    back = _suspended(tree, returned, 5)
    back.status = Status.ATTENDING
    db.session.flush()
    assert reminders.send_suspension_reminders() == 1
    assert reminders.send_suspension_reminders() == 0  # the next day's run: not again
    (message,) = _reminded(soon)
    assert message.student_id == ending.id and message.url == f"/children/{ending.id}"
    assert _reminded(later) == [] and _reminded(returned) == []
    with force_locale("zh_Hans"):
        subject, body = render(message)
    assert ending.status_until.isoformat() in body and ending.name not in body
    assert db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.recipient == soon.mobile))


def test_the_daily_job_runs_the_reminders(app):
    tree = make_tree()
    guardian = make_guardian()
    _suspended(tree, guardian, 3)
    huey.immediate = True
    try:
        reminders.suspension_reminders()
    finally:
        huey.immediate = False
    assert len(_reminded(guardian)) == 1
