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


def _model_indexes(dialect: str) -> list[sa.Index]:
    """The models' indexes made on this database (an index may be for one only: ``Index.ddl_if(dialect=...)``)."""
    return [index for table in db.metadata.tables.values() for index in table.indexes
            if (condition := getattr(index, "_ddl_if", None)) is None or condition.dialect in (None, dialect)]


def _collated(index: sa.Index) -> bool:
    """An index on a column in a collation of its own (student_number COLLATE "C")."""
    return any(getattr(e, "operator", None) is sa.sql.operators.collate for e in index.expressions)


def schema_diff(connection) -> list:
    """What autogenerate would change. Some indexes are looked up by name instead: SQLite's reflection skips
    indexes on expressions (upper(card)), PostgreSQL's reflects a column index's own collation as none. An index
    the models make on the other database only is not expected here."""
    dialect = connection.dialect.name
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        diff = compare_metadata(context, db.metadata)
    indexes = _model_indexes(dialect)
    made_here = {index.name for index in indexes}
    if dialect == "sqlite":
        by_name = {index.name for index in indexes if not all(isinstance(e, sa.Column) for e in index.expressions)}
        present = set(connection.scalars(sa.text("SELECT name FROM sqlite_master WHERE type = 'index'")))
    else:
        by_name = {index.name for index in indexes if _collated(index)}
        present = set(connection.scalars(sa.text("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")))
    assert by_name <= present
    return [d for d in diff if not (d[0] in ("add_index", "remove_index")
                                    and (d[1].name in by_name or d[0] == "add_index" and d[1].name not in made_here))]


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
