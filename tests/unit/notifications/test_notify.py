"""notify(): an inbox row for everyone, SMS to guardians, e-mail to staff with an address."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.accounts.models import Role
from portal.extensions import db
from portal.notifications.messages import register_message
from portal.notifications.models import Channel, InboxMessage, OutboxMessage
from portal.notifications.service import PersonalNumberInMessage, notify, render
from tests.factories import make_guardian, make_staff, make_tree

# A kind this test registers for itself; its texts are existing catalog entries so that
# both languages can be checked without adding test strings to the catalog.
KIND = register_message(
    "tests.pending",
    subject=_l("Requests waiting for your unit"),
    body=_l("%(count)s requests are waiting for a decision by your unit. Please review them in the portal."),
)


def _outbox() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_guardian_gets_an_inbox_message_and_an_sms_in_chinese(app):
    guardian = make_guardian("13600000001")

    notify(guardian, KIND.code, url="/children/", count=2)

    inbox = db.session.scalar(select(InboxMessage))
    assert (inbox.recipient_id, inbox.kind, inbox.params, inbox.url) == (
        guardian.id,
        "tests.pending",
        {"count": 2},
        "/children/",
    )
    [sms] = _outbox()
    assert (sms.channel, sms.recipient) == (Channel.SMS, "13600000001")
    assert sms.body == "【学籍服务门户】待办审批提醒：贵单位有 2 项申请待审批，请登录门户及时办理。"


def test_staff_with_an_address_get_an_e_mail_with_the_link(app):
    tree = make_tree()
    registrar = make_staff(Role.SCHOOL_REGISTRAR, tree.school)
    registrar.email = "registrar@example.edu.cn"

    notify(registrar, KIND.code, url="/staff/students", count=5)

    [mail] = _outbox()
    assert (mail.channel, mail.recipient, mail.subject) == (
        Channel.EMAIL,
        "registrar@example.edu.cn",
        "待办审批提醒",
    )
    assert mail.body.endswith("\n\nhttp://localhost:5000/staff/students")


def test_staff_without_an_address_get_the_inbox_message_only(app):
    registrar = make_staff(Role.SCHOOL_REGISTRAR, make_tree().school)
    notify(registrar, KIND.code, count=1)
    assert _outbox() == []
    assert db.session.scalar(select(InboxMessage.recipient_id)) == registrar.id


def test_the_inbox_speaks_the_readers_language(app):
    guardian = make_guardian()
    notify(guardian, KIND.code, count=3)
    message = db.session.scalar(select(InboxMessage))
    with force_locale("en"):
        assert render(message) == (
            "Requests waiting for your unit",
            "3 requests are waiting for a decision by your unit. Please review them in the portal.",
        )
    with force_locale("zh_Hans"):
        assert render(message)[0] == "待办审批提醒"


def test_parameters_carrying_an_id_number_are_refused_and_nothing_is_written(app):
    guardian = make_guardian()
    with pytest.raises(PersonalNumberInMessage):
        notify(guardian, KIND.code, count="G340102201505010214")
    assert db.session.scalar(select(InboxMessage)) is None
    assert _outbox() == []


def test_unknown_kinds_and_conflicting_registrations_are_bugs(app):
    with pytest.raises(LookupError):
        notify(make_guardian(), "tests.never_registered")
    assert register_message("tests.pending", subject=KIND.subject, body=KIND.body) == KIND
    with pytest.raises(ValueError):
        register_message("tests.pending", subject=KIND.subject, body=_l("Messages"))
