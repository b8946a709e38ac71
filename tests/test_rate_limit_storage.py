"""Sign-in limits hold across worker processes when kept in Redis (as the README's gunicorn section sets
them up), and the app warns when several workers would each keep their own in memory.

The Redis tests use the server at 127.0.0.1:6379 (DORMS_TEST_REDIS_URL names another), a database and key
prefix of their own, and delete their keys after. Without a server, or without the redis client, they
are skipped, or fail when DORMS_REQUIRE_REDIS=1.
"""
import json
import logging
import os
import subprocess
import sys
import types
import uuid

import pytest

from dorms import create_app

from .conftest import redis_for_test

REDIS_URL = os.environ.get("DORMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")

# One app instance in a process of its own, as a gunicorn worker is: it tries each (username, address)
# in turn and prints the answers.
WORKER = """
import json, sys
from dorms import create_app
settings, attempts = json.loads(sys.argv[1]), json.loads(sys.argv[2])
client = create_app(settings, instance_path=settings.pop("instance")).test_client()
print(json.dumps([client.post("/login", data={"username": username, "password": "wrong password"},
                              environ_base={"REMOTE_ADDR": address}).status_code
                  for username, address in attempts]))
"""


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own in the test Redis database; its keys are deleted after."""
    prefix = f"dorms-test-{uuid.uuid4().hex}"
    with redis_for_test(REDIS_URL, f"*{prefix}*"):
        yield prefix


def _worker(settings: dict, attempts: list[tuple[str, str]]) -> list[int]:
    output = subprocess.run([sys.executable, "-c", WORKER, json.dumps(settings), json.dumps(attempts)],
                            capture_output=True, text=True, timeout=120, check=True).stdout
    return json.loads(output.splitlines()[-1])


def test_limits_kept_in_redis_hold_across_worker_processes(database_url, redis_prefix, tmp_path):
    settings = {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test", "TESTING": True,
                "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": REDIS_URL,
                "RATELIMIT_KEY_PREFIX": redis_prefix, "DORMS_LOGIN_LIMIT": "2 per minute",
                "DORMS_LOGIN_ADDRESS_LIMIT": "3 per minute", "instance": str(tmp_path)}
    first = _worker(settings, [("alice", "10.0.0.1"), ("alice", "10.0.0.1"), ("bob", "10.0.0.2")])
    second = _worker(settings, [("alice", "10.0.0.1"), ("alice", "10.0.0.3"),  # per account and address
                                ("carol", "10.0.0.2"), ("dave", "10.0.0.2"), ("erin", "10.0.0.2")])  # per address
    assert first == [200, 200, 200]
    assert second == [429, 200, 200, 200, 429]


@pytest.mark.parametrize("server, storage, warned", [
    ({"gunicorn": True}, "memory://", True),
    ({"WEB_CONCURRENCY": "4"}, "memory://", True),
    ({"WEB_CONCURRENCY": "1"}, "memory://", False),
    ({}, "memory://", False),  # the dev server, the command line
    ({"gunicorn": True}, "redis://127.0.0.1:6379", False),
])
def test_several_workers_sharing_memory_limits_are_warned_about(monkeypatch, caplog, tmp_path,
                                                                server, storage, warned):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    if "WEB_CONCURRENCY" in server:
        monkeypatch.setenv("WEB_CONCURRENCY", server["WEB_CONCURRENCY"])
    if server.get("gunicorn"):
        monkeypatch.setitem(sys.modules, "gunicorn", types.ModuleType("gunicorn"))
    else:
        monkeypatch.delitem(sys.modules, "gunicorn", raising=False)
    # Disabled, the one limiter the test apps share is left as it was: the warning is about the setting.
    with caplog.at_level(logging.WARNING, logger="dorms"):
        create_app({"RATELIMIT_STORAGE_URI": storage, "RATELIMIT_ENABLED": False, "SECRET_KEY": "test"},
                   instance_path=str(tmp_path))
    assert ("DORMS_RATELIMIT_STORAGE_URI" in caplog.text) == warned
