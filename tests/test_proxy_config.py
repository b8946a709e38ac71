"""docs/haproxy.cfg, the proxy the README puts in front of the app servers on selection day (and bench/selection.py
--proxy runs): HAProxy accepts it, passes requests on with the student's address, and its queue lets students
already choosing go before the pages of those still waiting in line. The tests run Debian's haproxy in front of a
stub server that records what reaches it; without haproxy they skip, or fail when DORMS_REQUIRE_HAPROXY=1 (CI)."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parent.parent / "docs" / "haproxy.cfg"
RULE = "    http-request set-priority-class"


def _haproxy() -> str:
    found = shutil.which("haproxy")
    if found is None:
        if os.environ.get("DORMS_REQUIRE_HAPROXY") == "1":
            pytest.fail("haproxy is needed to check docs/haproxy.cfg")
        pytest.skip("haproxy is not installed")
    return found


def _filled(folder: Path, address: str, server_port: int, *, showing_class: bool = False) -> Path:
    """The file as the bench runs it, its placeholders filled with two servers of 4 workers (both the same one
    here); ``showing_class``: the priority class each request was given passed on in a header, for the stub to
    record."""
    text = CONFIG.read_text()
    if showing_class:
        rule = next(line for line in text.splitlines() if line.startswith(RULE))
        text = text.replace(rule, rule + "\n    http-request set-header X-Priority-Class %[prio_class]")
    filled = folder / "haproxy.cfg"
    filled.write_text(text.replace("${port}", address)
                      .replace("${servers}", f"    server app0 127.0.0.1:{server_port} maxconn 4\n"
                                             f"    server app1 127.0.0.1:{server_port} maxconn 4"))
    return filled


def test_haproxy_accepts_the_configuration(tmp_path):
    checked = subprocess.run([_haproxy(), "-c", "-f", str(_filled(tmp_path, "127.0.0.1:8080", 8000))], capture_output=True,
                             text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@contextlib.contextmanager
def _behind_haproxy(folder: Path):
    """A proxy address in front of a stub app that answers 200 and records (path with query, priority class,
    X-Forwarded-For) of every request it gets."""
    seen: list[tuple[str, str, str]] = []

    class Stub(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("X-Priority-Class"), self.headers.get("X-Forwarded-For")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    stub = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    # The proxy's socket is made and listening before HAProxy starts (it binds fd@N): a request queues in it until
    # HAProxy accepts, however long HAProxy takes to start.
    listening = socket.create_server(("127.0.0.1", 0))
    filled = _filled(folder, f"fd@{listening.fileno()}", stub.server_address[1], showing_class=True)
    proxy = subprocess.Popen([_haproxy(), "-f", str(filled)], pass_fds=[listening.fileno()],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{listening.getsockname()[1]}", seen
    except OSError as error:  # nobody took the request: HAProxy stopped, and said why
        proxy.terminate()
        raise AssertionError(f"{error}; haproxy: {proxy.communicate(timeout=10)[0].decode()}") from error
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        listening.close()
        stub.shutdown()
        stub.server_close()


def test_students_already_choosing_go_before_the_pages_of_those_waiting_in_line(tmp_path):
    later = ["/api/selection/12/me", "/selection/12"]
    first = ["/api/selection/12/beds", "/api/selection/12/beds?building=M1&floor=3", "/selection/12?building=M1&floor=3",
             "/api/selection/12/group", "/api/selection/12/me/x", "/selection/", "/login", "/static/dorms.css"]
    with _behind_haproxy(tmp_path) as (base, seen):
        for path in later + first:
            with urllib.request.urlopen(base + path, timeout=10) as response:
                assert response.status == 200
    classes = {path: priority for path, priority, _address in seen}
    assert {path: classes[path] for path in later} == dict.fromkeys(later, "1")
    assert {path: classes[path] for path in first} == dict.fromkeys(first, "0")
    assert {address for _path, _priority, address in seen} == {"127.0.0.1"}  # the student's, for the rate limits
