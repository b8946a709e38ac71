"""Values computed once per change of the tables they read: counts, rankings, summaries, drawn charts.

``kept(name, compute, depends_on=("beds", "assignments"), key=...)`` returns what ``compute()`` returned
before for the same name, key and *generations* of the tables named. Every INSERT, UPDATE or DELETE that
goes through SQLAlchemy (the ORM's flushes, bulk statements, ``text()``) notes its table on the
connection; when the transaction commits, those tables' generations move on, so nothing computed from
the data before the change is read again. Writes made elsewhere (psql, a raw DBAPI cursor) call
``tables_changed``.

Where: Redis when DORMS_REDIS_URL is set, shared by every worker and machine; otherwise this process,
where values live at most ``LOCAL_SECONDS`` (another process's commits cannot move this process's
generations). Values go through pickle both ways, so a caller can never change a kept value in place.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import pickle
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from flask import current_app, has_app_context
from redis.exceptions import RedisError
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import TextClause

from ..extensions import db

T = TypeVar("T")
log = logging.getLogger(__name__)

REDIS_SECONDS = 24 * 3600  # an entry nobody asks for any more goes after a day
LOCAL_SECONDS = 60
LOCAL_BUDGET = 32 * 2**20  # bytes of pickled values this process keeps
_WRITTEN = "dorms.kept.written"  # Connection.info: tables written in its transaction, a set per savepoint
_SESSION_WROTE = "dorms.kept.wrote"  # Session.info: the session's transaction wrote something

_WRITE = re.compile(r"^\s*(?:insert\s+into|update|delete\s+from)\s+(?:only\s+)?\"?([\w]+)\"?", re.IGNORECASE)
# The tables a statement reads, as the tests' check of ``depends_on`` needs them (see _computed).
_READ = re.compile(r"\b(?:from|join)\s+\"?(\w+)\"?", re.IGNORECASE)
_reading = threading.local()  # .tables: the set the statements of this thread's kept computation add to


# --- what was written -------------------------------------------------------------


def _frames(conn) -> list[set[str]]:
    """Tables written in the connection's transaction: one set for it and one per savepoint inside."""
    return conn.info.setdefault(_WRITTEN, [set()])


def _note_write(conn, cursor, statement, parameters, context, executemany) -> None:
    element = getattr(getattr(context, "compiled", None), "statement", None)
    if isinstance(element, UpdateBase):
        table = getattr(element.table, "name", None)
    elif element is None or isinstance(element, TextClause):  # SQL as written: read what it does
        match = _WRITE.match(statement)
        table = match.group(1).lower() if match else None
    else:  # a SELECT built with SQLAlchemy: the statement every page runs most, no need to read it
        return
    if table:
        _frames(conn)[-1].add(table)


def _savepoint(conn, name) -> None:
    _frames(conn).append(set())


def _released(conn, name, context) -> None:
    # A savepoint released is, for a session joined to an outer transaction (the tests'), its commit: move
    # its tables on now, and again when the outer transaction commits (moving on twice is harmless).
    frames = _frames(conn)
    written = frames.pop() if len(frames) > 1 else set()
    tables_changed(*written)
    frames[-1] |= written


def _savepoint_rolled_back(conn, name, context) -> None:
    frames = _frames(conn)
    if len(frames) > 1:
        frames.pop()  # what it wrote is gone


def _committed(conn) -> None:
    if frames := conn.info.pop(_WRITTEN, None):
        tables_changed(*set().union(*frames))


def _rolled_back(conn) -> None:
    conn.info.pop(_WRITTEN, None)


def _session_wrote(session, *args) -> None:
    session.info[_SESSION_WROTE] = True


def _orm_write(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_SESSION_WROTE] = True


def _transaction_ended(session, transaction) -> None:
    if transaction.parent is None:  # the session's own transaction, committed or rolled back
        session.info.pop(_SESSION_WROTE, None)


def _note_read(conn, cursor, statement, parameters, context, executemany) -> None:
    if (read := getattr(_reading, "tables", None)) is not None:
        read.update(table.lower() for table in _READ.findall(statement))


def install() -> None:
    """Listen to every engine's writes and commits, and to sessions' writes (once per process)."""
    if not sa.event.contains(Engine, "after_cursor_execute", _note_write):
        sa.event.listen(Engine, "after_cursor_execute", _note_write)
        sa.event.listen(Engine, "before_cursor_execute", _note_read)
        sa.event.listen(Engine, "savepoint", _savepoint)
        sa.event.listen(Engine, "release_savepoint", _released)
        sa.event.listen(Engine, "rollback_savepoint", _savepoint_rolled_back)
        sa.event.listen(Engine, "commit", _committed)
        sa.event.listen(Engine, "rollback", _rolled_back)
        sa.event.listen(sa.orm.Session, "after_flush", _session_wrote)
        sa.event.listen(sa.orm.Session, "do_orm_execute", _orm_write)
        sa.event.listen(sa.orm.Session, "after_transaction_end", _transaction_ended)


def _writing() -> bool:
    """Whether this request's transaction has written (or is about to): what it reads is not yet everyone's."""
    session = db.session()
    return bool(session.info.get(_SESSION_WROTE) or session.new or session.dirty or session.deleted)


# --- where values are kept ----------------------------------------------------------


class _Bounded(OrderedDict):
    """A dict of at most ``size`` entries, dropping the one set longest ago."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)


class _LocalStore:
    """This process's values, newest last, within a budget of bytes; each for LOCAL_SECONDS at most."""

    def __init__(self) -> None:
        self.values: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self.generations: dict[str, int] = {}
        # Per name and key (a storage_key), the generations and data key of the value kept() gave last (latest()).
        self.latest: _Bounded = _Bounded(4096)
        self.size = 0
        self.lock = threading.Lock()

    def get(self, key: str, max_age: float | None) -> bytes | None:
        with self.lock:
            entry = self.values.get(key)
            if entry is None:
                return None
            if max_age is not None and time.monotonic() - entry[0] > max_age:
                self._drop(key)
                return None
            self.values.move_to_end(key)
            return entry[1]

    def put(self, key: str, value: bytes) -> None:
        with self.lock:
            if key in self.values:
                self._drop(key)
            self.values[key] = (time.monotonic(), value)
            self.size += len(value)
            while self.size > LOCAL_BUDGET and len(self.values) > 1:
                self._drop(next(iter(self.values)))

    def _drop(self, key: str) -> None:
        self.size -= len(self.values.pop(key)[1])

    def clear(self) -> None:
        with self.lock:
            self.values.clear()
            self.generations.clear()
            self.latest.clear()
            self.size = 0


_local = _LocalStore()


@functools.cache
def _code_version() -> str:
    """A digest of the code and templates that shape kept values: after an upgrade nothing kept by the
    version before is read (its values may have another shape), and machines running the same code share."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent.parent
    for folder, pattern in ((package, "*.py"), (package.parent / "templates", "*.html")):
        for path in sorted(folder.rglob(pattern)):
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


@functools.lru_cache(maxsize=8)
def _digest(database_uri: str) -> str:
    return hashlib.sha256(database_uri.encode()).hexdigest()[:12]


def database_digest() -> str:
    """This installation's database in Redis keys: a staging copy sharing the Redis server keeps its own."""
    return _digest(str(current_app.config["SQLALCHEMY_DATABASE_URI"]))


def _prefix() -> str:
    """Keys of this installation's database and code."""
    config = current_app.config
    if "DORMS_KEPT_PREFIX" not in config:
        config["DORMS_KEPT_PREFIX"] = f"dorms:kept:{database_digest()}:{_code_version()}:"
    return config["DORMS_KEPT_PREFIX"]


def generations_key() -> str:
    """The Redis hash of every table's generation (a table never written has none)."""
    return _prefix() + "generations"


def redis_client():
    """The app's Redis client for kept values, or None without DORMS_REDIS_URL. Short timeouts: a page
    waits for Redis no longer than it would take to compute the value."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    extensions = current_app.extensions
    known = extensions.get("dorms.kept.redis")
    if known is None or known[0] != url:
        import redis

        known = extensions["dorms.kept.redis"] = (
            url, redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1))
    return known[1]


def _redis_failed(error: Exception) -> None:
    log.warning("Redis unavailable for kept values, computing instead: %s", error)


def tables_changed(*tables: str) -> None:
    """Move these tables' generations on: values computed from them before are not read again."""
    if not tables:
        return
    with _local.lock:
        for table in tables:
            _local.generations[table] = _local.generations.get(table, 0) + 1
    client = redis_client() if has_app_context() else None
    if client is None:
        return
    generations = generations_key()
    try:
        with client.pipeline(transaction=False) as pipe:
            for table in tables:
                pipe.hincrby(generations, table, 1)
            pipe.execute()
    except RedisError as error:
        _redis_failed(error)


def storage_key(name: str, data: object) -> str:
    """The key of a value by its name and what it was computed from (plain data, compared by repr)."""
    return f"{_prefix()}{name}:{hashlib.sha256(repr(data).encode()).hexdigest()}"


def fetch(key: str, *, max_local_age: float | None = None) -> bytes | None:
    """A value's bytes, from this process or else Redis (then kept here too); None if nobody kept it."""
    if (value := _local.get(key, max_local_age)) is not None:
        return value
    if (client := redis_client()) is not None:
        try:
            value = client.get(key)
        except RedisError as error:
            _redis_failed(error)
            return None
        if value is not None:
            _local.put(key, value)
    return value


def store(key: str, value: bytes) -> None:
    """Keep a value's bytes here and, when configured, in Redis for every other process."""
    _local.put(key, value)
    if (client := redis_client()) is not None:
        try:
            client.set(key, value, ex=REDIS_SECONDS)
        except RedisError as error:
            _redis_failed(error)


def _computed(name: str, compute: Callable[[], T], tables: tuple[str, ...]) -> tuple[T, Callable[[], None]]:
    """``compute()``, and under TESTING a check to run before keeping its value: a computation that read a
    table ``tables`` leaves out would be kept past that table's changes. Kept values it uses count as reading
    what they depend on, found or computed."""
    if not (has_app_context() and current_app.testing):
        return compute(), lambda: None
    outer = getattr(_reading, "tables", None)
    _reading.tables = read = set()
    try:
        result = compute()
    finally:
        _reading.tables = outer

    def check() -> None:
        unnamed = sorted((read & set(db.metadata.tables)) - set(tables))
        if unnamed:
            raise AssertionError(f"kept value {name!r} reads {', '.join(unnamed)}: add to its depends_on")
    return result, check


@contextlib.contextmanager
def rolled_into(*tables: str):
    """What is read in here is written into ``tables`` (a rollup run by a read): a kept value computed around it
    depends on those tables, not on what the rollup read."""
    outer = getattr(_reading, "tables", None)
    _reading.tables = None
    try:
        yield
    finally:
        _reading.tables = outer
        if outer is not None:
            outer.update(tables)


def kept(name: str, compute: Callable[[], T], *, depends_on: Iterable[str], key: object = (),
         keep_if: Callable[[T], bool] | None = None, generations: tuple | None = None) -> T:
    """``compute()``'s value as it was last computed for this name and key since the tables in
    ``depends_on`` last changed. The value must be plain data (it is pickled), never ORM objects.
    ``keep_if``: a value it refuses is returned but not kept (it read something ``depends_on`` does not name).
    ``generations``: those of ``depends_on`` (sorted) as the caller just read them from Redis (generations_of),
    saving the round trip. Under TESTING, keeping a value whose computation read a table ``depends_on`` does not
    name fails."""
    tables = tuple(sorted(depends_on))
    if (outer := getattr(_reading, "tables", None)) is not None:
        outer.update(tables)  # a kept value computing with this one reads what this one depends on
    if _writing():
        return compute()
    client = redis_client()
    # Generations are read before computing: a change committed meanwhile moves them on, so a value
    # computed from older data is never filed under the newer generation.
    if client is None:
        with _local.lock:
            generations = tuple(_local.generations.get(table, 0) for table in tables)
    elif generations is None and (generations := generations_of(tables)) is None:
        return compute()  # Redis failed
    data_key = storage_key(name, (key, tables, generations))
    with _local.lock:
        _local.latest[storage_key(name, (key, tables))] = (generations, data_key)
    # With Redis the generations are everyone's, so a value filed under them stays right; without it,
    # another process may have changed the tables unseen.
    value = fetch(data_key, max_local_age=LOCAL_SECONDS if client is None else None)
    if value is not None:
        return pickle.loads(value)
    result, check_reads = _computed(name, compute, tables)
    pickled = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    if keep_if is None or keep_if(result):
        check_reads()
        store(data_key, pickled)
    return pickle.loads(pickled)


def generations_of(tables: tuple[str, ...]) -> tuple | None:
    """The current generations of ``tables`` (sorted) in Redis, as kept() files values under them; None without
    Redis or when it fails."""
    if (client := redis_client()) is None:
        return None
    try:
        return tuple(client.hmget(generations_key(), tables))
    except RedisError as error:
        _redis_failed(error)
        return None


def latest(name: str, *, depends_on: Iterable[str], key: object = ()) -> tuple[tuple, object] | None:
    """The value kept() last gave this process for the name and key, with the generations it was filed under,
    without asking Redis whether they are still current: for a caller that checks them itself within a round trip
    it makes anyway (a script reading the generations hash, generations_key()). None if there is none here."""
    tables = tuple(sorted(depends_on))
    found = _local.latest.get(storage_key(name, (key, tables)))
    if found is None or (value := _local.get(found[1], None)) is None:
        return None
    return found[0], pickle.loads(value)


def forget_all() -> None:
    """Drop what this process keeps and, when configured, this installation's keys in Redis."""
    _local.clear()
    if has_app_context() and (client := redis_client()) is not None:
        keys = list(client.scan_iter(match=_prefix() + "*", count=1000))
        if keys:
            client.delete(*keys)
