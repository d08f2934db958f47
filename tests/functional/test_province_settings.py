"""The province administrator's page: deadline rules, official calendar days, published years."""

from datetime import date

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role, User
from portal.approvals import engine
from portal.approvals.kinds import register, unregister
from portal.approvals.models import Step
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.orgs.models import OrgUnit
from portal.provinces.models import (
    OfficialCalendarDay,
    ProvinceRule,
    PublishedCalendarYear,
    TimeoutPolicy,
)
from portal.provinces.rules import rule_for
from portal.registry.models import Student
from tests.factories import SchoolThenCountyKind, make_guardian, make_staff, make_student, make_tree
from tests.functional.conftest import post_form, sign_in

SETTINGS = "/admin/province/settings"
KIND = SchoolThenCountyKind.name
BAD_DAYS = "每个环节的工作日数须在1到60之间。"
SAVED = "已保存。"


@pytest.fixture
def province(app):
    register(SchoolThenCountyKind())
    tree = make_tree()
    admin = make_staff(Role.PROVINCE_ADMIN, tree.province, "prov.admin")
    school = make_staff(Role.SCHOOL_REGISTRAR, tree.school, "prov.school")
    make_staff(Role.COUNTY_REGISTRAR, tree.county, "prov.county")
    make_staff(Role.CITY_OFFICER, tree.city, "prov.city")
    make_guardian("13966667777")
    student = make_student(tree.school, school)
    db.session.commit()
    yield {"province": tree.province.id, "admin": admin.id, "school": school.id, "student": student.id}
    unregister(KIND)


def _province_events(prefix: str = "province:") -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.tag.startswith(prefix)).order_by(AuditEvent.id)
        )
    )


def _rules(province_id: int) -> list[ProvinceRule]:
    db.session.expire_all()
    return list(db.session.scalars(select(ProvinceRule).where(ProvinceRule.province_id == province_id)))


def _save_rule(client, days, *, kind="transfer", policy="auto_approve"):
    return post_form(
        client,
        "/admin/province/rules",
        {"kind": kind, "step_working_days": str(days), "timeout_policy": policy},
        form_page=SETTINGS,
    )


def _save_day(client, day: str, *, working: bool = False, note: str = ""):
    return post_form(
        client,
        "/admin/province/calendar/days",
        {"day": day, "is_working_day": "1" if working else "0", "note": note},
        form_page=SETTINGS,
    )


def _publish(client, year):
    return post_form(client, "/admin/province/calendar/years", {"year": str(year)}, form_page=SETTINGS)


# --- The page and its rules -----------------------------------------------------------------


def test_the_province_admin_opens_the_settings_page(client, province):
    sign_in(client, "prov.admin")
    response = client.get(SETTINGS)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "省级设置" in page and "测试省" in page


def test_saving_a_rule_stores_it_and_audits_it(client, province):
    sign_in(client, "prov.admin")
    response = _save_rule(client, 20)
    assert response.status_code == 302 and response.headers["Location"].endswith(SETTINGS)
    assert SAVED in client.get(SETTINGS).get_data(as_text=True)

    [rule] = _rules(province["province"])
    assert (rule.kind, rule.step_working_days, rule.timeout_policy) == ("transfer", 20, "auto_approve")
    assert rule.updated_by_id == province["admin"]
    effective = rule_for(province["province"], "transfer")
    assert effective.step_working_days == 20
    assert effective.timeout_policy is TimeoutPolicy.AUTO_APPROVE

    [event] = _province_events()
    assert event.tag == "province:settings_changed"
    assert event.actor_id == province["admin"]
    assert event.data["kind"] == "transfer"
    assert event.data["after"] == {"days": 20, "policy": "auto_approve"}


def test_changing_a_rule_keeps_before_and_after_in_the_audit(client, province):
    sign_in(client, "prov.admin")
    _save_rule(client, 20)
    _save_rule(client, 15, policy="flag_overdue")
    [rule] = _rules(province["province"])
    assert (rule.step_working_days, rule.timeout_policy) == (15, "flag_overdue")
    second = _province_events()[-1]
    assert second.data["before"] == {"days": 20, "policy": "auto_approve"}
    assert second.data["after"] == {"days": 15, "policy": "flag_overdue"}


def test_an_empty_kind_sets_the_rule_for_every_kind(client, province):
    sign_in(client, "prov.admin")
    assert _save_rule(client, 12, kind="", policy="flag_overdue").status_code == 302
    assert [rule.kind for rule in _rules(province["province"])] == ["*"]
    assert rule_for(province["province"], KIND).step_working_days == 12


@pytest.mark.parametrize("days", [0, 61, -3])
def test_a_bad_number_of_working_days_is_refused_and_stores_nothing(client, province, days):
    sign_in(client, "prov.admin")
    response = _save_rule(client, days)
    assert response.status_code == 400
    assert BAD_DAYS in response.get_data(as_text=True)
    assert _rules(province["province"]) == []
    assert _province_events() == []


def test_the_service_refuses_bad_days_with_a_stable_code(app, province):
    from portal.errors import ValidationFailed
    from portal.provinces.service import set_rule

    admin = db.session.get(User, province["admin"])
    unit = db.session.get(OrgUnit, province["province"])
    for days in (0, 61):
        with pytest.raises(ValidationFailed) as refused:
            set_rule(unit, "transfer", days, TimeoutPolicy.AUTO_APPROVE, admin)
        assert refused.value.code == "province.bad_working_days"
        assert refused.value.status == 400
    assert _rules(province["province"]) == []


def test_the_limits_themselves_are_accepted(client, province):
    sign_in(client, "prov.admin")
    assert _save_rule(client, 1, kind="suspension").status_code == 302
    assert _save_rule(client, 60, kind="withdrawal").status_code == 302
    assert sorted((r.kind, r.step_working_days) for r in _rules(province["province"])) == [
        ("suspension", 1),
        ("withdrawal", 60),
    ]


def test_a_refused_change_leaves_the_stored_rule_as_it_was(client, province):
    sign_in(client, "prov.admin")
    _save_rule(client, 20)
    assert _save_rule(client, 61, policy="flag_overdue").status_code == 400
    [rule] = _rules(province["province"])
    assert (rule.step_working_days, rule.timeout_policy) == (20, "auto_approve")
    assert len(_province_events()) == 1


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"step_working_days": "abc", "timeout_policy": "auto_approve"}, "请输入整数。"),
        ({"step_working_days": "20", "timeout_policy": "approve_everything"}, "超时处理方式无效。"),
    ],
)
def test_malformed_rule_forms_are_refused(client, province, form, message):
    sign_in(client, "prov.admin")
    response = post_form(client, "/admin/province/rules", {"kind": "transfer", **form}, form_page=SETTINGS)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _rules(province["province"]) == []
    assert _province_events() == []


# --- The official calendar ------------------------------------------------------------------


def test_an_official_day_is_stored_and_audited(client, province):
    sign_in(client, "prov.admin")
    response = _save_day(client, "2027-01-01", note="元旦")
    assert response.status_code == 302
    day = db.session.get(OfficialCalendarDay, (province["province"], date(2027, 1, 1)))
    assert day is not None and day.is_working_day is False and day.note == "元旦"
    [event] = _province_events()
    assert event.tag == "province:calendar_day_set" and event.actor_id == province["admin"]
    assert event.data == {"day": "2027-01-01", "is_working_day": False}


def test_a_make_up_working_day_is_stored_as_working(client, province):
    sign_in(client, "prov.admin")
    assert _save_day(client, "2027-02-20", working=True, note="调休").status_code == 302
    day = db.session.get(OfficialCalendarDay, (province["province"], date(2027, 2, 20)))
    assert day.is_working_day is True


def test_an_impossible_date_is_refused_and_stores_nothing(client, province):
    sign_in(client, "prov.admin")
    response = _save_day(client, "2027-02-30")
    assert response.status_code == 400
    assert "请按2015-09-01的格式输入日期。" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(OfficialCalendarDay)) == 0
    assert _province_events() == []


def test_publishing_a_year_computes_the_deadlines_waiting_for_it(client, province):
    student = db.session.get(Student, province["student"])
    requester = db.session.get(User, province["school"])
    # Thursday 24 December 2026: ten working days run into 2027, whose schedule is unknown.
    case = engine.open_case(KIND, student, requester, today=date(2026, 12, 24))
    step_id = case.steps[0].id
    db.session.commit()
    step = db.session.get(Step, step_id)
    assert step.due_on is None and step.due_awaits_calendar_year == 2027

    sign_in(client, "prov.admin")
    assert _save_day(client, "2027-01-01", note="元旦").status_code == 302
    response = _publish(client, 2027)
    assert response.status_code == 302
    assert "已保存。已重新计算1个办理中步骤的期限。" in client.get(SETTINGS).get_data(as_text=True)

    db.session.expire_all()
    step = db.session.get(Step, step_id)
    # 25, 28–31 Dec (5), 1 Jan is a holiday, 4–8 Jan (5 more).
    assert step.due_on == date(2027, 1, 8)
    assert step.due_awaits_calendar_year is None
    assert db.session.get(PublishedCalendarYear, (province["province"], 2027)) is not None
    tags = [event.tag for event in _province_events()]
    assert tags == ["province:calendar_day_set", "province:calendar_year_published"]
    assert all(event.actor_id == province["admin"] for event in _province_events())


def test_publishing_a_year_twice_changes_nothing_more(client, province):
    sign_in(client, "prov.admin")
    assert _publish(client, 2027).status_code == 302
    assert _publish(client, 2027).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(PublishedCalendarYear)) == 1
    assert len(_province_events("province:calendar_year_published")) == 1


def test_a_date_corrected_after_publishing_moves_the_pending_deadlines(client, province):
    student = db.session.get(Student, province["student"])
    requester = db.session.get(User, province["school"])
    case = engine.open_case(KIND, student, requester, today=date(2026, 12, 24))
    step_id = case.steps[0].id
    db.session.commit()
    sign_in(client, "prov.admin")
    _publish(client, 2027)
    db.session.expire_all()
    assert db.session.get(Step, step_id).due_on == date(2027, 1, 7)  # 1 Jan counted as working

    assert _save_day(client, "2027-01-01", note="元旦").status_code == 302
    db.session.expire_all()
    assert db.session.get(Step, step_id).due_on == date(2027, 1, 8)


# --- Who may change the settings ------------------------------------------------------------


@pytest.mark.parametrize("login", ["prov.county", "prov.city", "prov.school", "13966667777"])
def test_other_roles_get_403_and_change_nothing(client, province, login):
    sign_in(client, login)
    assert client.get(SETTINGS).status_code == 403
    token_page = "/children/" if login.isdigit() else "/staff/students"
    posts = [
        (
            "/admin/province/rules",
            {"kind": "transfer", "step_working_days": "20", "timeout_policy": "auto_approve"},
        ),
        ("/admin/province/calendar/days", {"day": "2027-01-01", "is_working_day": "0"}),
        ("/admin/province/calendar/years", {"year": "2027"}),
    ]
    for path, form in posts:
        response = post_form(client, path, form, form_page=token_page)
        assert response.status_code == 403, path
        assert "您无权进行此操作。" in response.get_data(as_text=True)
    assert _rules(province["province"]) == []
    assert db.session.scalar(select(func.count()).select_from(OfficialCalendarDay)) == 0
    assert db.session.scalar(select(func.count()).select_from(PublishedCalendarYear)) == 0
    assert _province_events() == []


def test_signed_out_visitors_are_sent_to_sign_in(client, province):
    response = client.get(SETTINGS)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


@pytest.mark.parametrize("year", [40000, 1999])
def test_an_implausible_year_is_refused_and_nothing_is_published(client, province, year):
    sign_in(client, "prov.admin")
    response = _publish(client, year)
    assert response.status_code == 400
    assert "只能发布" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PublishedCalendarYear)) == 0


def test_an_unknown_kind_of_request_is_refused_and_stores_nothing(client, province):
    sign_in(client, "prov.admin")
    response = _save_rule(client, 20, kind="tranfser")
    assert response.status_code == 400
    assert "未知的申请类型" in response.get_data(as_text=True)
    assert _rules(province["province"]) == []


def test_rules_show_the_kind_in_the_readers_language(client, province):
    sign_in(client, "prov.admin")
    assert _save_rule(client, 20, kind="transfer").status_code == 302
    page = client.get(SETTINGS).get_data(as_text=True)
    assert "转学" in page and ">transfer<" not in page
