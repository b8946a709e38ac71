"""leaving rule: the office's check-in settings, carried-over check-ins, automatic check-outs

A checked-in student whose bed changes anywhere but the desk is refused (the default) or checked out
automatically; a move then carries the check-in and its keys over to the new bed.

Revision ID: 0019
Revises: 0018
"""
from alembic import op
import sqlalchemy as sa


revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('checkin_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('leaving', sa.Enum('refuse', 'check_out', name='leaving_policy', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('id = 1', name=op.f('ck_checkin_settings_one_row')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_checkin_settings_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_settings'))
    )
    with op.batch_alter_table('check_ins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('carried_from_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_check_ins_carried_from_id_check_ins'), 'check_ins',
                                    ['carried_from_id'], ['id'])
    with op.batch_alter_table('check_outs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('automatic', sa.Boolean(), nullable=False, server_default=sa.false()))
    # The default was only for the rows already there: the application says which are automatic.
    with op.batch_alter_table('check_outs', schema=None) as batch_op:
        batch_op.alter_column('automatic', server_default=None)


def downgrade():
    with op.batch_alter_table('check_outs', schema=None) as batch_op:
        batch_op.drop_column('automatic')
    with op.batch_alter_table('check_ins', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_check_ins_carried_from_id_check_ins'), type_='foreignkey')
        batch_op.drop_column('carried_from_id')
    op.drop_table('checkin_settings')
