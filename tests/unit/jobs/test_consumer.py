"""A real Huey consumer, against Redis database 1, runs a task the portal queued."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from flask_migrate import upgrade
from huey import RedisHuey
from sqlalchemy import select

from portal import create_app
from portal.config import ROOT, config_for_tests
from portal.extensions import db
from portal.jobs import huey
from portal.notifications.models import OutboxMessage, OutboxState
from portal.notifications.service import enqueue_email
from portal.notifications.worker import deliver_outbox
from tests.conftest import fresh_database_url
from tests.smtp import SmtpServer

# This suite's own Redis database (only it is flushed); TEST_REDIS_URL gives each engineer their own.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/1")


@pytest.fixture
def redis_db():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("CI") == "true":
            pytest.fail("Redis is not running on 127.0.0.1:6379 and CI requires it (see .ci/run)")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def portal_db(tmp_path_factory):
    url = fresh_database_url(tmp_path_factory, "consumer")
    app = create_app(config_for_tests(url))
    with app.app_context():
        upgrade()
    yield app, url
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def consumer(redis_db, portal_db, tmp_path):
    """`huey_consumer portal.jobs.worker.huey` as `make run` starts it, minus the periodic tasks."""
    _, url = portal_db
    smtp = SmtpServer()
    smtp.start()
    env = {
        **os.environ,
        "JOBS_URL": REDIS_URL,
        "DATABASE_URL": url,
        "SECRET_KEY": "consumer-test",
        "PORTAL_INSTANCE_DIR": str(tmp_path),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMS_SENDER": "null",
    }
    log = (tmp_path / "consumer.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "huey_consumer"), "portal.jobs.worker.huey", "--no-periodic"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield smtp, tmp_path / "consumer.log"
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()
    smtp.stop()


@pytest.fixture
def queue_to_redis():
    """Point the portal's Huey at Redis database 1 for this test (the suite queues in memory)."""
    memory = huey.storage
    huey.storage = RedisHuey("xueji", url=REDIS_URL).storage
    yield
    huey.storage = memory


def test_the_consumer_runs_a_queued_delivery(portal_db, consumer, queue_to_redis):
    app, _ = portal_db
    smtp, log = consumer
    with app.app_context():
        enqueue_email("registrar@example.edu.cn", "待办提醒", "您单位有 2 项待审批事项。")
        db.session.commit()

    deliver_outbox()  # what the after-commit kick does in production (the consumer runs no periodics)

    received = smtp.wait_for(1, timeout=30)
    assert [mail["To"] for mail in received] == ["registrar@example.edu.cn"], log.read_text()
    # The consumer marks the message sent after the mail server took it: on a loaded machine
    # that commit may come a moment after the mail arrives.
    assert _state_becomes(app, OutboxState.SENT, within=15), log.read_text()


def _state_becomes(app, state: OutboxState, within: float) -> bool:
    deadline = time.monotonic() + within
    while True:
        with app.app_context():
            if db.session.scalar(select(OutboxMessage.state)) == state:
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
