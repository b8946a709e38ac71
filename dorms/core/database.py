"""Database helpers: SQLite pragmas, enum columns, versioned rows, conflicts between concurrent writers, and
planner statistics after bulk loads."""
from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, declared_attr, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from .errors import Conflict

log = logging.getLogger(__name__)


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


# NUL and lone surrogates: no database text column holds them (PostgreSQL refuses a NUL with an error).
UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


def is_database_busy(error: Exception) -> bool:
    """SQLite's answer to a second concurrent writer."""
    return isinstance(error, sa.exc.OperationalError) and "database is locked" in str(error.orig)


@contextmanager
def conflict_on_duplicate(message: str | Callable[[str], str | None], *, busy: str | None = None,
                          savepoint: bool = True) -> Iterator[None]:
    """Write, then flush; a unique key a concurrent request took since our checks becomes a ``Conflict``.

    The checks before a write read rows; the unique indexes are what really stop two requests doing
    the same thing at once, and the loser should read a sentence, not an error page.
    ``message`` is that sentence, or a function of the database's error text returning it
    (None: not a key of ours, the error goes on). ``busy`` is the sentence for SQLite refusing a
    second writer (None: that error goes on). The savepoint keeps the session usable after the
    failure; ``savepoint=False`` spares its two statements where the whole request is rolled back anyway.
    """
    try:
        with db.session.begin_nested() if savepoint else nullcontext():
            yield
            db.session.flush()
    except IntegrityError as error:
        text = message(str(error.orig)) if callable(message) else message
        if text is None:
            raise
        raise Conflict(text) from error
    except OperationalError as error:
        if busy is None or not is_database_busy(error):
            raise
        raise Conflict(busy) from error


class Versioned:
    """A row moved along a workflow by several people: every change bumps ``version``, and an UPDATE
    only applies to the version that was read, so of two people moving it at once the second fails
    (on PostgreSQL its UPDATE waits for the first to commit, then finds the version moved)."""

    version: Mapped[int] = mapped_column(default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        return {"version_id_col": cls.version}


@contextmanager
def conflict_if_changed_meanwhile(message: str) -> Iterator[None]:
    """Change a ``Versioned`` row, then flush; if someone else changed it since we read it, ``Conflict(message)``.

    SQLite's refusal of a second writer is the same race lost earlier, and says the same."""
    try:
        yield
        db.session.flush()
    except StaleDataError:
        raise Conflict(message) from None
    except OperationalError as error:
        if not is_database_busy(error):
            raise
        raise Conflict(message) from error


def is_postgresql(engine: Engine | None = None) -> bool:
    return (engine or db.engine).dialect.name == "postgresql"


def bytewise(column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """``column`` compared and sorted byte by byte, the order of identifiers such as student numbers: COLLATE "C"
    on PostgreSQL, where an index in that order turns "starts with" into a range read in order; SQLite compares
    so already."""
    return column.collate("C") if is_postgresql() else column


def refresh_planner_statistics() -> None:
    """ANALYZE, after a bulk load: until the database samples the new rows (autovacuum may be off, or not have
    come by yet) its planner takes the tables for nearly empty, and a search of 20,000 students took seconds."""
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()


# ANALYZE a table once a bulk write of at least 50 rows plus a tenth of the rows the planner believes it holds has
# committed: PostgreSQL's own rule for autovacuum (autovacuum_analyze_threshold, autovacuum_analyze_scale_factor),
# applied as soon as the load commits rather than whenever autovacuum (which may be off) comes by. Smaller writes
# barely move the planner's estimates.
ANALYZE_MIN_ROWS = 50
ANALYZE_TABLE_SHARE = 0.1
# Session.info keys: rows written per table by the transaction under way, and by those committed since
# analyze_bulk_writes last ran.
_WRITING, _WRITTEN = "dorms.bulk_writes.writing", "dorms.bulk_writes.written"


def note_bulk_write(table: str, rows: int) -> None:
    """Count ``rows`` written to ``table`` by this transaction; once it commits, analyze_bulk_writes weighs them."""
    if rows:
        writing = db.session.info.setdefault(_WRITING, {})
        writing[table] = writing.get(table, 0) + rows


@sa.event.listens_for(sa.orm.Session, "after_commit")
def _bulk_writes_committed(session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the transaction around it may still roll back
    writing = session.info.pop(_WRITING, None)
    if writing:
        written = session.info.setdefault(_WRITTEN, {})
        for table, rows in writing.items():
            written[table] = written.get(table, 0) + rows


@sa.event.listens_for(sa.orm.Session, "after_soft_rollback")
def _bulk_writes_undone(session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        session.info.pop(_WRITING, None)


def analyze_bulk_writes() -> list[str]:
    """ANALYZE each table that committed transactions wrote in bulk (note_bulk_write), then commit; returns them.

    The job or command that committed the load calls this right after its commit, never inside a transaction:
    ANALYZE would then run in it and this commit end it early. Fresh statistics are an optimisation on top of
    data already committed: a database error here is logged, not raised."""
    if db.session().in_transaction():  # the scoped session does not pass this on
        raise RuntimeError("analyze_bulk_writes runs after the commit, outside any transaction")
    written = db.session.info.pop(_WRITTEN, None)
    if not written:
        return []
    try:
        large = [table for table, rows in sorted(written.items())
                 if rows >= ANALYZE_MIN_ROWS + ANALYZE_TABLE_SHARE * _rows_planned_for(table)]
        preparer = db.engine.dialect.identifier_preparer
        for table in large:
            db.session.execute(sa.text(f"ANALYZE {preparer.quote(table)}"))
        db.session.commit()
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        log.exception("ANALYZE after a bulk write of %s failed", ", ".join(written))
        return []
    return large


def _rows_planned_for(table: str) -> float:
    """The rows PostgreSQL's planner believes ``table`` holds (none, if never analyzed); SQLite's, counted (its
    sites are small)."""
    if is_postgresql():
        believed = db.session.scalar(sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:table)"),
                                     {"table": table})
        return max(believed or 0, 0)  # -1: never analyzed nor vacuumed
    return db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(table)))
