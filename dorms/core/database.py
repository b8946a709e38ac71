"""Database helpers: SQLite pragmas, enum columns, upsert counters."""
from __future__ import annotations

import enum

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import Engine

from ..extensions import db


def enum_column_type(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A portable enum column: a VARCHAR with a named CHECK constraint."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def install_sqlite_pragmas(app: Flask) -> None:
    """Make SQLite behave: foreign keys on, WAL, and real transactions.

    Python's sqlite3 module opens a transaction only before a data change,
    so reads and SAVEPOINTs would run outside it and a savepoint's release
    would commit. SQLAlchemy's documented recipe: turn that off and BEGIN
    ourselves, so that a request or a command is one transaction, as on
    PostgreSQL. Two writers at once: the second gets "database is locked"
    at once (SQLite cannot wait without risking a deadlock), which the
    services report as a conflict; production runs PostgreSQL.
    """

    with app.app_context():
        engine = db.engine

    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN")


def is_database_busy(error: Exception) -> bool:
    """SQLite's answer to a second concurrent writer."""
    return isinstance(error, sa.exc.OperationalError) and "database is locked" in str(error.orig)


def is_postgresql(engine: Engine | None = None) -> bool:
    return (engine or db.engine).dialect.name == "postgresql"
