"""roommate request numbers: a request keeps the number typed; other_id is empty when it is no one's

A student's form must answer the same for an unknown number as for a known one, so such a request
is saved too (and listed to the student as typed); the allocation ignores it. One request per
number typed replaces one per student named. Existing requests take their student's number.

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('roommate_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('other_number', sa.String(length=32), nullable=True))
    op.execute("UPDATE roommate_requests SET other_number = "
               "(SELECT student_number FROM students WHERE students.id = roommate_requests.other_id)")
    with op.batch_alter_table('roommate_requests', schema=None) as batch_op:
        batch_op.alter_column('other_number', existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column('other_id', existing_type=sa.Integer(), nullable=True)
        batch_op.drop_constraint('uq_roommate_requests_student_id_other_id', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_roommate_requests_student_id_other_number'),
                                          ['student_id', 'other_number'])


def downgrade():
    # Requests naming no one had no place before this revision.
    op.execute("DELETE FROM roommate_requests WHERE other_id IS NULL")
    with op.batch_alter_table('roommate_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_roommate_requests_student_id_other_number'), type_='unique')
        batch_op.create_unique_constraint('uq_roommate_requests_student_id_other_id', ['student_id', 'other_id'])
        batch_op.alter_column('other_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('other_number')
