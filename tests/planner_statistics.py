"""Whether a table's planner statistics were refreshed: PostgreSQL counts every ANALYZE of a table."""
from __future__ import annotations

import sqlalchemy as sa

from dorms.extensions import db


def times_analyzed(table: str) -> int:
    """How often ANALYZE (autovacuum's is counted apart) has sampled ``table``. Read over a connection of its own:
    PostgreSQL keeps one snapshot of its statistics views for a whole transaction."""
    with db.engine.connect() as connection:
        return connection.scalar(sa.text("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = :table"),
                                 {"table": table})


def analyzed_afresh(table: str) -> int:
    """ANALYZE ``table`` as it is now, and return times_analyzed: the planner's count of its rows may still be an
    earlier test's, whose rows are gone, and make a load look small beside them."""
    with db.engine.begin() as connection:
        connection.execute(sa.text(f'ANALYZE "{table}"'))
    return times_analyzed(table)
