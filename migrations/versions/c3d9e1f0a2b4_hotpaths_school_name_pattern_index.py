"""hotpaths: the (school_id, name) index serves name-prefix search on PostgreSQL

Outside the C locale PostgreSQL uses a btree index for LIKE 'prefix%' only with a pattern
operator class. SQLite (case_sensitive_like on) already uses the plain index.

Revision ID: c3d9e1f0a2b4
Revises: 5e1a7c0d2b91
Create Date: 2026-11-23 19:50:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3d9e1f0a2b4'
down_revision = '5e1a7c0d2b91'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.drop_index('ix_students_school_id_name')
        batch_op.create_index(
            'ix_students_school_id_name',
            ['school_id', 'name'],
            unique=False,
            postgresql_ops={'name': 'varchar_pattern_ops'},
        )


def downgrade():
    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.drop_index('ix_students_school_id_name')
        batch_op.create_index('ix_students_school_id_name', ['school_id', 'name'], unique=False)
