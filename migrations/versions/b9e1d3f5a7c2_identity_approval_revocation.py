"""identity: who revoked a county's claim approval early, and why

Revision ID: b9e1d3f5a7c2
Revises: a4c8e2f6b1d3
Create Date: 2026-11-23 22:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b9e1d3f5a7c2'
down_revision = 'a4c8e2f6b1d3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('identity_claim_approvals') as batch_op:
        batch_op.add_column(sa.Column('revoked_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('revoked_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            'fk_identity_claim_approvals_revoked_by_id_users', 'users', ['revoked_by_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('identity_claim_approvals') as batch_op:
        batch_op.drop_constraint('fk_identity_claim_approvals_revoked_by_id_users', type_='foreignkey')
        batch_op.drop_column('revoked_reason')
        batch_op.drop_column('revoked_by_id')
