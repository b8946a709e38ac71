"""student search indexes: a student number by its start, a name by any part (PostgreSQL; SQLite reads the table)

Revision ID: 0029_people_search
Revises: 0028_office_pages
"""
from alembic import op
import sqlalchemy as sa


revision = "0029_people_search"
down_revision = "0028_office_pages"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    # pg_trgm ships with PostgreSQL and is a trusted extension: the database's owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index("ix_students_number_bytewise", "students", [sa.text('student_number COLLATE "C"')], unique=False)
    op.create_index("ix_students_name_trigrams", "students", ["name"], unique=False, postgresql_using="gin",
                    postgresql_ops={"name": "gin_trgm_ops"})


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_students_name_trigrams", table_name="students")
    op.drop_index("ix_students_number_bytewise", table_name="students")
    # The extension stays: other objects may use it, and creating it again is harmless.
