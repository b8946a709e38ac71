"""notification_attempts: outcome "deferred", a robot that answered it was sent too much

Revision ID: 0025
Revises: 0024
"""
from alembic import op
import sqlalchemy as sa


revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notification_attempts', schema=None) as batch_op:
        batch_op.drop_constraint('outcome', type_='check')  # named by the convention: ck_notification_attempts_outcome
        batch_op.create_check_constraint('outcome', sa.text("outcome IN ('sent', 'failed', 'deferred')"))


def downgrade():
    op.execute("DELETE FROM notification_attempts WHERE outcome = 'deferred'")
    with op.batch_alter_table('notification_attempts', schema=None) as batch_op:
        batch_op.drop_constraint('outcome', type_='check')
        batch_op.create_check_constraint('outcome', sa.text("outcome IN ('sent', 'failed')"))
