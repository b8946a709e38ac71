"""allocation runs limited to some beds: the only free beds a run may give (selection day's offer)

Revision ID: 0031_run_beds
Revises: 0030_selection
"""
from alembic import op
import sqlalchemy as sa


revision = "0031_run_beds"
down_revision = "0030_selection"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("allocation_runs", schema=None) as batch_op:
        # Runs made before this migration could give any bed.
        batch_op.add_column(sa.Column("bed_ids", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade():
    with op.batch_alter_table("allocation_runs", schema=None) as batch_op:
        batch_op.drop_column("bed_ids")
