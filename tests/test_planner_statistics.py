"""ANALYZE after a bulk write (core.database): only once the write has committed, and only when it was large
enough to move the planner's estimates. The imports, the directory sync and the door-event import call it:
their tests are with them (test_transfer_jobs, test_directory, test_access)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from dorms.core.database import ANALYZE_MIN_ROWS, analyze_bulk_writes, note_bulk_write
from dorms.extensions import db

from .planner_statistics import analyzed_afresh, times_analyzed


@pytest.mark.backends("sqlite", "postgresql")
def test_only_committed_writes_large_enough_to_matter_are_analyzed(app):
    with db.session.begin_nested():
        note_bulk_write("rooms", 10**6)
    db.session.rollback()  # a savepoint released, then the transaction around it undone: nothing to analyze
    note_bulk_write("beds", ANALYZE_MIN_ROWS - 1)
    note_bulk_write("students", 10**6)
    db.session.commit()
    assert analyze_bulk_writes() == ["students"]
    assert analyze_bulk_writes() == []  # each write is weighed once
    db.session.execute(sa.text("SELECT 1"))
    note_bulk_write("students", 10**6)
    with pytest.raises(RuntimeError, match="after the commit"):
        analyze_bulk_writes()  # inside a transaction it would commit it half-way


@pytest.mark.commits
@pytest.mark.backends("postgresql")
def test_the_table_is_really_analyzed_after_the_commit_and_then_known_to_hold_the_rows(app, create_student):
    before = analyzed_afresh("students")
    loaded = ANALYZE_MIN_ROWS + 10
    for number in range(loaded):
        create_student(f"7{number:05d}")
    note_bulk_write("students", loaded)
    db.session.commit()
    assert times_analyzed("students") == before
    assert analyze_bulk_writes() == ["students"]
    assert times_analyzed("students") == before + 1
    # The planner now counts those rows: 55 more are fewer than the minimum plus a tenth of them.
    note_bulk_write("students", ANALYZE_MIN_ROWS + 5)
    db.session.commit()
    assert analyze_bulk_writes() == []
    assert times_analyzed("students") == before + 1
