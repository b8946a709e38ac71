"""selection day: colleges' areas (a building or floor per college), a window's zone, and whether students see
the names of who chose a room

Revision ID: 0032_selection_areas
Revises: 0031_run_beds
"""
from alembic import op
import sqlalchemy as sa


revision = "0032_selection_areas"
down_revision = "0031_run_beds"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "selection_areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("college", sa.String(length=120), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["building_id"], ["buildings.id"], ondelete="CASCADE",
                                name=op.f("fk_selection_areas_building_id_buildings")),
        sa.ForeignKeyConstraint(["event_id"], ["selection_events.id"], ondelete="CASCADE",
                                name=op.f("fk_selection_areas_event_id_selection_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selection_areas")),
        sa.UniqueConstraint("event_id", "college", "building_id", "floor",
                            name=op.f("uq_selection_areas_event_id_college_building_id_floor")),
    )
    op.create_index(op.f("ix_selection_areas_event_id"), "selection_areas", ["event_id"])
    op.create_index(op.f("ix_selection_areas_building_id"), "selection_areas", ["building_id"])
    with op.batch_alter_table("selection_windows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("campus_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_selection_windows_campus_id"), ["campus_id"])
        batch_op.create_foreign_key(batch_op.f("fk_selection_windows_campus_id_campuses"), "campuses",
                                    ["campus_id"], ["id"])
    with op.batch_alter_table("selection_events", schema=None) as batch_op:
        # Events made before this migration hide names, as a new one does unless the office says otherwise.
        batch_op.add_column(sa.Column("roommate_names", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("selection_events", schema=None) as batch_op:
        batch_op.drop_column("roommate_names")
    with op.batch_alter_table("selection_windows", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_selection_windows_campus_id_campuses"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_selection_windows_campus_id"))
        batch_op.drop_column("campus_id")
    op.drop_index(op.f("ix_selection_areas_building_id"), table_name="selection_areas")
    op.drop_index(op.f("ix_selection_areas_event_id"), table_name="selection_areas")
    op.drop_table("selection_areas")
