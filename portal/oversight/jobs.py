"""Oversight's scheduled work: early warnings hourly, the weekly security report, exports."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from huey import crontab
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.audit.chain import chain_head
from portal.extensions import db
from portal.jobs import periodic_task
from portal.notifications.messages import register_message
from portal.notifications.service import notify
from portal.oversight.models import WarningRule
from portal.oversight.warnings import open_counts, raise_warnings

SECURITY_ROLES = (Role.COUNTY_REGISTRAR, Role.CITY_OFFICER, Role.PROVINCE_ADMIN)
WARNINGS_URL = "/security/warnings"

WEEKLY_REPORT = register_message(
    "oversight.weekly_security_report",
    subject=_l("Weekly registry security report"),
    body=_l(
        "Open early warnings for your unit and below: %(total)s (%(summary)s). "
        "Audit trail: %(chained)s entries chained, head %(head)s."
    ),
)


@periodic_task(crontab(minute="5"))
def hourly_warnings() -> None:
    raise_warnings()
    db.session.commit()


@periodic_task(crontab(minute="0", hour="1", day_of_week="1"))  # Monday 09:00 in China
def weekly_security_report() -> None:
    send_weekly_report()
    db.session.commit()


def send_weekly_report() -> int:
    """Every county, city and province security account: open warnings by rule, the chain head."""
    seq, head_hash = chain_head()
    recipients = db.session.scalars(
        select(User).where(User.role.in_(SECURITY_ROLES), User.is_active_account.is_(True)).order_by(User.id)
    ).all()
    for user in recipients:
        counts = open_counts(user)
        summary = str(_l("; ")).join(
            str(_l("%(rule)s: %(count)s", rule=WarningRule(rule).label, count=count))
            for rule, count in sorted(counts.items())
        )
        notify(
            user,
            WEEKLY_REPORT.code,
            url=WARNINGS_URL,
            total=str(sum(counts.values())),
            summary=summary or "-",
            chained=str(seq),
            head=head_hash[:16],
        )
    return len(recipients)


@periodic_task(crontab(minute="*"))
def produce_exports() -> None:
    """Approved de-identified exports, produced within a minute of approval."""
    from portal.oversight.exports import produce_approved_exports

    produce_approved_exports()
    db.session.commit()


@periodic_task(crontab(minute="*"))
def produce_family_copies() -> None:
    """Guardians' copies of their child's data, ready within a minute; expired ones erased."""
    from portal.oversight.family_copy import erase_expired_copies, produce_requested_copies

    produce_requested_copies()
    erase_expired_copies()
    db.session.commit()
