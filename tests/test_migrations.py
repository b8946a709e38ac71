"""The schema comes from migrations only; they must match the models and have one head."""
import warnings

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app

from dorms.extensions import db

# Both databases: SQLite's batch mode rebuilds tables, PostgreSQL alters them. Downgrades drop tables for real.
pytestmark = [pytest.mark.backends("sqlite", "postgresql"), pytest.mark.commits]


def test_migrations_have_a_single_head(app):
    config = current_app.extensions["migrate"].migrate.get_config()
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several Alembic heads: {heads}; merge them"


def schema_diff(connection) -> list:
    """What autogenerate would change. SQLite's reflection skips indexes on expressions (upper(card)): those
    are looked up by name instead."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        diff = compare_metadata(context, db.metadata)
    if connection.dialect.name != "sqlite":
        return diff
    on_expressions = {index.name for table in db.metadata.tables.values() for index in table.indexes
                      if not all(isinstance(e, sa.Column) for e in index.expressions)}
    assert on_expressions <= set(connection.scalars(sa.text("SELECT name FROM sqlite_master WHERE type = 'index'")))
    return [d for d in diff if not (d[0] == "add_index" and d[1].name in on_expressions)]


def test_models_match_the_migrated_schema(app):
    with db.engine.connect() as connection:
        assert schema_diff(connection) == []


def test_every_migration_downgrades_and_upgrades_again(app):
    """Each downgrade undoes its upgrade on both databases (SQLite rebuilds tables in batch mode)."""
    from flask_migrate import downgrade, upgrade

    db.session.remove()
    db.engine.dispose()
    downgrade(revision="base")
    with db.engine.connect() as connection:
        assert set(sa.inspect(connection).get_table_names()) <= {"alembic_version"}
    upgrade()
    with db.engine.connect() as connection:
        assert schema_diff(connection) == []
