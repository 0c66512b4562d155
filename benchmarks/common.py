"""What the benchmarks share: a fresh demo portal in a directory, free ports, percentiles."""

import contextlib
import socket
import statistics
import sys
import textwrap
from pathlib import Path

from pyramid.paster import bootstrap

from portal.scripts import cli


def demo_portal(directory: Path) -> str:
    """`portal init --demo` on embedded storage under `directory`; returns the .ini path."""
    ini = directory / "bench.ini"
    ini.write_text(
        textwrap.dedent("""\
        [app:main]
        use = egg:bjch-portal
        zodbconn.uri = file://%(here)s/var/Data.fs?blobstorage_dir=%(here)s/var/blobs
        sqlalchemy.url = sqlite:///%(here)s/var/portal.sqlite
        portal.secret_file = %(here)s/var/secret
        """)
    )
    if cli.main(["init", str(ini), "--demo"]) != 0:
        sys.exit("portal init failed")
    return str(ini)


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
