"""transfer files: an import's upload waiting for its job, an export job's file waiting for its download

Revision ID: 0026
Revises: 0025
"""
from alembic import op
import sqlalchemy as sa


revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'transfer_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_transfer_files_job_id_jobs'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_files')),
        sa.UniqueConstraint('job_id', 'purpose', name='uq_transfer_files_job_purpose'),
    )
    op.create_index(op.f('ix_transfer_files_job_id'), 'transfer_files', ['job_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_transfer_files_job_id'), table_name='transfer_files')
    op.drop_table('transfer_files')
