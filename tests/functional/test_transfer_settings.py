"""The province administrator sets the transfer route order, provincial step and windows."""

from datetime import date

from sqlalchemy import select

from portal.accounts.models import Role
from portal.extensions import db
from portal.provinces.models import TransferPeriod, TransferSetting
from portal.transfers.windows import windows_of
from tests.factories import make_staff, make_tree
from tests.functional.conftest import post_form, sign_in

SETTINGS = "/admin/province/settings"


def test_the_admin_sets_route_and_windows_as_dates_or_working_days(app, client):
    tree = make_tree()
    make_staff(Role.PROVINCE_ADMIN, tree.province, "prov.admin")
    province_id = tree.province.id
    db.session.commit()
    sign_in(client, "prov.admin")
    assert "转学办理期" in client.get(SETTINGS).get_data(as_text=True)
    answer = post_form(
        client,
        "/admin/province/transfers",
        {
            "route_order": "county_first",
            "provincial_step": "1",
            "window_mode": "term_working_days",
            "window_working_days": "20",
        },
        form_page=SETTINGS,
    )
    assert answer.status_code == 302
    setting = db.session.get(TransferSetting, province_id)
    assert (setting.route_order, setting.provincial_step, setting.window_mode) == (
        "county_first",
        True,
        "term_working_days",
    )
    post_form(
        client,
        "/admin/province/transfers/periods",
        {"kind": "term", "starts_on": "2025-09-01", "ends_on": "2026-01-16"},
        form_page=SETTINGS,
    )
    assert windows_of(province_id)[0] == (date(2025, 9, 1), date(2025, 9, 26))
    page = client.get(SETTINGS).get_data(as_text=True)
    assert "2025年9月26日" in page  # the computed window is shown
    refused = post_form(
        client,
        "/admin/province/transfers/periods",
        {"kind": "window", "starts_on": "2025-09-10", "ends_on": "2025-09-01"},
        form_page=SETTINGS,
    )
    assert refused.status_code == 400
    period_id = db.session.scalar(select(TransferPeriod.id).where(TransferPeriod.province_id == province_id))
    post_form(client, f"/admin/province/transfers/periods/{period_id}/delete", {}, form_page=SETTINGS)
    assert db.session.get(TransferPeriod, period_id) is None
