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
    """Foreign keys are off by default in SQLite; WAL lets readers and a writer overlap."""

    with app.app_context():
        engine = db.engine

    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def is_postgresql(engine: Engine | None = None) -> bool:
    return (engine or db.engine).dialect.name == "postgresql"
