"""violations: catalogue, records, workflow

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

STATUSES = ("recorded", "notified", "resolved", "appealed", "upheld", "dismissed")


def upgrade():
    op.create_table('violation_types',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('severity', sa.Enum('minor', 'serious', 'grave', name='violation_severity', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violation_types')),
    sa.UniqueConstraint('name', name=op.f('uq_violation_types_name'))
    )
    op.create_table('violations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=True),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('status', sa.Enum(*STATUSES, name='violation_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('appeal_reason', sa.String(length=2000), nullable=True),
    sa.Column('appellant_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(appeal_reason IS NULL) = (appellant_id IS NULL)', name=op.f('ck_violations_appeal_complete')),
    sa.CheckConstraint("status NOT IN ('appealed', 'upheld', 'dismissed') OR appeal_reason IS NOT NULL", name=op.f('ck_violations_appeal_before_decision')),
    sa.ForeignKeyConstraint(['appellant_id'], ['students.id'], name=op.f('fk_violations_appellant_id_students')),
    sa.ForeignKeyConstraint(['building_id'], ['buildings.id'], name=op.f('fk_violations_building_id_buildings')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_violations_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_violations_room_id_rooms')),
    sa.ForeignKeyConstraint(['type_id'], ['violation_types.id'], name=op.f('fk_violations_type_id_violation_types')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violations'))
    )
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_violations_building_id'), ['building_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_violations_occurred_on'), ['occurred_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_violations_room_id'), ['room_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_violations_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_violations_type_id'), ['type_id'], unique=False)

    op.create_table('violation_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('violation_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_violation_comments_author_id_users')),
    sa.ForeignKeyConstraint(['violation_id'], ['violations.id'], name=op.f('fk_violation_comments_violation_id_violations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violation_comments'))
    )
    with op.batch_alter_table('violation_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_violation_comments_violation_id'), ['violation_id'], unique=False)

    op.create_table('violation_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('violation_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum(*STATUSES, name='violation_event_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('note', sa.String(length=2000), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_violation_events_actor_id_users')),
    sa.ForeignKeyConstraint(['violation_id'], ['violations.id'], name=op.f('fk_violation_events_violation_id_violations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_violation_events'))
    )
    with op.batch_alter_table('violation_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_violation_events_violation_id'), ['violation_id'], unique=False)

    op.create_table('violation_photos',
    sa.Column('violation_id', sa.Integer(), nullable=False),
    sa.Column('photo_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], name=op.f('fk_violation_photos_photo_id_photos')),
    sa.ForeignKeyConstraint(['violation_id'], ['violations.id'], name=op.f('fk_violation_photos_violation_id_violations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('violation_id', 'photo_id', name=op.f('pk_violation_photos')),
    sa.UniqueConstraint('photo_id', name=op.f('uq_violation_photos_photo_id'))
    )
    op.create_table('violation_students',
    sa.Column('violation_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_violation_students_student_id_students')),
    sa.ForeignKeyConstraint(['violation_id'], ['violations.id'], name=op.f('fk_violation_students_violation_id_violations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('violation_id', 'student_id', name=op.f('pk_violation_students'))
    )
    with op.batch_alter_table('violation_students', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_violation_students_student_id'), ['student_id'], unique=False)


def downgrade():
    with op.batch_alter_table('violation_students', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_violation_students_student_id'))

    op.drop_table('violation_students')
    op.drop_table('violation_photos')
    with op.batch_alter_table('violation_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_violation_events_violation_id'))

    op.drop_table('violation_events')
    with op.batch_alter_table('violation_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_violation_comments_violation_id'))

    op.drop_table('violation_comments')
    with op.batch_alter_table('violations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_violations_type_id'))
        batch_op.drop_index(batch_op.f('ix_violations_status'))
        batch_op.drop_index(batch_op.f('ix_violations_room_id'))
        batch_op.drop_index(batch_op.f('ix_violations_occurred_on'))
        batch_op.drop_index(batch_op.f('ix_violations_building_id'))

    op.drop_table('violations')
    op.drop_table('violation_types')
