"""Reminding families before a suspension ends (M-16): a daily job, via notify.

A family hears once, `REMIND_DAYS_BEFORE` days ahead (or at once when the job first sees a
suspension ending sooner), that the suspension ends and what to do: apply to return to
school, or apply again to stay away longer.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from huey import crontab
from sqlalchemy import exists, select

from portal import clock
from portal.accounts.models import User
from portal.extensions import db
from portal.guardians.models import GuardianLink
from portal.jobs import periodic_task
from portal.notifications.messages import register_message
from portal.notifications.models import InboxMessage
from portal.notifications.service import notify
from portal.registry.models import Student
from portal.registry.status import Status

REMIND_DAYS_BEFORE = 14

SUSPENSION_ENDING = register_message(
    "requests.suspension_ending",
    subject=_l("Suspension ending soon"),
    body=_l(
        "Your child’s suspension of studies ends on %(date)s. To return to school, apply for "
        "a return to school in the portal; to stay away longer, apply for a new suspension before then."
    ),
)


def send_suspension_reminders(today: date | None = None) -> int:
    """Tell the guardians of every suspended student whose suspension ends within the
    reminder window, once per suspension end date. Returns how many messages went out."""
    today = today or clock.today()
    already = exists().where(
        InboxMessage.student_id == Student.id,
        InboxMessage.kind == SUSPENSION_ENDING.code,
        InboxMessage.recipient_id == User.id,
        # Reminders go out only inside the window: one in its length is this suspension's.
        InboxMessage.created_at >= clock.now() - timedelta(days=REMIND_DAYS_BEFORE + 1),
    )
    rows = db.session.execute(
        select(Student, User)
        .join(GuardianLink, GuardianLink.student_id == Student.id)
        .join(User, User.id == GuardianLink.guardian_id)
        .where(
            Student.status == Status.SUSPENDED,
            Student.status_until >= today,
            Student.status_until <= today + timedelta(days=REMIND_DAYS_BEFORE),
            GuardianLink.revoked_at.is_(None),
            User.is_active_account.is_(True),
            ~already,
        )
        .order_by(Student.id, User.id)
    ).all()
    for student, guardian in rows:
        url = f"/children/{student.id}"
        notify(
            guardian, SUSPENSION_ENDING.code, student=student, url=url, date=student.status_until.isoformat()
        )
    return len(rows)


@periodic_task(crontab(minute="0", hour="1"))  # 09:00 in China
def suspension_reminders() -> None:
    send_suspension_reminders()
    db.session.commit()
