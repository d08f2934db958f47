"""Early warning (M-23, N16): rules over the audit trail and account use, raised into `warnings`.

Each rule reads a window of the trail and raises at most one warning per rule, account and
period (the warning's `key`), so the job can run as often as it likes.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal import clock
from portal.accounts.models import Role, User
from portal.accounts.service import STAFF_IDLE_LIMIT
from portal.approvals.models import Step, StepState
from portal.audit.models import AuditEvent
from portal.audit.service import record_event
from portal.audit.tags import AuditTag
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from portal.orgs.models import OrgLevel, OrgUnit
from portal.orgs.service import subtree_ids
from portal.oversight.models import SecurityWarning, WarningRule, WarningThresholds

READ_TAGS = (AuditTag.STUDENT_VIEWED, AuditTag.STUDENT_DOCUMENT_REVEALED)
IDLE_ROLES = (Role.SCHOOL_REGISTRAR, Role.COUNTY_REGISTRAR)
WALK_LOOKBACK = timedelta(days=1)
HOUR_HISTORY = timedelta(days=60)
PAGE_SIZE = 30


def province_code(user: User) -> str:
    """The first code on the unit's path: the province an account belongs to."""
    return user.org_unit.path.strip("/").split("/")[0]


def thresholds_for(province_id: int | None) -> WarningThresholds:
    """The province's row, or the defaults (an unsaved row)."""
    row = db.session.get(WarningThresholds, province_id) if province_id else None
    if row is not None:
        return row
    defaults = {
        column.name: column.default.arg for column in WarningThresholds.__table__.columns if column.default
    }
    return WarningThresholds(province_id=province_id, **defaults)


@dataclass
class Staff:
    user: User
    province: str
    thresholds: WarningThresholds


def _active_staff() -> list[Staff]:
    users = db.session.scalars(
        select(User).where(User.role != Role.GUARDIAN, User.is_active_account.is_(True)).order_by(User.id)
    ).all()
    provinces = {
        unit.code: unit
        for unit in db.session.scalars(select(OrgUnit).where(OrgUnit.level == OrgLevel.PROVINCE))
    }
    staff = []
    for user in users:
        code = province_code(user)
        province = provinces.get(code)
        staff.append(Staff(user, code, thresholds_for(province.id if province else None)))
    return staff


def _raise(rule: WarningRule, user: User, period: str, **detail) -> SecurityWarning | None:
    key = f"{rule}:{user.id}:{period}"
    if db.session.scalar(select(SecurityWarning.id).where(SecurityWarning.key == key)):
        return None
    warning = SecurityWarning(
        rule=rule, key=key, account_id=user.id, org_unit_id=user.org_unit_id, detail=detail
    )
    db.session.add(warning)
    return warning


# The rules. Each takes `now` and the staff list, and returns the warnings it raised.


def heavy_readers(now: datetime, staff: list[Staff]) -> list[SecurityWarning]:
    """Records read in the window far above the median of the same role in the province.

    Robust: median + k·MAD (the median absolute deviation, at least 1 so that a quiet role
    does not make one extra read an outlier), and never below the province's minimum.
    """
    window = max((s.thresholds.reads_window_days for s in staff), default=7)
    reads = dict(
        db.session.execute(
            select(AuditEvent.actor_id, func.count(func.distinct(AuditEvent.student_id)))
            .where(AuditEvent.tag.in_(READ_TAGS), AuditEvent.at >= now - timedelta(days=window))
            .group_by(AuditEvent.actor_id)
        ).all()
    )
    peers: dict[tuple[str, str], list[Staff]] = defaultdict(list)
    for member in staff:
        peers[(member.province, member.user.role)].append(member)
    raised = []
    for group in peers.values():
        counts = [reads.get(member.user.id, 0) for member in group]
        median = statistics.median(counts)
        mad = max(statistics.median(abs(count - median) for count in counts), 1)
        for member, count in zip(group, counts, strict=True):
            limit = max(median + member.thresholds.reads_mad_factor * mad, member.thresholds.reads_minimum)
            if count > limit:
                period = now.date().isoformat()
                warning = _raise(
                    WarningRule.HEAVY_READER,
                    member.user,
                    period,
                    records=count,
                    days=window,
                    median=median,
                    mad=mad,
                    peers=len(group),
                )
                raised.append(warning)
    return [w for w in raised if w]


def record_walks(now: datetime, staff: list[Staff]) -> list[SecurityWarning]:
    """Many distinct records opened or listed within a few minutes (search pages walked through)."""
    events = db.session.execute(
        select(AuditEvent.actor_id, AuditEvent.at, AuditEvent.tag, AuditEvent.student_id, AuditEvent.data)
        .where(
            AuditEvent.tag.in_((*READ_TAGS, AuditTag.STUDENT_SEARCHED)),
            AuditEvent.at >= now - WALK_LOOKBACK,
            AuditEvent.actor_id.is_not(None),
        )
        .order_by(AuditEvent.actor_id, AuditEvent.at, AuditEvent.id)
    ).all()
    by_actor: dict[int, list] = defaultdict(list)
    for event in events:
        by_actor[event.actor_id].append(event)
    raised = []
    for member in staff:
        peak = _peak_distinct(
            by_actor.get(member.user.id, []), timedelta(minutes=member.thresholds.walk_minutes)
        )
        if peak >= member.thresholds.walk_records:
            warning = _raise(
                WarningRule.RECORD_WALK,
                member.user,
                now.date().isoformat(),
                records=peak,
                minutes=member.thresholds.walk_minutes,
            )
            raised.append(warning)
    return [w for w in raised if w]


def _students_in(event) -> list[int]:
    if event.tag == AuditTag.STUDENT_SEARCHED:
        return list((event.data or {}).get("shown", []))
    return [event.student_id] if event.student_id else []


def _peak_distinct(events: list, span: timedelta) -> int:
    """The most distinct students seen within any `span` (a sliding window over time)."""
    window: deque = deque()
    seen: Counter = Counter()
    peak = 0
    for event in events:
        at = clock.aware(event.at)
        window.append((at, _students_in(event)))
        seen.update(window[-1][1])
        while at - window[0][0] > span:
            seen.subtract(window.popleft()[1])
            seen += Counter()  # drop zero counts
        peak = max(peak, len(seen))
    return peak


def unusual_hours(now: datetime, staff: list[Staff]) -> list[SecurityWarning]:
    """A sign-in in the last day at an hour (China time) the account has never used before.

    Needs enough history (the province's `unusual_hour_history` sign-ins in 60 days); an hour
    next to a usual one counts as usual.
    """
    sign_ins = db.session.execute(
        select(AuditEvent.actor_id, AuditEvent.at, AuditEvent.id)
        .where(AuditEvent.tag == AuditTag.ACCOUNT_SIGNED_IN, AuditEvent.at >= now - HOUR_HISTORY)
        .order_by(AuditEvent.id)
    ).all()
    by_actor: dict[int, list] = defaultdict(list)
    for row in sign_ins:
        by_actor[row.actor_id].append(row)
    raised = []
    recent_from = now - timedelta(days=1)
    for member in staff:
        rows = by_actor.get(member.user.id, [])
        history = [r for r in rows if clock.aware(r.at) < recent_from]
        if len(history) < member.thresholds.unusual_hour_history:
            continue
        usual = {clock.aware(r.at).astimezone(clock.CHINA).hour for r in history}
        for row in rows:
            at = clock.aware(row.at)
            hour = at.astimezone(clock.CHINA).hour
            if at >= recent_from and not usual & {(hour - 1) % 24, hour, (hour + 1) % 24}:
                raised.append(_raise(WarningRule.UNUSUAL_HOUR, member.user, f"e{row.id}", hour=hour))
    return [w for w in raised if w]


def repeated_failures(now: datetime, staff: list[Staff]) -> list[SecurityWarning]:
    """Failed sign-ins on one account: the province's count within its minutes."""
    failures = db.session.execute(
        select(AuditEvent.actor_id, AuditEvent.at)
        .where(AuditEvent.tag == AuditTag.ACCOUNT_SIGN_IN_FAILED, AuditEvent.at >= now - WALK_LOOKBACK)
        .order_by(AuditEvent.actor_id, AuditEvent.at)
    ).all()
    by_actor: dict[int, list[datetime]] = defaultdict(list)
    for row in failures:
        if row.actor_id is not None:
            by_actor[row.actor_id].append(clock.aware(row.at))
    raised = []
    for member in staff:
        times = by_actor.get(member.user.id, [])
        span = timedelta(minutes=member.thresholds.failures_minutes)
        count = member.thresholds.failures_count
        bursts = [times[i] for i in range(len(times) - count + 1) if times[i + count - 1] - times[i] <= span]
        if bursts:
            warning = _raise(
                WarningRule.REPEATED_FAILURES, member.user, now.date().isoformat(), failures=len(times)
            )
            raised.append(warning)
    return [w for w in raised if w]


def _last_use(user: User) -> datetime | None:
    used = [clock.aware(m) for m in (user.last_seen_at, user.last_sign_in_at) if m is not None]
    if used:
        return max(used)
    return clock.aware(user.created_at) if user.created_at else None


def idle_with_work(now: datetime, staff: list[Staff]) -> list[SecurityWarning]:
    """N16: school and county registrars away for a week while steps wait for their unit."""
    waiting = dict(
        db.session.execute(
            select(Step.org_unit_id, func.count())
            .where(Step.state == StepState.PENDING)
            .group_by(Step.org_unit_id)
        ).all()
    )
    raised = []
    for member in staff:
        user = member.user
        last = _last_use(user)
        idle = last is not None and now - last > timedelta(days=member.thresholds.idle_days)
        if user.role in IDLE_ROLES and idle and waiting.get(user.org_unit_id):
            week = now.date().isocalendar()
            period = f"{week.year}w{week.week}"
            warning = _raise(
                WarningRule.IDLE_WITH_WORK,
                user,
                period,
                idle_days=(now - last).days,
                waiting_steps=waiting[user.org_unit_id],
            )
            raised.append(warning)
    return [w for w in raised if w]


def about_to_be_sealed(now: datetime, staff: list[Staff]) -> list[SecurityWarning]:
    """Accounts that will be sealed for disuse within the province's notice period."""
    raised = []
    for member in staff:
        last = _last_use(member.user)
        if last is None:
            continue
        seals_at = last + STAFF_IDLE_LIMIT
        if now < seals_at <= now + timedelta(days=member.thresholds.seal_notice_days):
            period = seals_at.date().isoformat()
            warning = _raise(WarningRule.ABOUT_TO_BE_SEALED, member.user, period, seals_on=period)
            raised.append(warning)
    return [w for w in raised if w]


RULES = (heavy_readers, record_walks, unusual_hours, repeated_failures, idle_with_work, about_to_be_sealed)


def raise_warnings(now: datetime | None = None) -> list[SecurityWarning]:
    """Run every rule once; joins the caller's transaction."""
    now = now or clock.now()
    staff = _active_staff()
    raised = [warning for rule in RULES for warning in rule(now, staff)]
    db.session.flush()
    return raised


# Reading and acknowledging, for county, city and province security staff.

DESCRIPTIONS = {
    WarningRule.HEAVY_READER: _l(
        "%(records)s records read in %(days)s days; the median of %(peers)s peers is %(median)s "
        "(median absolute deviation %(mad)s)."
    ),
    WarningRule.RECORD_WALK: _l("%(records)s different records within %(minutes)s minutes."),
    WarningRule.UNUSUAL_HOUR: _l(
        "Signed in at %(hour)s o'clock (China time), an hour this account had not used in 60 days."
    ),
    WarningRule.REPEATED_FAILURES: _l("%(failures)s failed sign-ins in the last day."),
    WarningRule.IDLE_WITH_WORK: _l(
        "Not used for %(idle_days)s days while %(waiting_steps)s request steps wait for the unit."
    ),
    WarningRule.ABOUT_TO_BE_SEALED: _l("Will be sealed on %(seals_on)s unless it is used."),
}


def describe(warning: SecurityWarning) -> str:
    """The warning's evidence as a sentence in the reader's language."""
    try:
        return str(DESCRIPTIONS[warning.rule_enum]) % warning.detail
    except (KeyError, TypeError):
        return ""


def visible_warnings(user):
    """Warnings about accounts in `user`'s unit and below."""
    return select(SecurityWarning).where(SecurityWarning.org_unit_id.in_(subtree_ids(user.org_unit)))


def warnings_page(
    user, *, show_acknowledged: bool = False, before: int | None = None, limit: int = PAGE_SIZE
):
    """Newest first, by keyset on the id."""
    query = visible_warnings(user)
    if not show_acknowledged:
        query = query.where(SecurityWarning.acknowledged_at.is_(None))
    if before is not None:
        query = query.where(SecurityWarning.id < before)
    rows = list(db.session.scalars(query.order_by(SecurityWarning.id.desc()).limit(limit + 1)))
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def acknowledge(user, warning_id: int, note: str) -> SecurityWarning:
    """Mark a warning handled, with what was found or done (audited)."""
    warning = db.session.scalar(visible_warnings(user).where(SecurityWarning.id == warning_id))
    if warning is None:
        raise NotFound("warning.not_found", _l("No such warning."))
    note = note.strip()
    if not note:
        raise ValidationFailed("warning.note_required", _l("Please say what you found or did."))
    if warning.acknowledged_at is not None:
        raise ValidationFailed("warning.already_acknowledged", _l("This warning was already acknowledged."))
    warning.acknowledged_at = clock.now()
    warning.acknowledged_by_id = user.id
    warning.acknowledgement_note = note[:2000]
    record_event(AuditTag.WARNING_ACKNOWLEDGED, actor=user, warning=warning.id, rule=warning.rule)
    db.session.flush()
    return warning


def open_counts(user) -> dict[str, int]:
    """Open warnings by rule in `user`'s scope (the weekly report)."""
    query = (
        select(SecurityWarning.rule, func.count())
        .where(
            SecurityWarning.org_unit_id.in_(subtree_ids(user.org_unit)),
            SecurityWarning.acknowledged_at.is_(None),
        )
        .group_by(SecurityWarning.rule)
    )
    return dict(db.session.execute(query).all())
