"""Two delivery runs at the same moment never send one message twice.

Committed for real, from two threads with their own connections, in a database of its own
(the savepoint-per-test fixture cannot show what another connection sees).
"""

from __future__ import annotations

import threading

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from portal import create_app
from portal.config import config_for_tests
from portal.extensions import db
from portal.notifications import worker
from portal.notifications.models import OutboxMessage, OutboxState
from portal.notifications.service import enqueue_email
from tests.conftest import fresh_database_url
from tests.smtp import SmtpServer

MESSAGES = 12


@pytest.fixture
def committed(tmp_path_factory, monkeypatch):
    smtp = SmtpServer(delay=0.02)
    app = create_app(config_for_tests(fresh_database_url(tmp_path_factory, "outbox"), **smtp.config()))
    with app.app_context():
        upgrade()
    monkeypatch.setattr(worker, "BATCH_SIZE", 2)  # many small claims, so the two runs interleave
    smtp.start()
    yield app, smtp
    smtp.stop()
    with app.app_context():
        db.engine.dispose()


def test_two_runs_at_once_send_each_message_exactly_once(committed):
    app, smtp = committed
    with app.app_context():
        for n in range(MESSAGES):
            enqueue_email(f"staff{n}@example.edu.cn", f"通知 {n}", "正文")
        db.session.commit()

    start = threading.Barrier(2)
    reports, errors = [], []

    def run():
        with app.app_context():
            try:
                start.wait(timeout=10)
                reports.append(worker.deliver_due())
            except Exception as error:  # surfaced by the assertion below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    sent_ids = [message_id for report in reports for message_id in report.sent]
    assert len(sent_ids) == len(set(sent_ids)) == MESSAGES
    recipients = sorted(mail["To"] for mail in smtp.received)
    assert recipients == sorted(f"staff{n}@example.edu.cn" for n in range(MESSAGES))
    with app.app_context():
        states = db.session.execute(
            select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
        ).all()
        assert states == [(OutboxState.SENT, MESSAGES)]
