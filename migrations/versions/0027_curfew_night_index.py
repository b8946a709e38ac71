"""curfew nights by status: night_statuses indexed on (night, status) instead of night alone

Revision ID: 0027_curfew_night_index
Revises: 0026
"""
from alembic import op


revision = "0027_curfew_night_index"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_night_statuses_night_status", "night_statuses", ["night", "status"], unique=False)
    op.drop_index("ix_night_statuses_night", table_name="night_statuses")


def downgrade():
    op.create_index("ix_night_statuses_night", "night_statuses", ["night"], unique=False)
    op.drop_index("ix_night_statuses_night_status", table_name="night_statuses")
