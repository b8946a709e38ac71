"""office pages at scale: the home page's waiting counts read indexes (open disputes, pending requests)

Revision ID: 0028_office_pages
Revises: 0027_curfew_night_index
"""
from alembic import op
import sqlalchemy as sa


revision = "0028_office_pages"
down_revision = "0027_curfew_night_index"
branch_labels = None
depends_on = None

OPEN_DISPUTE = "disputed_at IS NOT NULL AND resolved_at IS NULL"


def upgrade():
    op.create_index('ix_check_in_report_items_open_disputes', 'check_in_report_items', ['check_in_id'],
                    unique=False, postgresql_where=sa.text(OPEN_DISPUTE), sqlite_where=sa.text(OPEN_DISPUTE))
    op.create_index(op.f('ix_access_permissions_status'), 'access_permissions', ['status'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_access_permissions_status'), table_name='access_permissions')
    op.drop_index('ix_check_in_report_items_open_disputes', table_name='check_in_report_items')
