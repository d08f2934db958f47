"""The Alembic migrations and the models describe the same schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db


def test_models_and_migrations_do_not_drift(app):
    context = MigrationContext.configure(db.session.connection(), opts={"compare_type": True})
    differences = compare_metadata(context, db.metadata)
    assert differences == []
