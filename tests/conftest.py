"""Shared fixtures: a fresh, initialised portal per test on the configured storage.

PORTAL_TEST_BACKEND selects the storage: `embedded` (default; FileStorage + SQLite in a
temp dir) or `postgresql` (RelStorage + SQL tables in one PostgreSQL database, reached
through PORTAL_TEST_PG_DSN, an admin DSN such as postgresql://postgres@127.0.0.1:5432/postgres).
The demo data is initialised once per session into a template and copied for each test.
With CI=true a missing PostgreSQL or Chromium fails the tests that need it instead of
skipping them.
"""

import collections
import itertools
import os
import tempfile

# Compile each Chameleon template once per run, not once per test app (must be set before
# chameleon is imported).
os.environ.setdefault("CHAMELEON_CACHE", tempfile.mkdtemp(prefix="chameleon-"))
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import transaction
import webtest

from portal import make_config

IN_CI = os.environ.get("CI", "").lower() == "true"
BACKEND = os.environ.get("PORTAL_TEST_BACKEND", "embedded")
PG_DSN = os.environ.get("PORTAL_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
DEMO_PASSWORD = "Demo@Portal2026"
OUTPUT_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "test-output")


def need(condition: bool, reason: str):
    """Skip when a facility is missing, but fail in CI where it must be present."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


# -- storage backends ------------------------------------------------------------------
class EmbeddedBackend:
    name = "embedded"

    def __init__(self, root):
        self.root = root
        self._counter = itertools.count()

    def settings(self, directory):
        return {
            "zodbconn.uri": f"file://{directory}/Data.fs?blobstorage_dir={directory}/blobs",
            "sqlalchemy.url": f"sqlite:///{directory}/portal.sqlite",
        }

    def template(self):
        directory = os.path.join(self.root, "template")
        return directory, self.settings(directory)

    def seal(self, template_dir):
        pass

    def clone(self, template_dir):
        directory = os.path.join(self.root, f"t{next(self._counter)}")
        shutil.copytree(template_dir, directory)
        return directory, self.settings(directory)

    def drop(self, handle):
        shutil.rmtree(handle, ignore_errors=True)

    def close(self):
        pass


class PostgresBackend:
    """One database per test, cloned with CREATE DATABASE ... TEMPLATE from an initialised
    template; RelStorage's tables and the portal's tables share it, as in production.ini."""

    name = "postgresql"
    CLONES_AHEAD = 2

    def __init__(self, root):
        import relstorage.adapters.postgresql  # noqa: F401 - missing extras: fail here, once
        import sqlalchemy

        self.root = root
        self.prefix = f"portal_test_{os.getpid()}"
        self._counter = itertools.count()
        self._creator = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-clone")
        self._ahead = collections.deque()
        # psycopg2 is what RelStorage uses too: one driver for both stores.
        self.url = sqlalchemy.engine.make_url(PG_DSN).set(drivername="postgresql+psycopg2")
        self.admin = sqlalchemy.create_engine(
            self.url,
            isolation_level="AUTOCOMMIT",
            poolclass=sqlalchemy.pool.NullPool,
        )
        with self.admin.connect() as c:
            c.exec_driver_sql("SELECT 1")

    def settings(self, dbname):
        u = self.url.set(database=dbname)
        # RelStorage hands user and password to libpq as they appear in the URI, unquoted.
        auth = (u.username or "postgres") + (f":{u.password}" if u.password else "")
        blob_dir = os.path.join(self.root, dbname + "-blobs")
        return {
            # As production.ini: history-free, blobs in the database, a local blob cache.
            "zodbconn.uri": (
                f"postgres://{auth}@{u.host or '127.0.0.1'}:{u.port or 5432}/{dbname}"
                f"?keep_history=false&shared_blob_dir=false&blob_dir={blob_dir}"
            ),
            "sqlalchemy.url": u.render_as_string(hide_password=False),
        }

    def _sql(self, *statements):
        with self.admin.connect() as c:
            for statement in statements:
                c.exec_driver_sql(statement)

    def template(self):
        dbname = f"{self.prefix}_tmpl"
        self.drop(dbname)
        self._sql(f'CREATE DATABASE "{dbname}"')
        return dbname, self.settings(dbname)

    def seal(self, dbname):
        # Cloning fails while anyone is connected to the template: forbid connections.
        self._sql(f'ALTER DATABASE "{dbname}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')

    def clone(self, template_db):
        # CREATE DATABASE takes about a quarter of a second, mostly the server copying files:
        # a thread creates the next few ahead, while the tests run.
        while len(self._ahead) <= self.CLONES_AHEAD:
            self._ahead.append(self._creator.submit(self._create_clone, template_db))
        dbname = self._ahead.popleft().result()
        return dbname, self.settings(dbname)

    def _create_clone(self, template_db):
        dbname = f"{self.prefix}_{next(self._counter)}"
        self._sql(f'CREATE DATABASE "{dbname}" TEMPLATE "{template_db}"')
        return dbname

    def close(self):
        """Drop the clones made ahead that no test used."""
        self._creator.shutdown(wait=True)
        while self._ahead:
            self.drop(self._ahead.popleft().result())

    def drop(self, dbname):
        if self._exists(dbname):
            self._sql(
                f'ALTER DATABASE "{dbname}" WITH IS_TEMPLATE false',
                f'DROP DATABASE "{dbname}" WITH (FORCE)',
            )
        shutil.rmtree(os.path.join(self.root, dbname + "-blobs"), ignore_errors=True)

    def _exists(self, dbname) -> bool:
        with self.admin.connect() as c:
            return (
                c.exec_driver_sql(
                    "SELECT 1 FROM pg_database WHERE datname = %(name)s", {"name": dbname}
                ).scalar()
                is not None
            )


def base_settings(tmp_root) -> dict:
    return {
        "portal.secret": "test-secret-" + uuid.uuid4().hex,
        "pyramid.reload_templates": "false",
        "pyramid.default_locale_name": "zh_CN",
        "retry.attempts": "3",
    }


def close_app_registry(registry):
    jobs = getattr(registry, "jobs", None)
    if jobs is not None:
        jobs.shutdown()
    registry.zodb.close()
    registry.sql_engine.dispose()


def initialise(settings, demo=True):
    """What `portal init --demo` does, on the given storage."""
    from portal.models import get_tm_session
    from portal.services import aggregates
    from portal.services.setup import ensure_site, migrate, mirror_units, populate

    config = make_config(settings)
    registry = config.registry
    try:
        migrate(registry.sql_engine)
        db = registry.zodb
        tm = transaction.TransactionManager(explicit=True)
        with tm:
            conn = db.open(transaction_manager=tm)
            site, _applied = ensure_site(conn.root())
            populate(site, demo=demo)
            dbsession = get_tm_session(registry.dbsession_factory, tm)
            mirror_units(conn.root(), dbsession)
            aggregates.ensure_current(dbsession, site, registry)
        conn.close()
    finally:
        close_app_registry(registry)


def shown_dsn() -> str:
    """PG_DSN fit for a log: without its password."""
    from sqlalchemy.engine import make_url

    return make_url(PG_DSN).render_as_string(hide_password=True)


def pytest_report_header(config):
    where = f" at {shown_dsn()}" if BACKEND == "postgresql" else ""
    return f"portal storage backend: {BACKEND}{where}"


@pytest.fixture(scope="session")
def backend(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("storage"))
    if BACKEND == "embedded":
        return EmbeddedBackend(root)
    if BACKEND == "postgresql":
        try:
            return PostgresBackend(root)
        except Exception as e:  # noqa: BLE001 - reported through need()
            need(False, f"PostgreSQL is not usable at {shown_dsn()}: {e}")
    raise pytest.UsageError(f"PORTAL_TEST_BACKEND={BACKEND!r}: use embedded or postgresql")


@pytest.fixture(scope="session")
def storage_template(backend):
    handle, settings = backend.template()
    initialise({**base_settings(None), **settings})
    backend.seal(handle)
    yield handle
    backend.close()  # clones made ahead go before their template
    backend.drop(handle)


@pytest.fixture
def settings(backend, storage_template):
    """Settings for a fresh copy of the initialised demo portal."""
    handle, storage = backend.clone(storage_template)
    yield {**base_settings(None), **storage}
    backend.drop(handle)


@pytest.fixture
def app_config(settings):
    """A Configurator for the test app; add probes, then call make_wsgi_app()."""
    config = make_config(settings)
    yield config
    close_app_registry(config.registry)


@pytest.fixture
def testapp(app_config):
    app = app_config.make_wsgi_app()
    return webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})


# -- helpers for tests -----------------------------------------------------------------
# The demo administrators log in with a second factor (portal.demo.DEMO_TOTP_SECRET).
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXP"
DEMO_TOTP_LOGINS = frozenset({"admin", "security", "auditor"})


def _testapp_otp(testapp, login_name) -> str:
    """otp_code for `testapp`: from its database when it runs in this process; for a
    portal served elsewhere (a WSGI proxy), one after the last code this client used."""
    registry = getattr(testapp.app, "registry", None)
    if registry is not None:
        return otp_code(registry.zodb, login_name)
    used = testapp.__dict__.setdefault("_otp_steps", {})
    step = max(int(time.time() // 30), used.get(login_name, -1) + 1)
    while step > int(time.time() // 30) + 1:
        time.sleep(0.5)
    used[login_name] = step
    return otp_code(step=step)


def otp_code(zodb=None, login_name=None, secret=DEMO_TOTP_SECRET, step=None) -> str:
    """A code the portal accepts now. With the app's `zodb`, one after the last code
    `login_name` used (codes are single-use): the next step's when this step's is spent,
    waiting for the clock when that is spent too."""
    import pyotp

    step = int(time.time() // 30) if step is None else step
    if zodb is not None:
        conn = zodb.open()
        try:
            last = conn.root()["site"]["accounts"][login_name].totp_last_step
        finally:
            conn.close()
        while last > step:  # the next step's code is spent too (3 logins in 30 s)
            time.sleep(0.5)
            step = int(time.time() // 30)
        step = max(step, last + 1)

    class DemoTOTP(pyotp.TOTP):
        min_secret_length_bits = 80  # the demo secret's length (pyotp asks for 112)

    return DemoTOTP(secret).at(step * 30)


def login(testapp, login_name, password=DEMO_PASSWORD, status=303):
    """Log in through the form (and the code, when the login page asks for one: the demo
    secret's); returns the response (a redirect when it worked)."""
    form = testapp.get("/login").forms[0]
    form["login"] = login_name
    form["password"] = password
    res = form.submit(status="*")
    if res.status_int != 303 or not res.location.split("?")[0].endswith("/login"):
        assert status == "*" or res.status_int == status, res.status
        return res
    form = res.follow().forms["otp-step"]
    form["otp"] = _testapp_otp(testapp, login_name)
    return form.submit(status=status)


def csrf_token(testapp) -> str:
    """The CSRF token of the current session, read from a page's logout form."""
    page = testapp.get("/")
    return page.html.find("input", {"name": "csrf_token"})["value"]


def enrol(testapp, login_name, secret=DEMO_TOTP_SECRET) -> None:
    """Give `login_name` a second factor (the demo secret), as if enrolled on its page."""
    from portal.services import two_factor

    tm = transaction.TransactionManager(explicit=True)
    with tm:
        conn = testapp.app.registry.zodb.open(transaction_manager=tm)
        two_factor.enrol(conn.root()["site"]["accounts"][login_name], secret)
    conn.close()


def api_token(testapp, login_name, password=DEMO_PASSWORD) -> str:
    body = {"login": login_name, "password": password}
    if login_name in DEMO_TOTP_LOGINS:
        body["otp"] = _testapp_otp(testapp, login_name)
    res = testapp.post_json("/api/v1/tokens", body, status=201)
    return res.json["token"]


def bearer(token) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def output_dir():
    os.makedirs(OUTPUT_DIR, exist_ok=True)
    return OUTPUT_DIR


INI_TEMPLATE = """\
[app:main]
use = egg:bjch-portal
{settings}

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARN
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)s %(message)s
"""


def write_ini(path, settings: dict) -> str:
    """A .ini file for the CLI naming these settings, as an operator's would."""
    lines = "\n".join(f"{key} = {value}" for key, value in settings.items())
    path.write_text(INI_TEMPLATE.format(settings=lines.replace("%", "%%")))
    return str(path)


def sql(testapp):
    """A plain SQL session on the app's database, for looking behind the pages."""
    return testapp.app.registry.dbsession_factory()


def audit_rows(testapp, **filters):
    from sqlalchemy import select

    from portal import models

    with sql(testapp) as s:
        query = select(models.AuditEvent).filter_by(**filters).order_by(models.AuditEvent.id)
        return list(s.scalars(query))
