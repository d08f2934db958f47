"""The one place that builds the Huey instance from JOBS_URL (the Huey library stays behind it)."""

from __future__ import annotations

import logging
from functools import wraps
from pathlib import Path

from flask import Flask, has_app_context
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey

from portal.config import jobs_url


def build_huey(url: str) -> Huey:
    """`redis://…` in production, `sqlite:///file` embedded (the default), `memory://` for tests."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("xueji", url=url)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey("xueji", filename=str(path))
    if url == "memory://":
        return MemoryHuey("xueji")
    raise ValueError(f"JOBS_URL must start with redis://, sqlite:/// or be memory://, not {url!r}")


huey = build_huey(jobs_url())

_worker_app: Flask | None = None


def _app() -> Flask:
    """The consumer's own app, built once per process from the environment."""
    global _worker_app
    if _worker_app is None:
        from portal import create_app
        from portal.logging_filters import install_log_scrubber

        _worker_app = create_app()
        # huey_consumer logs through its own handler: scrub it too, and print each line once.
        consumer_log = logging.getLogger("huey")
        if consumer_log.handlers:
            install_log_scrubber(consumer_log)
            consumer_log.propagate = False
    return _worker_app


def _in_app_context(func):
    @wraps(func)
    def run(*args, **kwargs):
        if has_app_context():  # immediate mode inside a request or a test
            return func(*args, **kwargs)
        from portal.extensions import db

        with _app().app_context():
            try:
                return func(*args, **kwargs)
            finally:
                db.session.remove()

    return run


def task(**options):
    """Declare a background task: calling it queues the call for the consumer."""
    return lambda func: huey.task(**options)(_in_app_context(func))


def periodic_task(schedule, **options):
    """Declare a task the consumer runs on `schedule` (a `huey.crontab`, in UTC)."""
    return lambda func: huey.periodic_task(schedule, **options)(_in_app_context(func))
