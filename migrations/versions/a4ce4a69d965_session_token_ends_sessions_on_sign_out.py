"""session token ends sessions on sign-out

Revision ID: a4ce4a69d965
Revises: a7be515cf2d4
Create Date: 2026-11-22 20:10:23.552447

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4ce4a69d965'
down_revision = 'a7be515cf2d4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=32), nullable=True))
    # Every existing account gets its own token; sessions made before this are ended.
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('session_token', sa.String))
    connection = op.get_bind()
    ids = [row.id for row in connection.execute(sa.select(users.c.id))]
    if ids:
        connection.execute(
            users.update().where(users.c.id == sa.bindparam('user_id'))
            .values(session_token=sa.bindparam('token')),
            [{'user_id': user_id, 'token': secrets.token_hex(16)} for user_id in ids],
        )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('session_token', existing_type=sa.String(length=32), nullable=False)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_token')
