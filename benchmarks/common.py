"""What the benchmarks share: a fresh demo portal in a directory, free ports, percentiles."""

import contextlib
import socket
import statistics
import sys
import textwrap
import uuid
from pathlib import Path

from pyramid.paster import bootstrap
from sqlalchemy import URL, create_engine, make_url

from portal.scripts import cli


def demo_portal(directory: Path, database: URL | None = None) -> str:
    """`portal init --demo` with its files under `directory`; returns the .ini path.

    Storage is embedded (FileStorage + SQLite under `directory`), or with `database` (an
    empty PostgreSQL database, see `scratch_database`) as production.ini has it: ZODB in
    RelStorage, history-free, and the SQL tables, both in that database."""
    ini = directory / "bench.ini"
    if database is None:
        storage = """\
            zodbconn.uri = file://%(here)s/var/Data.fs?blobstorage_dir=%(here)s/var/blobs
            sqlalchemy.url = sqlite:///%(here)s/var/portal.sqlite"""
    else:
        # RelStorage hands user and password to libpq as they appear in the URI, unquoted.
        auth = (database.username or "postgres") + (
            f":{database.password}" if database.password else ""
        )
        zodb = (
            f"postgres://{auth}@{database.host or '127.0.0.1'}:{database.port or 5432}/"
            f"{database.database}?keep_history=false&shared_blob_dir=false"
            f"&blob_dir={directory}/var/blobcache&cache_local_mb=64"
            "&connection_cache_size=20000"
        )
        sql = database.render_as_string(hide_password=False)
        storage = f"""\
            zodbconn.uri = {zodb.replace("%", "%%")}
            sqlalchemy.url = {sql.replace("%", "%%")}"""
    ini.write_text(
        textwrap.dedent(f"""\
            [app:main]
            use = egg:bjch-portal
{storage}
            portal.secret_file = %(here)s/var/secret
            """)
    )
    if cli.main(["init", str(ini), "--demo"]) != 0:
        sys.exit("portal init failed")
    return str(ini)


@contextlib.contextmanager
def scratch_database(dsn: str):
    """A new, empty database on the PostgreSQL server that `dsn` (an SQLAlchemy URL, such as
    postgresql://postgres@127.0.0.1:5432/postgres) names, dropped afterwards; yields its
    URL. The user needs the CREATEDB privilege."""
    # psycopg2, as RelStorage uses: one driver for both stores.
    server = make_url(dsn).set(drivername="postgresql+psycopg2")
    name = f"portal_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield server.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextlib.contextmanager
def storage(dsn: str | None):
    """`scratch_database(dsn)`, or None (embedded storage) without a DSN."""
    if dsn is None:
        yield None
    else:
        with scratch_database(dsn) as database:
            yield database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], percent: int) -> float:
    """The `percent`th percentile (values need not be sorted)."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


@contextlib.contextmanager
def site_of(ini: str):
    """The portal's site, read in a transaction (the stores are closed afterwards)."""
    env = bootstrap(ini)
    registry = env["registry"]
    try:
        with env, env["request"].tm:
            yield env["request"].root_site
    finally:
        registry.zodb.close()
        registry.sql_engine.dispose()
