"""Logins per second through the portal's WSGI app against a bare Pyramid view, in-process
(no network): the cost of the login path, dominated by argon2id."""

import re
import tempfile
import time
from pathlib import Path

from pyramid.config import Configurator
from pyramid.paster import get_app
from pyramid.response import Response
from webob import Request

from benchmarks.common import demo_portal, storage
from portal.demo import DEMO_PASSWORD

SECONDS = 3.0
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def rate(operation, seconds=SECONDS) -> float:
    """Operations per second, after one warm-up call."""
    operation()
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        operation()
        count += 1
    return count / elapsed


def call(app, path, cookie=None, **kw) -> Response:
    request = Request.blank(path, remote_addr="127.0.0.1", **kw)
    if cookie:
        request.headers["Cookie"] = cookie
    return request.get_response(app)


def bare_app():
    config = Configurator()
    config.add_route("hello", "/hello")
    config.add_view(lambda request: Response("hello"), route_name="hello")
    return config.make_wsgi_app()


def login_once(app):
    """What a browser does: fetch the form (session + CSRF token), post the credentials.
    As `city`: the administrators' logins take a one-time code as well, each usable once,
    so they cannot be repeated many times a second."""
    form = call(app, "/login")
    cookie = "; ".join(c.split(";", 1)[0] for c in form.headers.getall("Set-Cookie"))
    token = CSRF_INPUT.search(form.text).group(1)
    res = call(
        app,
        "/login",
        cookie,
        method="POST",
        POST={"csrf_token": token, "login": "city", "password": DEMO_PASSWORD, "next": ""},
    )
    assert res.status_int == 303, res.status


def main(postgresql: str | None = None):
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp, storage(postgresql) as db:
        app = get_app(demo_portal(Path(tmp), db))
        bare = bare_app()
        figure = rate(lambda: login_once(app))
        baseline = rate(lambda: call(bare, "/hello"))
        app.registry.zodb.close()
        app.registry.sql_engine.dispose()
    print(f"login (GET form + POST credentials, argon2id): {figure:10.1f} logins/s")
    print(f"baseline (bare Pyramid view, same WSGI call):  {baseline:10.1f} requests/s")
    print(f"ratio: one login costs as much as {baseline / figure:.0f} bare requests")
