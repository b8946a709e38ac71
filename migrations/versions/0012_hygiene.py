"""hygiene: inspection rounds, checklist, room scores

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hygiene_checklist_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('max_points', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint('max_points > 0 AND max_points <= 100', name=op.f('ck_hygiene_checklist_items_max_in_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hygiene_checklist_items'))
    )
    with op.batch_alter_table('hygiene_checklist_items', schema=None) as batch_op:
        batch_op.create_index('uq_hygiene_checklist_items_active_name', ['name'], unique=True,
                              sqlite_where=sa.text('active'), postgresql_where=sa.text('active'))
    op.create_table('hygiene_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('excellent_min', sa.Integer(), nullable=False),
    sa.Column('pass_min', sa.Integer(), nullable=False),
    sa.CheckConstraint('pass_min > 0 AND pass_min < excellent_min AND excellent_min <= 100', name=op.f('ck_hygiene_settings_bands_in_order')),
    sa.CheckConstraint('id = 1', name=op.f('ck_hygiene_settings_one_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hygiene_settings'))
    )
    op.create_table('hygiene_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspected_on', sa.Date(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('status', sa.Enum('open', 'closed', name='hygiene_round_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_hygiene_rounds_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hygiene_rounds'))
    )
    with op.batch_alter_table('hygiene_rounds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hygiene_rounds_inspected_on'), ['inspected_on'], unique=False)

    op.create_table('hygiene_round_buildings',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_hygiene_round_buildings_building_id_buildings')),
    sa.ForeignKeyConstraint(['round_id'], ['hygiene_rounds.id'], name=op.f('fk_hygiene_round_buildings_round_id_hygiene_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', 'building_id', name=op.f('pk_hygiene_round_buildings'))
    )
    op.create_table('hygiene_round_inspectors',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['hygiene_rounds.id'], name=op.f('fk_hygiene_round_inspectors_round_id_hygiene_rounds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_hygiene_round_inspectors_user_id_users')),
    sa.PrimaryKeyConstraint('round_id', 'user_id', name=op.f('pk_hygiene_round_inspectors'))
    )
    op.create_table('hygiene_inspections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('absent', sa.Boolean(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('inspected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('inspected_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(absent AND total IS NULL) OR (NOT absent AND total IS NOT NULL)', name=op.f('ck_hygiene_inspections_absent_has_no_total')),
    sa.CheckConstraint('total IS NULL OR (total >= 0 AND total <= 100)', name=op.f('ck_hygiene_inspections_total_in_range')),
    sa.ForeignKeyConstraint(['inspected_by_id'], ['users.id'], name=op.f('fk_hygiene_inspections_inspected_by_id_users')),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_hygiene_inspections_room_id_rooms')),
    sa.ForeignKeyConstraint(['round_id'], ['hygiene_rounds.id'], name=op.f('fk_hygiene_inspections_round_id_hygiene_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hygiene_inspections')),
    sa.UniqueConstraint('round_id', 'room_id', name='uq_hygiene_inspections_round_room')
    )
    with op.batch_alter_table('hygiene_inspections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hygiene_inspections_room_id'), ['room_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hygiene_inspections_round_id'), ['round_id'], unique=False)

    op.create_table('hygiene_inspection_residents',
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('class_name', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['hygiene_inspections.id'], name=op.f('fk_hygiene_inspection_residents_inspection_id_hygiene_inspections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_hygiene_inspection_residents_student_id_students')),
    sa.PrimaryKeyConstraint('inspection_id', 'student_id', name=op.f('pk_hygiene_inspection_residents'))
    )
    with op.batch_alter_table('hygiene_inspection_residents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hygiene_inspection_residents_class_name'), ['class_name'], unique=False)

    op.create_table('hygiene_item_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('item_name', sa.String(length=60), nullable=False),
    sa.Column('max_points', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.CheckConstraint('max_points > 0', name=op.f('ck_hygiene_item_scores_max_positive')),
    sa.CheckConstraint('points >= 0 AND points <= max_points', name=op.f('ck_hygiene_item_scores_points_within_max')),
    sa.ForeignKeyConstraint(['inspection_id'], ['hygiene_inspections.id'], name=op.f('fk_hygiene_item_scores_inspection_id_hygiene_inspections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['hygiene_checklist_items.id'], name=op.f('fk_hygiene_item_scores_item_id_hygiene_checklist_items'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hygiene_item_scores')),
    sa.UniqueConstraint('inspection_id', 'item_id', name='uq_hygiene_item_scores_inspection_item')
    )
    with op.batch_alter_table('hygiene_item_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hygiene_item_scores_inspection_id'), ['inspection_id'], unique=False)



def downgrade():
    with op.batch_alter_table('hygiene_item_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hygiene_item_scores_inspection_id'))

    op.drop_table('hygiene_item_scores')
    with op.batch_alter_table('hygiene_inspection_residents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hygiene_inspection_residents_class_name'))

    op.drop_table('hygiene_inspection_residents')
    with op.batch_alter_table('hygiene_inspections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hygiene_inspections_round_id'))
        batch_op.drop_index(batch_op.f('ix_hygiene_inspections_room_id'))

    op.drop_table('hygiene_inspections')
    op.drop_table('hygiene_round_inspectors')
    op.drop_table('hygiene_round_buildings')
    with op.batch_alter_table('hygiene_rounds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hygiene_rounds_inspected_on'))

    op.drop_table('hygiene_rounds')
    op.drop_table('hygiene_settings')
    op.drop_table('hygiene_checklist_items')
