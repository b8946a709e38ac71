"""Values kept until the tables they read change (core.kept): in this process, or in Redis for every process.

The Redis tests use the server at 127.0.0.1:6379, database 12 (DORMS_TEST_KEPT_REDIS_URL names another), a key
prefix of the test's own.
"""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa

from dorms.campus.models import Building
from dorms.core import kept
from dorms.core.charts import drawn_once
from dorms.extensions import db

from .conftest import redis_for_test

REDIS_URL = os.environ.get("DORMS_TEST_KEPT_REDIS_URL", "redis://127.0.0.1:6379/12")


def _counted(log: list):
    def building_names() -> list[str]:
        log.append(1)
        return sorted(db.session.scalars(sa.select(Building.name)))
    return building_names


def _names(log: list) -> list[str]:
    return kept.kept("test.building_names", _counted(log), depends_on=("buildings",))


@pytest.mark.backends("sqlite", "postgresql")
def test_a_value_is_computed_once_until_a_table_it_reads_changes(app, create_building, create_student):
    computed = []
    create_building("A1")
    db.session.commit()
    assert _names(computed) == _names(computed) == ["Building A1"]
    assert len(computed) == 1

    create_student()  # another table: the names stand
    db.session.commit()
    assert _names(computed) == ["Building A1"] and len(computed) == 1

    create_building("A2")
    db.session.commit()
    assert _names(computed) == ["Building A1", "Building A2"] and len(computed) == 2


@pytest.mark.backends("sqlite", "postgresql")
def test_a_bulk_or_textual_write_changes_the_table_too(app, create_building):
    computed = []
    create_building("A1")
    db.session.commit()
    _names(computed)
    db.session.execute(sa.update(Building).values(name="桃李苑"))
    db.session.commit()
    assert _names(computed) == ["桃李苑"]
    db.session.execute(sa.text("UPDATE buildings SET name = 'Tao Li'"))
    db.session.commit()
    assert _names(computed) == ["Tao Li"] and len(computed) == 3


def test_what_a_transaction_has_not_committed_is_never_kept(app, create_building):
    computed = []
    create_building("A1")
    db.session.commit()
    assert _names(computed) == ["Building A1"]

    create_building("A2")  # flushed, not committed: this transaction sees it, nobody else does
    assert _names(computed) == ["Building A1", "Building A2"]
    db.session.rollback()
    assert _names(computed) == ["Building A1"]  # what was kept before, not what was rolled back
    assert len(computed) == 2


def test_a_kept_value_cannot_be_changed_in_place(app):
    first = kept.kept("test.list", lambda: [1, 2], depends_on=("buildings",))
    first.append(3)
    assert kept.kept("test.list", lambda: [9], depends_on=("buildings",)) == [1, 2]


@pytest.fixture
def redis_kept(app):
    """The app keeps values in the test Redis, under a prefix of this test's own."""
    prefix = f"dorms-test-{uuid.uuid4().hex}:"
    with redis_for_test(REDIS_URL, f"{prefix}*") as connection:
        app.config.update(REDIS_URL=REDIS_URL, DORMS_KEPT_PREFIX=prefix)  # the app fixture puts them back
        yield connection


def _another_process() -> None:
    """What a fresh worker process knows: nothing of its own, only what Redis holds."""
    kept._local.clear()


def test_in_redis_a_value_is_shared_by_every_process_until_its_table_changes(app, create_building, redis_kept):
    computed = []
    create_building("A1")
    db.session.commit()
    _names(computed)
    _another_process()
    assert _names(computed) == ["Building A1"] and len(computed) == 1  # from Redis, not computed again

    create_building("A2")
    db.session.commit()  # this process's commit moves the generation on in Redis, for every process
    _another_process()
    assert _names(computed) == ["Building A1", "Building A2"] and len(computed) == 2
    assert any(key.endswith(b"generations") for key in redis_kept.scan_iter(f"{app.config['DORMS_KEPT_PREFIX']}*"))


def test_a_chart_is_drawn_once_for_every_process_in_redis(app, redis_kept):
    drawn = []

    @drawn_once
    def chart(n: int) -> str:
        drawn.append(n)
        return f"<svg>{n}</svg>"

    with app.test_request_context():
        assert chart(1) == "<svg>1</svg>"
        _another_process()
        assert chart(1) == "<svg>1</svg>"
    assert drawn == [1]


def test_without_a_reachable_redis_values_are_computed(app, create_building, caplog):
    app.config.update(REDIS_URL="redis://127.0.0.1:1/0", DORMS_KEPT_PREFIX="dorms-test-unreachable:")
    computed = []
    create_building("A1")
    db.session.commit()  # moving the generation on fails quietly: nothing keeps it
    assert _names(computed) == _names(computed) == ["Building A1"]
    assert len(computed) == 2
    assert "Redis unavailable" in caplog.text


def test_a_value_its_keep_if_refuses_is_returned_but_computed_again_next_time(app):
    computed = []

    def value() -> int:
        computed.append(1)
        return len(computed)

    refused = lambda: kept.kept("test.refused", value, depends_on=("buildings",), keep_if=lambda n: n > 1)
    assert (refused(), refused(), refused()) == (1, 2, 2)  # the first refused, the second kept


def test_keeping_a_value_that_reads_a_table_its_depends_on_leaves_out_fails_in_tests(app, create_building):
    create_building("A1")
    db.session.commit()
    rooms_too = lambda: db.session.execute(sa.text("SELECT count(*) FROM rooms JOIN buildings ON true")).scalar()
    with pytest.raises(AssertionError, match="reads rooms: add to its depends_on"):
        kept.kept("test.unnamed", rooms_too, depends_on=("buildings",))
    # Refused by keep_if, it is not kept: nothing to check.
    assert kept.kept("test.unkept", rooms_too, depends_on=("buildings",), keep_if=lambda n: False) == 0

    # A kept value used by another counts as reading its tables, whether found or computed.
    inner = lambda: kept.kept("test.inner", rooms_too, depends_on=("buildings", "rooms"))
    for outer in ("test.outer.inner-computed", "test.outer.inner-found"):
        with pytest.raises(AssertionError, match="reads rooms"):
            kept.kept(outer, inner, depends_on=("buildings",))
    assert kept.kept("test.outer", inner, depends_on=("buildings", "rooms")) == 0

    # What a rollup run by the computation reads goes into the tables it names.
    def rolled_up() -> int:
        with kept.rolled_into("night_statuses"):
            rooms_too()
        return 1
    with pytest.raises(AssertionError, match="reads night_statuses"):
        kept.kept("test.rollup", rolled_up, depends_on=("buildings",))
    assert kept.kept("test.rolled", rolled_up, depends_on=("night_statuses",)) == 1


def test_a_caller_that_reads_the_generations_itself_is_told_what_it_saw_last(app, create_building, redis_kept):
    computed = []
    create_building("A1")
    db.session.commit()
    seen = kept.generations_of(("buildings",))
    names = kept.kept("test.building_names", _counted(computed), depends_on=("buildings",), generations=seen)
    assert names == ["Building A1"]
    assert kept.latest("test.building_names", depends_on=("buildings",)) == (seen, ["Building A1"])
    create_building("A2")
    db.session.commit()
    # What this process saw last, without asking Redis: its generations are how the caller tells it is old.
    assert kept.latest("test.building_names", depends_on=("buildings",)) == (seen, ["Building A1"])
    assert kept.generations_of(("buildings",)) != seen
    assert _names(computed) == ["Building A1", "Building A2"] and len(computed) == 2
    _another_process()
    assert kept.latest("test.building_names", depends_on=("buildings",)) is None
