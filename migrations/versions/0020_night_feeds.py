"""night feeds: each building's count of door events per night, kept by the rollup (low door data)

Revision ID: 0020
Revises: 0019
"""
from alembic import op
import sqlalchemy as sa


revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'night_feeds',
        sa.Column('night', sa.Date(), nullable=False),
        sa.Column('building', sa.String(length=32), nullable=False),
        sa.Column('events', sa.Integer(), nullable=False),
        sa.Column('last_event', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('night', 'building', name=op.f('pk_night_feeds')),
    )


def downgrade():
    op.drop_table('night_feeds')
