"""jobs and schedules: background work recorded in the database, routine work run once per slot

jobs records each piece of background work (who started it, its arguments, progress, log, outcome);
allocation_runs and directory_runs point at the job that runs them. job_schedules says what runs when,
and job_schedule_slots, unique per (schedule, slot), lets exactly one scheduler run each slot.

Revision ID: 0024
Revises: 0023
"""
from alembic import op
import sqlalchemy as sa


revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


def upgrade():
    op.create_table(
        'job_schedules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=64), nullable=False),
        sa.Column('arguments', sa.JSON(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('every_minutes', sa.Integer(), nullable=True),
        sa.Column('time_of_day', sa.Time(), nullable=True),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('(every_minutes IS NULL) != (time_of_day IS NULL)',
                           name=op.f('ck_job_schedules_interval_or_time')),
        sa.CheckConstraint('every_minutes IS NULL OR every_minutes BETWEEN 1 AND 10080',
                           name=op.f('ck_job_schedules_every_minutes_range')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job_schedules')),
        sa.UniqueConstraint('name', name=op.f('uq_job_schedules_name')),
    )
    op.create_table(
        'jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=64), nullable=False),
        sa.Column('arguments', sa.JSON(), nullable=False),
        sa.Column('started_by_id', sa.Integer(), nullable=True),
        sa.Column('schedule_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.Enum(*JOB_STATUSES, name='job_status', native_enum=False, create_constraint=True,
                                    length=16), nullable=False),
        sa.Column('progress', sa.Integer(), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('log', sa.Text(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('worker', sa.String(length=128), nullable=True),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('retry_of_id', sa.Integer(), nullable=True),
        sa.Column('queue_job_id', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['retry_of_id'], ['jobs.id'], name=op.f('fk_jobs_retry_of_id_jobs')),
        sa.ForeignKeyConstraint(['schedule_id'], ['job_schedules.id'], name=op.f('fk_jobs_schedule_id_job_schedules')),
        sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_jobs_started_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    )
    op.create_index(op.f('ix_jobs_status'), 'jobs', ['status'], unique=False)
    op.create_table(
        'job_schedule_slots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('schedule_id', sa.Integer(), nullable=False),
        sa.Column('slot', sa.DateTime(timezone=True), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=True),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_job_schedule_slots_job_id_jobs'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['schedule_id'], ['job_schedules.id'],
                                name=op.f('fk_job_schedule_slots_schedule_id_job_schedules'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job_schedule_slots')),
        sa.UniqueConstraint('schedule_id', 'slot', name='uq_job_schedule_slots_schedule_slot'),
    )
    for table in ('allocation_runs', 'directory_runs'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('job_id', sa.Integer(), nullable=True))
            batch_op.create_foreign_key(batch_op.f(f'fk_{table}_job_id_jobs'), 'jobs', ['job_id'], ['id'],
                                        ondelete='SET NULL')


def downgrade():
    for table in ('directory_runs', 'allocation_runs'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'fk_{table}_job_id_jobs'), type_='foreignkey')
            batch_op.drop_column('job_id')
    op.drop_table('job_schedule_slots')
    op.drop_index(op.f('ix_jobs_status'), table_name='jobs')
    op.drop_table('jobs')
    op.drop_table('job_schedules')
