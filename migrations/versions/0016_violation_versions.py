"""violation versions: a version column on violations, as repair tickets have

Two people moving one record at once (staff resolving it, the student appealing) cannot both win:
an UPDATE applies only to the version that was read. Existing records start at version 1.

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
    # The default was only for the rows already there: the application numbers versions itself.
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.alter_column('version', server_default=None)


def downgrade():
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.drop_column('version')
