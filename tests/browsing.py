"""Headless Chromium for the browser tests: Debian's chromium driven by Playwright, and the app served live.

The fixtures are registered in conftest.py so that every browser test module shares one browser.
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from dorms import create_app
from dorms.extensions import db
from dorms.jobs.workers import work_locally

from .factories import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str | None:
    return os.environ.get("DORMS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    executable = _chromium()
    if not executable or not os.path.exists(executable):
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("DORMS_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app_config, tmp_path):
    """The app served over HTTP from a thread, with CSRF on, as in production."""
    config = {**app_config, "WTF_CSRF_ENABLED": True, "TESTING": False}
    served = create_app(config, instance_path=str(tmp_path / "served"))
    server = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # The job worker `dorms run` starts beside the server (no Redis): allocation runs, syncs.
    stopping = threading.Event()

    def work():
        with served.app_context():
            work_locally(stopping=stopping, poll_seconds=0.2)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    yield f"http://127.0.0.1:{server.server_port}"
    stopping.set()
    worker.join(timeout=60)
    server.shutdown()
    thread.join(timeout=10)
    with served.app_context():
        db.engine.dispose()


@pytest.fixture
def page(browser, request, backend):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    outcome = getattr(request.node, "outcome_of_call", None)
    if outcome is not None and outcome.failed:  # what the browser showed when it went wrong
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def readme_screenshot(page, name: str) -> None:
    """The README's pictures (docs/screenshot-NAME.png are copies of these); no other test takes one."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page, base, username):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)




def signed_in_phone(browser, base, username, locale: str = "zh-CN"):
    """A page on a 390-pixel phone, in a browser context of its own (``page.context.close()`` when done), signed
    in as ``username``."""
    context = browser.new_context(locale=locale, viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, base, username)
    return page


def loaded_width(image) -> int:
    """The natural width of an <img> once the browser has loaded it (0 if it could not: a broken image)."""
    image.evaluate("img => img.complete || new Promise(done => {"
                   " img.addEventListener('load', done); img.addEventListener('error', done); })")
    return image.evaluate("img => img.naturalWidth")
