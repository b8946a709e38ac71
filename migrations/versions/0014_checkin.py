"""checkin: check-ins, keys, condition reports, check-outs

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('check_ins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checked_in_by_id', sa.Integer(), nullable=True),
    sa.Column('self_service', sa.Boolean(), nullable=False),
    sa.Column('ack_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_check_ins_assignment_id_assignments')),
    sa.ForeignKeyConstraint(['checked_in_by_id'], ['users.id'], name=op.f('fk_check_ins_checked_in_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_ins')),
    sa.UniqueConstraint('assignment_id', name=op.f('uq_check_ins_assignment_id'))
    )
    with op.batch_alter_table('check_ins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_ins_checked_in_at'), ['checked_in_at'], unique=False)

    op.create_table('check_in_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('check_in_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('room_key', 'mailbox_key', 'access_card', 'wardrobe_key', 'other', name='key_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('issued', 'returned', 'missing', name='key_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('charge_cents', sa.Integer(), nullable=True),
    sa.CheckConstraint("charge_cents IS NULL OR (status = 'missing' AND charge_cents >= 0 AND charge_cents <= 5000000)", name=op.f('ck_check_in_keys_charge_for_missing')),
    sa.ForeignKeyConstraint(['check_in_id'], ['check_ins.id'], name=op.f('fk_check_in_keys_check_in_id_check_ins'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_in_keys')),
    sa.UniqueConstraint('check_in_id', 'kind', 'label', name=op.f('uq_check_in_keys_check_in_id_kind_label'))
    )
    with op.batch_alter_table('check_in_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_in_keys_check_in_id'), ['check_in_id'], unique=False)

    op.create_table('check_in_photos',
    sa.Column('check_in_id', sa.Integer(), nullable=False),
    sa.Column('photo_id', sa.Integer(), nullable=False),
    sa.Column('at_check_out', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['check_in_id'], ['check_ins.id'], name=op.f('fk_check_in_photos_check_in_id_check_ins'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], name=op.f('fk_check_in_photos_photo_id_photos')),
    sa.PrimaryKeyConstraint('check_in_id', 'photo_id', name=op.f('pk_check_in_photos'))
    )
    op.create_table('check_in_report_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('check_in_id', sa.Integer(), nullable=False),
    sa.Column('inventory_item_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('bed', 'desk', 'chair', 'wardrobe', 'air_conditioner', 'water_heater', 'network_point', 'other', name='report_item_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('asset_label', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('condition', sa.Enum('good', 'worn', 'broken', name='report_condition', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('disputed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dispute_note', sa.String(length=500), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.String(length=500), nullable=False),
    sa.Column('check_out_condition', sa.Enum('good', 'worn', 'broken', name='report_check_out_condition', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('check_out_note', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['check_in_id'], ['check_ins.id'], name=op.f('fk_check_in_report_items_check_in_id_check_ins'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inventory_item_id'], ['inventory_items.id'], name=op.f('fk_check_in_report_items_inventory_item_id_inventory_items'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_in_report_items')),
    sa.UniqueConstraint('check_in_id', 'inventory_item_id', name=op.f('uq_check_in_report_items_check_in_id_inventory_item_id'))
    )
    with op.batch_alter_table('check_in_report_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_in_report_items_check_in_id'), ['check_in_id'], unique=False)

    op.create_table('check_outs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('check_in_id', sa.Integer(), nullable=False),
    sa.Column('checked_out_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checked_out_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['check_in_id'], ['check_ins.id'], name=op.f('fk_check_outs_check_in_id_check_ins')),
    sa.ForeignKeyConstraint(['checked_out_by_id'], ['users.id'], name=op.f('fk_check_outs_checked_out_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_outs')),
    sa.UniqueConstraint('check_in_id', name=op.f('uq_check_outs_check_in_id'))
    )
    with op.batch_alter_table('check_outs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_outs_checked_out_at'), ['checked_out_at'], unique=False)

    op.create_table('check_out_damages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('check_out_id', sa.Integer(), nullable=False),
    sa.Column('report_item_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount_cents > 0 AND amount_cents <= 5000000', name=op.f('ck_check_out_damages_sane_amount')),
    sa.ForeignKeyConstraint(['check_out_id'], ['check_outs.id'], name=op.f('fk_check_out_damages_check_out_id_check_outs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_item_id'], ['check_in_report_items.id'], name=op.f('fk_check_out_damages_report_item_id_check_in_report_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_out_damages'))
    )
    with op.batch_alter_table('check_out_damages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_out_damages_check_out_id'), ['check_out_id'], unique=False)


def downgrade():
    with op.batch_alter_table('check_out_damages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_out_damages_check_out_id'))

    op.drop_table('check_out_damages')
    with op.batch_alter_table('check_outs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_outs_checked_out_at'))

    op.drop_table('check_outs')
    with op.batch_alter_table('check_in_report_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_in_report_items_check_in_id'))

    op.drop_table('check_in_report_items')
    op.drop_table('check_in_photos')
    with op.batch_alter_table('check_in_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_in_keys_check_in_id'))

    op.drop_table('check_in_keys')
    with op.batch_alter_table('check_ins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_ins_checked_in_at'))

    op.drop_table('check_ins')
