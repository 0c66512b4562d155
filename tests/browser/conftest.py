"""Browser fixtures: the test portal served by waitress on loopback, and Debian's Chromium
driven headless by Playwright. Playwright never downloads a browser here: it is pointed at
the system's chromium, and with CI=true a missing one fails instead of skipping."""

import os
import shutil
import threading
import time

import pytest
import waitress

from tests.conftest import DEMO_PASSWORD, DEMO_TOTP_LOGINS, need, otp_code

CHROMIUM = os.environ.get("PORTAL_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Headless as root in a container, and quiet: this machine's network is closed, and
# Chromium's background connections would only fail (and slow every start).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    need(os.access(CHROMIUM, os.X_OK), f"Chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "the playwright package is not installed (make test installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def live_server(app_config):
    """The test app (a fresh demo portal) served on a free loopback port; yields its URL."""
    server = waitress.create_server(
        app_config.make_wsgi_app(),
        host="127.0.0.1",
        port=0,
        threads=2,
        expose_tracebacks=True,
    )
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"

    def close_all():
        """Close any kept-alive browser connections, the listener and the trigger; the
        loop then ends. In the server's own thread: a socket closed from another thread
        while the loop waits on it makes select() fail (EBADF)."""
        for channel in list(server._map.values()):
            if channel is not server and channel is not server.trigger:
                channel.handle_close()
        server.close()

    server.trigger.pull_trigger(close_all)
    thread.join(timeout=5)
    assert not thread.is_alive(), "the live server did not stop"
    server.task_dispatcher.shutdown()


@pytest.fixture
def page(browser, live_server, app_config):
    """A fresh browser profile (no cookies) on a desktop-sized window, closed before the
    server stops; failed requests and page errors are collected for the test to check."""
    context = browser.new_context(
        base_url=live_server, viewport={"width": 1280, "height": 800}, locale="zh-CN"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.portal_zodb = app_config.registry.zodb  # for log_in's one-time codes
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.on(
        "response",
        lambda r: r.status >= 400 and page.problems.append(f"{r.status} {r.url}"),
    )
    page.on("requestfailed", lambda r: page.problems.append(f"failed: {r.url} {r.failure}"))
    # What the Content Security Policy blocked (portal/headers.py) is a problem too.
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and "Content Security Policy" in m.text
            and page.problems.append(f"blocked: {m.text}")
        ),
    )
    yield page
    context.close()


def wait_until(page, expression: str, arg=None, timeout: float = 10.0) -> None:
    """Wait until `expression` (a JavaScript function of `arg`, or an expression) is truthy
    in the page. Playwright's wait_for_function compiles its predicate with eval, which the
    portal's Content Security Policy forbids; evaluate goes through the DevTools protocol."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression, arg):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout} s: {expression}")
        time.sleep(0.05)


@pytest.fixture
def person(app_config):
    """The centre's personal information record (tests.functional.people.RECORD_NO) that
    person-level forms must name: registered through the API before the browser starts."""
    import webtest

    from tests.functional.people import register_person

    app = webtest.TestApp(app_config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    return register_person(app)


def log_in(page, who, password=DEMO_PASSWORD, wait=True):
    """Log in on the login page, giving a demo administrator's one-time code on the second
    step; with `wait`, until the page after the login has loaded."""
    page.goto("/login")
    page.locator("#login").fill(who)
    page.locator("#password").fill(password)
    page.locator("main form button[type=submit]").click()
    if who in DEMO_TOTP_LOGINS:
        page.locator("#otp").fill(otp_code(page.portal_zodb, who))
        page.locator("main form button[type=submit]").click()
    if wait:
        page.wait_for_url(lambda url: "/login" not in url)
