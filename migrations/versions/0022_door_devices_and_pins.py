"""door devices and PINs: Security PUSH registration, PINs beside cards, identifiers in any letter case

access_devices learns what each device says of itself (protocol, push version, firmware, model), the
registry code a Security PUSH device is given, and when its last error came. access_cards.kind tells a card from a PIN; an identifier is
unique whatever its letter case (upper(number)), and unmatched events are found by upper(card) alike.
access_events.pin keeps the PIN a card swipe also carries, so that either identifier finds the student.
Every stored number is decimal so far, so no two existing rows collide.

Revision ID: 0022
Revises: 0021
"""
from alembic import op
import sqlalchemy as sa


revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

UNMATCHED = {"sqlite_where": sa.text("student_id IS NULL"), "postgresql_where": sa.text("student_id IS NULL")}
UNMATCHED_PIN = {"sqlite_where": sa.text("student_id IS NULL AND pin IS NOT NULL"),
                 "postgresql_where": sa.text("student_id IS NULL AND pin IS NOT NULL")}


def upgrade():
    with op.batch_alter_table('access_devices', schema=None) as batch_op:
        for name, length in (('protocol', 16), ('push_version', 16), ('firmware', 64), ('model', 64)):
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('registry_code', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('registered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('access_devices', schema=None) as batch_op:
        for name in ('protocol', 'push_version', 'firmware', 'model'):
            batch_op.alter_column(name, server_default=None)

    with op.batch_alter_table('access_cards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=8), nullable=False, server_default='card'))
        batch_op.create_check_constraint('kind', sa.text("kind IN ('card', 'pin')"))
        batch_op.drop_constraint('uq_access_cards_number', type_='unique')
    with op.batch_alter_table('access_cards', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None)
    op.create_index('uq_access_cards_number_key', 'access_cards', [sa.text('upper(number)')], unique=True)

    op.drop_index('ix_access_events_unmatched_card', table_name='access_events', **UNMATCHED)
    op.create_index('ix_access_events_unmatched_card', 'access_events', [sa.text('upper(card)')], **UNMATCHED)
    op.add_column('access_events', sa.Column('pin', sa.String(length=32), nullable=True))
    op.create_index('ix_access_events_unmatched_pin', 'access_events', [sa.text('upper(pin)')], **UNMATCHED_PIN)


def downgrade():
    op.drop_index('ix_access_events_unmatched_pin', table_name='access_events', **UNMATCHED_PIN)
    # Not in batch mode: rebuilding access_events on SQLite would lose its indexes on expressions.
    op.execute("ALTER TABLE access_events DROP COLUMN pin")
    op.drop_index('ix_access_events_unmatched_card', table_name='access_events', **UNMATCHED)
    op.create_index('ix_access_events_unmatched_card', 'access_events', ['card'], **UNMATCHED)

    op.drop_index('uq_access_cards_number_key', table_name='access_cards')
    with op.batch_alter_table('access_cards', schema=None) as batch_op:
        batch_op.drop_constraint('kind', type_='check')
        batch_op.drop_column('kind')
        batch_op.create_unique_constraint('uq_access_cards_number', ['number'])

    with op.batch_alter_table('access_devices', schema=None) as batch_op:
        for name in ('last_error_at', 'registered_at', 'registry_code', 'model', 'firmware', 'push_version',
                     'protocol'):
            batch_op.drop_column(name)
