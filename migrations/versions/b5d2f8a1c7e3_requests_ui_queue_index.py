"""requests-ui: the approval queue reads one index (a unit's steps in one state, soonest due
first); steps carry their case's kind so the queue counts per kind without reading cases

Revision ID: b5d2f8a1c7e3
Revises: 293d726b3b58
Create Date: 2026-11-23 19:35:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b5d2f8a1c7e3'
down_revision = '293d726b3b58'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=30), nullable=True))
    op.execute("UPDATE steps SET kind = (SELECT cases.kind FROM cases WHERE cases.id = steps.case_id)")
    with op.batch_alter_table('steps', schema=None) as batch_op:
        batch_op.create_index(
            'ix_steps_unit_state_due',
            ['org_unit_id', 'state', 'due_on', 'id'],
            unique=False,
            postgresql_include=['kind', 'overdue_since'],
        )


def downgrade():
    with op.batch_alter_table('steps', schema=None) as batch_op:
        batch_op.drop_index('ix_steps_unit_state_due')
        batch_op.drop_column('kind')
