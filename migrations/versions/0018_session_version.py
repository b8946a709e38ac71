"""session version: users.session_version, part of the id sessions and remember cookies carry

Raising it (sign-out, password change, deactivation) turns away every sign-in made before.
Existing accounts start at version 1; their sessions, which carry the bare id, end once.

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa


revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False, server_default='1'))
    # The default was only for the rows already there: the application raises versions itself.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('session_version', server_default=None)


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
