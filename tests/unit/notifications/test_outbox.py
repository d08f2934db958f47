"""E-mail and SMS leave through the outbox: after the commit, once, even across an SMTP outage."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal import clock
from portal.extensions import db
from portal.notifications.models import OutboxMessage, OutboxState
from portal.notifications.senders import sms_sender
from portal.notifications.service import PersonalNumberInMessage, enqueue_email, enqueue_sms
from portal.notifications.worker import deliver_due, retry_delay
from portal.registry.documents import Gender
from portal.registry.synthetic import make_resident_id


def _states() -> dict[int, str]:
    return dict(db.session.execute(select(OutboxMessage.id, OutboxMessage.state)).all())


def test_email_reaches_a_real_smtp_server(app, smtp):
    smtp.start()
    enqueue_email("registrar@example.edu.cn", "待办提醒", "您单位有 3 项待审批事项。")
    db.session.commit()

    report = deliver_due()

    assert len(report.sent) == 1
    [mail] = smtp.received
    assert mail["To"] == "registrar@example.edu.cn"
    assert mail["Subject"] == "待办提醒"
    assert "3 项待审批事项" in mail.get_content()
    assert _states() == {report.sent[0]: OutboxState.SENT}


def test_smtp_down_nothing_lost_every_mail_sent_once_back_none_twice(app, smtp):
    for n in range(3):
        enqueue_email(f"staff{n}@example.edu.cn", f"通知 {n}", "正文")
    db.session.commit()

    down = deliver_due()  # nothing listens on the port yet
    assert down.sent == [] and len(down.retrying) == 3
    assert set(_states().values()) == {OutboxState.PENDING}
    assert deliver_due().sent == []  # not due again before the backoff has passed

    smtp.start()
    later = clock.now() + retry_delay(1) + timedelta(seconds=1)
    back = deliver_due(now=later)
    again = deliver_due(now=later + timedelta(hours=1))

    assert len(back.sent) == 3 and again.sent == []
    assert sorted(mail["To"] for mail in smtp.received) == [f"staff{n}@example.edu.cn" for n in range(3)]
    assert set(_states().values()) == {OutboxState.SENT}


def test_a_rolled_back_decision_sends_nothing(app, smtp):
    smtp.start()
    enqueue_email("registrar@example.edu.cn", "已批准", "正文")
    db.session.rollback()

    assert deliver_due().sent == []
    assert smtp.received == []


def test_gives_up_after_the_last_attempt_and_operators_see_it(app, smtp):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    try:
        enqueue_email("nobody@example.edu.cn", "主题", "正文")
        db.session.commit()
        first = deliver_due()
        second = deliver_due(now=clock.now() + timedelta(hours=7))
    finally:
        app.config["OUTBOX_MAX_ATTEMPTS"] = 8
    assert len(first.retrying) == 1 and len(second.failed) == 1
    message = db.session.scalar(select(OutboxMessage))
    assert (message.state, message.attempts) == (OutboxState.FAILED, 2)
    assert "ConnectionRefusedError" in message.last_error

    listing = app.test_cli_runner().invoke(args=["outbox", "list", "--state", "failed"])
    assert f"{message.id}\temail\tnobody@example.edu.cn\tattempts=2" in listing.output


def test_backoff_doubles_and_is_capped():
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
    assert retry_delay(30) == timedelta(hours=6)


def test_sms_goes_to_the_configured_sender(app):
    enqueue_sms("13800138000", "【学籍服务门户】转学申请已通过。")
    db.session.commit()
    sender = sms_sender()
    sender.sent.clear()

    assert len(deliver_due().sent) == 1
    assert sender.sent == [("13800138000", "【学籍服务门户】转学申请已通过。")]


def test_the_console_sender_never_logs_the_full_mobile_number(app, caplog):
    app.config["SMS_SENDER"] = "console"
    try:
        enqueue_sms("13800138000", "申请已通过。")
        db.session.commit()
        with caplog.at_level(logging.INFO, logger="portal.notifications.senders"):
            assert len(deliver_due().sent) == 1
    finally:
        app.config["SMS_SENDER"] = "null"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "138****8000" in logged and "13800138000" not in logged


RESIDENT_ID = make_resident_id("340102", date(2015, 5, 1), 21, Gender.MALE)


@pytest.mark.parametrize(
    "text",
    [
        f"身份证号 {RESIDENT_ID}",
        f"学籍号G{RESIDENT_ID}",
        f"L{RESIDENT_ID[:-1]}0 已转出",
        "请致电 13912345678",
    ],
)
def test_messages_carrying_personal_numbers_are_refused(app, text):
    with pytest.raises(PersonalNumberInMessage):
        enqueue_sms("13800138000", text)
    with pytest.raises(PersonalNumberInMessage):
        enqueue_email("a@example.edu.cn", text, "正文")
    with pytest.raises(PersonalNumberInMessage):
        enqueue_email("a@example.edu.cn", "主题", text)
    assert db.session.scalar(select(OutboxMessage)) is None


def test_ordinary_numbers_pass_the_guard(app):
    enqueue_sms("13800138000", "您有 2 项申请，截止 2026 年 12 月 31 日，共 20 个工作日。")
    assert db.session.scalar(select(OutboxMessage)).body.startswith("您有 2 项申请")
