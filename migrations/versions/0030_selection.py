"""selection day: events, their time windows, participants, offered beds and picks

Revision ID: 0030_selection
Revises: 0029_people_search
"""
from alembic import op
import sqlalchemy as sa


revision = "0030_selection"
down_revision = "0029_people_search"
branch_labels = None
depends_on = None

LIVE_PICK = "status IN ('held', 'confirmed')"


def upgrade():
    op.create_table(
        "selection_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("rehearsal_of_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.Enum("draft", "open", "paused", "closed", name="selection_event_status",
                                    native_enum=False, create_constraint=True, length=16), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("hold_seconds", sa.Integer(), nullable=False),
        sa.Column("change_limit", sa.Integer(), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("hold_seconds BETWEEN 30 AND 3600", name=op.f("ck_selection_events_hold_seconds_bounded")),
        sa.CheckConstraint("change_limit BETWEEN 0 AND 10", name=op.f("ck_selection_events_change_limit_bounded")),
        sa.ForeignKeyConstraint(["rehearsal_of_id"], ["selection_events.id"], ondelete="CASCADE",
                                name=op.f("fk_selection_events_rehearsal_of_id_selection_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selection_events")),
    )
    op.create_table(
        "selection_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("college", sa.String(length=120), nullable=True),
        sa.Column("class_name", sa.String(length=120), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("gender", sa.Enum("M", "F", name="gender", native_enum=False, create_constraint=True, length=16),
                  nullable=True),
        sa.Column("batch_size", sa.Integer(), nullable=False),
        sa.Column("batch_minutes", sa.Integer(), nullable=False),
        sa.CheckConstraint("batch_size >= 0 AND batch_minutes >= 0",
                           name=op.f("ck_selection_windows_batches_not_negative")),
        sa.ForeignKeyConstraint(["event_id"], ["selection_events.id"], ondelete="CASCADE",
                                name=op.f("fk_selection_windows_event_id_selection_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selection_windows")),
    )
    op.create_index(op.f("ix_selection_windows_event_id"), "selection_windows", ["event_id"])
    op.create_table(
        "selection_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("window_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changes_used", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["selection_events.id"], ondelete="CASCADE",
                                name=op.f("fk_selection_participants_event_id_selection_events")),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"],
                                name=op.f("fk_selection_participants_student_id_students")),
        sa.ForeignKeyConstraint(["window_id"], ["selection_windows.id"], ondelete="SET NULL",
                                name=op.f("fk_selection_participants_window_id_selection_windows")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selection_participants")),
        sa.UniqueConstraint("event_id", "student_id", name=op.f("uq_selection_participants_event_id_student_id")),
    )
    op.create_index(op.f("ix_selection_participants_student_id"), "selection_participants", ["student_id"])
    op.create_index(op.f("ix_selection_participants_window_id"), "selection_participants", ["window_id"])
    op.create_table(
        "selection_offers",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("bed_id", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["bed_id"], ["beds.id"], name=op.f("fk_selection_offers_bed_id_beds")),
        sa.ForeignKeyConstraint(["event_id"], ["selection_events.id"], ondelete="CASCADE",
                                name=op.f("fk_selection_offers_event_id_selection_events")),
        sa.PrimaryKeyConstraint("event_id", "bed_id", name=op.f("pk_selection_offers")),
    )
    op.create_index(op.f("ix_selection_offers_bed_id"), "selection_offers", ["bed_id"])
    op.create_table(
        "selection_picks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("bed_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.Enum("held", "confirmed", "cancelled", "expired", name="selection_pick_status",
                                    native_enum=False, create_constraint=True, length=16), nullable=False),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("chosen_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status <> 'held' OR held_until IS NOT NULL", name=op.f("ck_selection_picks_held_until_set")),
        sa.ForeignKeyConstraint(["event_id", "bed_id"], ["selection_offers.event_id", "selection_offers.bed_id"],
                                ondelete="CASCADE", name="fk_selection_picks_offer"),
        sa.ForeignKeyConstraint(["event_id", "student_id"],
                                ["selection_participants.event_id", "selection_participants.student_id"],
                                ondelete="CASCADE", name="fk_selection_picks_participant"),
        sa.ForeignKeyConstraint(["chosen_by_id"], ["students.id"], name=op.f("fk_selection_picks_chosen_by_id_students")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_selection_picks")),
    )
    op.create_index(op.f("ix_selection_picks_event_id"), "selection_picks", ["event_id"])
    op.create_index(op.f("ix_selection_picks_group_id"), "selection_picks", ["group_id"])
    op.create_index(op.f("ix_selection_picks_student_id"), "selection_picks", ["student_id"])
    op.create_index("uq_selection_picks_live_bed", "selection_picks", ["event_id", "bed_id"], unique=True,
                    sqlite_where=sa.text(LIVE_PICK), postgresql_where=sa.text(LIVE_PICK))
    op.create_index("uq_selection_picks_held_student", "selection_picks", ["event_id", "student_id"], unique=True,
                    sqlite_where=sa.text("status = 'held'"), postgresql_where=sa.text("status = 'held'"))
    op.create_index("uq_selection_picks_confirmed_student", "selection_picks", ["event_id", "student_id"],
                    unique=True, sqlite_where=sa.text("status = 'confirmed'"),
                    postgresql_where=sa.text("status = 'confirmed'"))


def downgrade():
    op.drop_table("selection_picks")
    op.drop_table("selection_offers")
    op.drop_table("selection_participants")
    op.drop_table("selection_windows")
    op.drop_table("selection_events")
