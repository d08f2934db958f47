"""Early-warning rules: each fires on its synthetic pattern and stays quiet on normal traffic."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from portal import clock
from portal.accounts.models import Role
from portal.approvals import engine
from portal.approvals.kinds import register, unregister
from portal.audit.models import AuditEvent
from portal.audit.tags import AuditTag
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from portal.oversight.models import SecurityWarning, WarningRule, WarningThresholds
from portal.oversight.warnings import acknowledge, describe, raise_warnings, warnings_page
from tests.factories import SchoolThenCountyKind, make_staff, make_student, make_tree


def _now() -> datetime:
    """A Wednesday, 10:00 in China."""
    return datetime(2026, 11, 18, 2, 0).replace(tzinfo=clock.now().tzinfo)


def _event(tag, actor, at, student=None, **data) -> None:
    db.session.add(
        AuditEvent(tag=str(tag), actor_id=actor.id, student_id=getattr(student, "id", None), data=data, at=at)
    )


@pytest.fixture
def office(app):
    """A province with ten school registrars who work normally: reads, sign-ins in office hours."""
    tree = make_tree()
    db.session.add(WarningThresholds(province_id=tree.province.id, reads_minimum=10, walk_records=40))
    schools = [tree.school, tree.senior_school, tree.other_school]
    registrars = [make_staff(Role.SCHOOL_REGISTRAR, schools[n % 3]) for n in range(10)]
    students = [make_student(tree.school) for _ in range(30)]
    now = _now()
    for n, registrar in enumerate(registrars):
        registrar.last_seen_at = now - timedelta(hours=2)
        for day in range(1, 20):  # sign-ins at 08:00–11:00 China time, every day
            _event(AuditTag.ACCOUNT_SIGNED_IN, registrar, now - timedelta(days=day, hours=n % 3))
        _event(AuditTag.ACCOUNT_SIGNED_IN, registrar, now - timedelta(hours=1))
        for k in range(3 + n % 3):  # a handful of reads each, spread over the week
            _event(
                AuditTag.STUDENT_VIEWED, registrar, now - timedelta(days=k, minutes=n), students[(n + k) % 30]
            )
        _event(AuditTag.ACCOUNT_SIGN_IN_FAILED, registrar, now - timedelta(hours=3))  # one typo
        _event(
            AuditTag.STUDENT_SEARCHED,
            registrar,
            now - timedelta(hours=1),
            shown=[s.id for s in students[:20]],
        )
    db.session.flush()
    return tree, registrars, students


def _rules(warnings) -> list[tuple[str, int]]:
    return sorted((w.rule, w.account_id) for w in warnings)


def test_normal_traffic_raises_nothing(office):
    assert raise_warnings(_now()) == []


def test_an_account_reading_far_more_than_its_peers(office):
    _tree, registrars, students = office
    heavy = registrars[4]
    for n, student in enumerate(students[:25]):
        _event(AuditTag.STUDENT_VIEWED, heavy, _now() - timedelta(days=2, minutes=n * 30), student)
    raised = raise_warnings(_now())
    assert _rules(raised) == [(WarningRule.HEAVY_READER, heavy.id)]
    assert raised[0].detail["records"] >= 25 and raised[0].detail["median"] < 10


def test_searches_walking_through_many_records_quickly(office):
    _tree, registrars, _students = office
    walker = registrars[2]
    for page in range(5):  # five pages of 20 results in four minutes: 100 distinct records
        shown = list(range(10_000 + page * 20, 10_020 + page * 20))
        _event(
            AuditTag.STUDENT_SEARCHED, walker, _now() - timedelta(minutes=30 - page), shown=shown, page=page
        )
    assert _rules(raise_warnings(_now())) == [(WarningRule.RECORD_WALK, walker.id)]


def test_a_sign_in_at_an_unusual_hour_for_that_account(office):
    _tree, registrars, _students = office
    night_owl = registrars[7]
    _event(AuditTag.ACCOUNT_SIGNED_IN, night_owl, _now() - timedelta(hours=8))  # 02:00 in China
    assert _rules(raise_warnings(_now())) == [(WarningRule.UNUSUAL_HOUR, night_owl.id)]


def test_repeated_failed_sign_ins(office):
    _tree, registrars, _students = office
    target = registrars[1]
    for n in range(5):
        _event(AuditTag.ACCOUNT_SIGN_IN_FAILED, target, _now() - timedelta(minutes=20 - n))
    assert _rules(raise_warnings(_now())) == [(WarningRule.REPEATED_FAILURES, target.id)]


def test_a_registrar_away_for_a_week_while_steps_wait(office):
    tree, registrars, students = office
    register(SchoolThenCountyKind())
    try:
        engine.open_case(SchoolThenCountyKind.name, students[0], registrars[0])
        away = next(r for r in registrars if r.org_unit_id == tree.school.id and r is not registrars[0])
        away.last_seen_at = away.last_sign_in_at = _now() - timedelta(days=9)
        db.session.flush()
        raised = raise_warnings(_now())
    finally:
        unregister(SchoolThenCountyKind.name)
    assert _rules(raised) == [(WarningRule.IDLE_WITH_WORK, away.id)]
    assert raised[0].detail["idle_days"] == 9


def test_an_account_about_to_be_sealed(office):
    tree, _registrars, _students = office
    officer = make_staff(Role.CITY_OFFICER, tree.city)
    officer.last_seen_at = _now() - timedelta(days=178)
    db.session.flush()
    assert _rules(raise_warnings(_now())) == [(WarningRule.ABOUT_TO_BE_SEALED, officer.id)]


def test_running_twice_raises_a_warning_once(office):
    _tree, registrars, _students = office
    for n in range(6):
        _event(AuditTag.ACCOUNT_SIGN_IN_FAILED, registrars[3], _now() - timedelta(minutes=n))
    assert len(raise_warnings(_now())) == 1
    assert raise_warnings(_now()) == []


def test_acknowledging_needs_a_note_is_audited_and_stays_in_scope(office):
    tree, registrars, _students = office
    for n in range(6):
        _event(AuditTag.ACCOUNT_SIGN_IN_FAILED, registrars[3], _now() - timedelta(minutes=n))
    (warning,) = raise_warnings(_now())
    county = make_staff(Role.COUNTY_REGISTRAR, tree.county)
    other_county = make_staff(Role.COUNTY_REGISTRAR, tree.other_county)
    city = make_staff(Role.CITY_OFFICER, tree.city)
    in_county = registrars[3].org_unit.parent_id == tree.county.id
    assert bool(warnings_page(county)[0]) is in_county
    assert bool(warnings_page(other_county)[0]) is not in_county
    assert warnings_page(city)[0] == [warning]
    assert "failed sign-ins" in describe(warning) or "登录失败" in describe(warning)
    with pytest.raises(ValidationFailed):
        acknowledge(city, warning.id, "  ")
    stranger = make_staff(Role.COUNTY_REGISTRAR, make_tree().county)
    with pytest.raises(NotFound):
        acknowledge(stranger, warning.id, "checked")
    acknowledge(city, warning.id, "The registrar forgot the new password; reset in person.")
    assert warnings_page(city)[0] == []
    assert warnings_page(city, show_acknowledged=True)[0] == [warning]
    tags = db.session.scalars(select(AuditEvent.tag).where(AuditEvent.actor_id == city.id)).all()
    assert "warning:acknowledged" in tags
    assert db.session.get(SecurityWarning, warning.id).acknowledged_by_id == city.id
