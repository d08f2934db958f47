"""Alembic environment: the portal's own engine and metadata.

Logging is left to the portal (no fileConfig here): alembic.ini's logging section would
replace the handlers that scrub ID numbers from log lines.
"""

from alembic import context
from flask import current_app

config = context.config
database = current_app.extensions["migrate"].db


def _configure(**options) -> None:
    # configure_args: render_as_batch from portal/web.py, compare_type from Flask-Migrate's defaults.
    context.configure(
        target_metadata=database.metadata,
        **current_app.extensions["migrate"].configure_args | options,
    )


def run_migrations_offline() -> None:
    _configure(url=database.engine.url.render_as_string(hide_password=False), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty_autogenerate(context_, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []

    with database.engine.connect() as connection:
        _configure(connection=connection, process_revision_directives=skip_empty_autogenerate)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
