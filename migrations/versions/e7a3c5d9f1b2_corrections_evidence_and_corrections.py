"""corrections: evidence (checked, content-addressed uploads), former student numbers (N16)

Revision ID: e7a3c5d9f1b2
Revises: c3d9e1f0a2b4
Create Date: 2026-11-23 19:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7a3c5d9f1b2'
down_revision = 'c3d9e1f0a2b4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'evidence',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content_type', sa.String(length=40), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('uploader_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.ForeignKeyConstraint(['uploader_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_uploader_id'), ['uploader_id'], unique=False)

    op.create_table(
        'former_student_numbers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('student_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=19), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('replaced_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
        sa.ForeignKeyConstraint(['student_id'], ['students.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('number'),
    )
    with op.batch_alter_table('former_student_numbers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_former_student_numbers_student_id'), ['student_id'], unique=False)


def downgrade():
    with op.batch_alter_table('former_student_numbers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_former_student_numbers_student_id'))
    op.drop_table('former_student_numbers')
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_uploader_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_sha256'))
    op.drop_table('evidence')
