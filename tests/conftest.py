"""Fixtures: one app per database, a rolled-back transaction per test, factories, query counting.

Database tests run on PostgreSQL, the production database (DORMS_TEST_DATABASE_URL; without it,
on SQLite). A test that depends on the backend says so with ``@pytest.mark.backends("sqlite", ...)``
and runs once on each. The schema is built by the Alembic migrations (as in production), once per
backend per session (per pytest-xdist worker, each with a database of its own).

Each test runs inside one transaction that is rolled back at its end: the test's session and every
request's session are joined to it through savepoints, so a commit in a view is real for the rest of
the test and nothing outlives it. A test whose data another connection must see (a live server, a
thread, a subprocess) is marked ``commits``: it commits for real and the tables are emptied after it.
On SQLite the same holds: the app's own BEGIN (core.database) makes its savepoints real ones.
"""
from __future__ import annotations

import contextlib
import functools
import os

import pytest
import sqlalchemy as sa
import werkzeug.security
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session as FlaskSession

from dorms import create_app
from dorms.auth import models as auth_models
from dorms.core import kept
from dorms.extensions import db, limiter

POSTGRESQL_URL = os.environ.get("DORMS_TEST_DATABASE_URL")
DEFAULT_BACKEND = "postgresql" if POSTGRESQL_URL else "sqlite"
# One PBKDF2 round: a test signs in hundreds of times; production's scrypt is tested once (test_auth).
CHEAP_PASSWORD_HASH = "pbkdf2:sha256:1"
# Allocation runs search for a budget of work (its rate times about 0.9 of a run's limit) or until their clock
# runs out, whichever comes first. The tests' campuses hold a handful of students: a small budget ends the
# search long before the clock, so a run's answer does not depend on how busy the machine is.
SEARCH_WORK_RATE = 1_000


def pytest_generate_tests(metafunc):
    """Database tests run on the default backend, or on each backend their ``backends`` mark names."""
    if "backend_name" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("backends")
        metafunc.parametrize("backend_name", marker.args if marker else [DEFAULT_BACKEND],
                             indirect=True, scope="session")


def pytest_sessionstart(session):
    """CI sets DORMS_TEST_DATABASE_URL because PostgreSQL is required: unreachable, the run fails, never skips."""
    if not POSTGRESQL_URL or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    engine = _engine(POSTGRESQL_URL)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        pytest.exit(f"PostgreSQL at DORMS_TEST_DATABASE_URL is unreachable: {error}", returncode=3)
    finally:
        engine.dispose()


def pytest_collection_modifyitems(items):
    for item in items:
        if "live_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.commits)  # the served app reads over its own connections
    # The longest tests first: pytest-xdist hands tests out in this order, so a long one starts while the other
    # workers share the rest, instead of running alone at the end.
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.outcome_of_call = report  # the browser's page fixture takes a screenshot of a failure
    return report


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing():
    cheap = functools.partial(werkzeug.security.generate_password_hash, method=CHEAP_PASSWORD_HASH)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth_models, "generate_password_hash", cheap)
        yield


@pytest.fixture(scope="session")
def backend_name(request) -> str:
    if request.param == "postgresql" and not POSTGRESQL_URL:
        pytest.skip("PostgreSQL tests need DORMS_TEST_DATABASE_URL")
    return request.param


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def _worker_postgresql_url(url: str) -> str:
    """Under pytest-xdist each worker gets a database of its own, created next to the given one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parsed = sa.engine.make_url(url)
    name = f"{parsed.database}_{worker}"
    engine = _engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            if not connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def _reset_postgresql(url: str) -> None:
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def database_url(backend_name, tmp_path_factory) -> str:
    if backend_name == "postgresql":
        url = _worker_postgresql_url(POSTGRESQL_URL)
        _reset_postgresql(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test", "TESTING": True},
                     instance_path=str(tmp_path_factory.mktemp("instance")))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture
def app_config(database_url) -> dict:
    """Overridable per test module (e.g. to turn rate limits or CSRF back on)."""
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "BABEL_DEFAULT_LOCALE": "en",
        "ALLOCATION_WORK_RATE": SEARCH_WORK_RATE,
    }


@pytest.fixture(autouse=True)
def small_search_budget(monkeypatch):
    """Runs started as processes (the page's, the live server's) read the rate from the environment."""
    monkeypatch.setenv("DORMS_ALLOCATION_WORK_RATE", str(SEARCH_WORK_RATE))


@pytest.fixture(scope="session")
def _apps():
    """One app per configuration for the whole session: building one per test cost more than most tests."""
    apps: dict[tuple, object] = {}
    yield apps
    for app in apps.values():
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(app_config, _apps, backend_name, request, tmp_path):
    key = repr(sorted(app_config.items()))  # a setting may be a dict (SQLALCHEMY_ENGINE_OPTIONS)
    if key not in _apps:
        _apps[key] = create_app(app_config, instance_path=str(tmp_path / "instance"))
    app = _apps[key]
    app.instance_path = str(tmp_path / "instance")  # photos and files stay the test's own
    os.makedirs(app.instance_path, exist_ok=True)
    settings = dict(app.config)  # a test may change settings: the next one gets them as they were
    with app.app_context():
        # The limiter is one object for every app: it takes the switch of the app built last, so set it.
        limiter.enabled = app.config["RATELIMIT_ENABLED"]
        limiter.reset()
        kept.forget_all()  # values kept from another test's data, which is gone
        try:
            if request.node.get_closest_marker("commits"):
                try:
                    yield app
                finally:
                    db.session.remove()
                    _empty_tables()
            else:
                with _rolled_back_at_the_end():
                    yield app
        finally:
            app.config.clear()
            app.config.update(settings)


class _JoinedSession(FlaskSession):
    """Flask-SQLAlchemy hands every session the engine; this one keeps to the test's connection."""

    def get_bind(self, *args, **kwargs):
        return self.bind


@contextlib.contextmanager
def _rolled_back_at_the_end():
    """Every session of the test (its own, each request's) works in a savepoint of one transaction."""
    connection = db.engine.connect()
    transaction = connection.begin()
    engine_session = db.session
    db.session = db._make_scoped_session(
        {"class_": _JoinedSession, "bind": connection, "join_transaction_mode": "create_savepoint"})
    try:
        yield
    finally:
        db.session.remove()
        db.session = engine_session
        transaction.rollback()
        connection.close()


def _empty_tables() -> None:
    """The tables holding rows, emptied row by row: PostgreSQL's TRUNCATE, which makes new files, took 0.2–0.4 s."""
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as connection:
        holding = connection.scalars(sa.text(" UNION ALL ".join(
            f"SELECT '{table}' WHERE EXISTS (SELECT 1 FROM {table})" for table in tables))).all()
        if not holding:
            return
        for table in (table for table in tables if table in holding):  # the order foreign keys need
            connection.execute(sa.text(f"DELETE FROM {table}"))


@contextlib.contextmanager
def redis_for_test(url: str, keys: str):
    """A client of the test Redis at ``url`` (a test fails without it under DORMS_REQUIRE_REDIS=1, else skips);
    the keys matching ``keys`` are deleted afterwards."""
    try:
        import redis
        connection = redis.Redis.from_url(url)
        connection.ping()
    except Exception as error:  # the client missing, or no server
        if os.environ.get("DORMS_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis at {url} is needed: {error}")
        pytest.skip(f"Redis at {url} is unavailable: {error}")
    try:
        yield connection
    finally:
        for key in connection.scan_iter(keys):
            connection.delete(key)
        connection.close()


@pytest.fixture
def backend(app) -> str:
    return db.engine.dialect.name


class RequestIsolatedClient(FlaskClient):
    """Each request gets its own app context (fresh ``g``, its own session), as in production.

    The test itself keeps an app context open; without this, Flask would
    reuse it for every request and carry ``g`` (the cached locale, the
    signed-in user) and the session's identity map from one request to the next.
    """

    def open(self, *args, **kwargs):
        # What the test set up is committed, as another request's would be; its
        # objects expire, so the test reads what the request wrote afterwards.
        db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = RequestIsolatedClient
    return app.test_client()


# The rolled-back transaction's savepoints around each session are the harness's, not the code's.
_SAVEPOINT_STATEMENTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@pytest.fixture
def count_queries(app):
    """``with count_queries() as queries: ...`` then ``len(queries)``: catches N+1 loops."""

    @contextlib.contextmanager
    def counting():
        statements: list[str] = []

        def listener(conn, cursor, statement, *args):
            if not statement.lstrip().upper().startswith(_SAVEPOINT_STATEMENTS):
                statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            yield statements
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)

    return counting


from .factories import *  # the factory fixtures: create_student(...), login(...)


@pytest.fixture(scope="session")
def slapd(tmp_path_factory):
    """One real OpenLDAP server for the session (tests/ldap_server.py), base entries seeded.

    Shared: tests clean up what they add (or use an ou of their own).
    Without slapd the tests skip, or fail when DORMS_REQUIRE_SLAPD=1 (CI).
    """
    from .ldap_server import Slapd, slapd_available

    if not slapd_available():
        message = ("OpenLDAP's slapd/slapadd, ldapadd or openssl is missing "
                   "(Debian: apt-get install slapd ldap-utils openssl)")
        if os.environ.get("DORMS_REQUIRE_SLAPD") == "1":
            pytest.fail(message)
        pytest.skip(message)
    server = Slapd(tmp_path_factory.mktemp("slapd"), size_limit=500)
    server.start()
    try:
        server.seed_base()
        yield server
    finally:
        server.stop()


from .browsing import browser, live_server, page  # noqa: F401 (one browser for every browser test module)
