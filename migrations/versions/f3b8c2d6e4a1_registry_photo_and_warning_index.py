"""photo: the student registry photo (a content hash into the evidence storage), the
province's "the photo is a key field" setting, and the index the early-warning rules need
(audit events of a few tags within a time window)

audit_events is the largest table and every request writes to it: on a big production
database, build the index beforehand without blocking writes
(`CREATE INDEX CONCURRENTLY ix_audit_events_tag_at ON audit_events (tag, at)`); this migration
then finds it there (IF NOT EXISTS). The migrations run in one transaction (migrations/env.py),
where CONCURRENTLY is not allowed.

Revision ID: f3b8c2d6e4a1
Revises: b9e1d3f5a7c2
Create Date: 2026-11-23 21:50:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f3b8c2d6e4a1'
down_revision = 'b9e1d3f5a7c2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photo_sha256', sa.String(length=64), nullable=True))
    op.create_table('province_correction_settings',
    sa.Column('province_id', sa.Integer(), nullable=False),
    sa.Column('photo_is_key', sa.Boolean(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['province_id'], ['org_units.id'], name=op.f('fk_province_correction_settings_province_id_org_units')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_province_correction_settings_updated_by_id_users')),
    sa.PrimaryKeyConstraint('province_id', name=op.f('pk_province_correction_settings'))
    )
    op.create_index('ix_audit_events_tag_at', 'audit_events', ['tag', 'at'], if_not_exists=True)


def downgrade():
    op.drop_index('ix_audit_events_tag_at', table_name='audit_events')
    op.drop_table('province_correction_settings')
    with op.batch_alter_table('students', schema=None) as batch_op:
        batch_op.drop_column('photo_sha256')
