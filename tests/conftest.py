"""Fixtures: the app on SQLite and (with DORMS_TEST_DATABASE_URL) PostgreSQL, factories, query counting.

Every test runs once per database backend. The schema is built by the
Alembic migrations (as in production), once per backend per session;
tables are emptied after each test.
"""
from __future__ import annotations

import contextlib
import os

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from dorms import create_app
from dorms.extensions import db

POSTGRESQL_URL = os.environ.get("DORMS_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRESQL_URL else [])


def _reset_postgresql(url: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    except sa.exc.OperationalError as error:
        # CI sets the URL because PostgreSQL is required: fail, never skip.
        pytest.exit(f"PostgreSQL at DORMS_TEST_DATABASE_URL is unreachable: {error}", returncode=3)
    finally:
        engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory) -> str:
    if request.param == "postgresql":
        url = POSTGRESQL_URL
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
    }


@pytest.fixture
def app(app_config, tmp_path):
    app = create_app(app_config, instance_path=str(tmp_path / "instance"))
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


def _empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(sa.text(f"DELETE FROM {table}"))


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


@pytest.fixture
def count_queries(app):
    """``with count_queries() as queries: ...`` then ``len(queries)``: catches N+1 loops."""

    @contextlib.contextmanager
    def counting():
        statements: list[str] = []

        def listener(conn, cursor, statement, *args):
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
