"""One database per test session, migrated with Alembic; a savepoint per test.

TEST_DATABASE_URL points the suite at PostgreSQL; without it, a SQLite file in a
temporary folder is used.
"""

from __future__ import annotations

import os

import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

from portal import create_app
from portal.config import config_for_tests
from portal.extensions import db, limiter
from portal.provinces.rules import forget_shown_calendars

# Jobs queue in memory (portal.jobs reads this when first imported, after this line).
os.environ.setdefault("JOBS_URL", "memory://")


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def fresh_database_url(tmp_path_factory, suffix: str) -> str:
    """An empty database of the suite's kind, for tests that must really commit."""
    suite_url = os.environ.get("TEST_DATABASE_URL")
    if not suite_url:
        return f"sqlite:///{tmp_path_factory.mktemp(suffix) / 'portal.sqlite3'}"
    import psycopg
    from psycopg import sql

    base, name = suite_url.replace("postgresql://", "postgresql+psycopg://", 1).rsplit("/", 1)
    fresh = f"{name}_{suffix}"
    admin = base.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(fresh)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(fresh)))
    return f"{base}/{fresh}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


class FreshContextClient(FlaskClient):
    """Each request gets its own app context (and `g`), as in production.

    Tests hold an app context to call services directly; without this, every request
    in a test would share that context's `g` (the chosen language, the loaded user).
    """

    def open(self, *args, **kwargs):
        outer = _cv_app.get(None)
        if outer is not None:
            outer.pop()
        try:
            return super().open(*args, **kwargs)
        finally:
            if outer is not None:
                outer.push()


@pytest.fixture(scope="session")
def migrated_app(database_url):
    app = create_app(config_for_tests(database_url))
    app.test_client_class = FreshContextClient
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(migrated_app):
    """The app, in an app context, inside a transaction rolled back after the test."""
    app = migrated_app
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        db.session = scoped_session(sessionmaker(bind=connection, join_transaction_mode="create_savepoint"))
        limiter.reset()
        # Per-worker caches of database state: this test's database starts afresh.
        forget_shown_calendars()
        try:
            yield app
        finally:
            db.session.remove()
            db.session = original
            transaction.rollback()
            connection.close()


@pytest.fixture
def client(app):
    return app.test_client()
