"""What runs when (crontabs in UTC; China is UTC+8). See docs/jobs.md."""

from __future__ import annotations

from huey import crontab
from sqlalchemy import func, select

from portal.accounts.models import Role, User
from portal.approvals.models import Step, StepState
from portal.extensions import db
from portal.jobs import periodic_task
from portal.notifications.messages import WEEKLY_DIGEST
from portal.notifications.service import notify

DIGEST_ROLES = (Role.SCHOOL_REGISTRAR, Role.COUNTY_REGISTRAR)
QUEUE_URL = "/staff/queue"  # the unit's approval queue


@periodic_task(crontab(minute="0", hour="17"))  # 01:00 in China, after the working day has turned
def sweep_deadlines() -> None:
    """Apply each province's timeout policy to overdue steps."""
    from portal.approvals.engine import process_timeouts

    process_timeouts(after_each=db.session.commit)
    db.session.commit()


@periodic_task(crontab(minute="30", hour="0", day_of_week="1"))  # Monday 08:30 in China
def weekly_digest() -> None:
    send_weekly_digest()
    db.session.commit()


def send_weekly_digest() -> int:
    """Tell each school/county registrar how many steps wait on their unit (a count, no names)."""
    pending = (
        select(Step.org_unit_id, func.count().label("count"))
        .where(Step.state == StepState.PENDING)
        .group_by(Step.org_unit_id)
        .subquery()
    )
    rows = db.session.execute(
        select(User, pending.c.count)
        .join(pending, pending.c.org_unit_id == User.org_unit_id)
        .where(User.role.in_(DIGEST_ROLES), User.is_active_account.is_(True))
        .order_by(User.id)
    ).all()
    for user, count in rows:
        notify(user, WEEKLY_DIGEST.code, url=QUEUE_URL, count=count)
    return len(rows)
