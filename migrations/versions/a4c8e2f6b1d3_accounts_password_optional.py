"""accounts: a guardian may sign up with a passkey alone, so users.password_hash may be empty

Revision ID: a4c8e2f6b1d3
Revises: d7e2a9b4c1f0
Create Date: 2026-11-23 22:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4c8e2f6b1d3'
down_revision = 'd7e2a9b4c1f0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.alter_column('password_hash', existing_type=sa.String(length=200), nullable=True)


def downgrade():
    # Not reversible once a password-less account exists: those accounts would lose their way in.
    with op.batch_alter_table('users') as batch_op:
        batch_op.alter_column('password_hash', existing_type=sa.String(length=200), nullable=False)
