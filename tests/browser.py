"""A real browser for the tests that need one: Debian's chromium driven by Playwright, and the
app served over real HTTP for it (a pytest plugin, loaded by tests/conftest.py).

Modules that use it set `pytestmark = BROWSER_MARKS`: marked `browser`, and skipped, saying so,
where chromium is not installed.
"""

import os
import socket
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"Debian chromium is not installed at {CHROMIUM}"
    ),
]
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live(make_app) -> Iterator[str]:
    """The app on the test database, served over real HTTP from a background thread; its links
    point where it is served (FACTDESK_BASE_URL)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = make_server("127.0.0.1", port, make_app(base_url=f"http://127.0.0.1:{port}"), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()
