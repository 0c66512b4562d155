"""Submissions accepted per second through the API, over HTTP: the portal served by waitress
in its own process, driven by concurrent keep-alive clients on loopback; each request is
validated, stored in both stores' transaction and committed. The baseline is a bare Pyramid
JSON view served and driven the same way."""

import contextlib
import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pyramid.paster import get_appsettings
from sqlalchemy import create_engine, select

from benchmarks.common import demo_portal, free_port, percentile, storage
from benchmarks.serve import THREADS
from forms.periods import beijing_today
from portal.demo import DEMO_PASSWORD
from portal.models import Submission
from portal.scripts import cli

FORM = "hypertension_followup"
PATH = f"/api/v1/forms/{FORM}/submissions"
CLIENTS = 8
ROUNDS = 3  # turns of with and without the report aggregates
WARM_UP = 1.0
SECONDS = 6.0
# The centre of the demo account `staff` (centre staff): it fills in for the centre and its
# stations.
LOGIN, CENTRE = "staff", "110101001"


@dataclass
class Load:
    ok: int
    seconds: float
    latencies: list[float]
    statuses: Counter

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    def describe(self, what: str) -> str:
        p50, p95 = (percentile(self.latencies, p) * 1000 for p in (50, 95))
        others = {s: n for s, n in self.statuses.items() if s != 201}
        failed = f", other answers {others}" if others else ""
        return f"{self.rate:8.1f} {what}/s, p50 {p50:5.1f} ms, p95 {p95:5.1f} ms{failed}"


def submissions(ini: str) -> list[tuple[str, str, str]]:
    """(org, period, data as JSON) of valid follow-ups this month at the centre and its
    stations: those `portal demo-data` made for the people it made there (a follow-up names
    a personal information record of its unit), to be sent again as new ones."""
    args = ["demo-data", ini, "--records", "3000", "--org", CENTRE, "--months", "1"]
    if cli.main(args) != 0:
        sys.exit("portal demo-data failed")
    engine = create_engine(get_appsettings(ini)["sqlalchemy.url"])
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Submission.org_code, Submission.period, Submission.data).where(
                    Submission.form_name == FORM,
                    Submission.org_code.startswith(CENTRE),
                    Submission.status == "submitted",
                    Submission.period == beijing_today().strftime("%Y-%m"),
                )
            ).all()
    finally:
        engine.dispose()
    if not rows:
        sys.exit(f"portal demo-data made no {FORM} this month at {CENTRE}")
    return [(org, period, json.dumps(data, ensure_ascii=False)) for org, period, data in rows]


def body(record: tuple[str, str, str]) -> bytes:
    org, period, data = record
    return (
        f'{{"org": "{org}", "period": "{period}", "client_id": "{uuid.uuid4()}", "data": {data}}}'
    ).encode()


@contextlib.contextmanager
def server(kind: str, config: str, log: Path):
    """`python -m benchmarks.serve` in a process of its own; yields its port."""
    port = free_port()
    with open(log, "wb") as err:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, our module
            [sys.executable, "-m", "benchmarks.serve", kind, config, str(port)],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                sys.exit(f"the {kind} server stopped: {log.read_text()[-2000:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                sys.exit(f"the {kind} server did not start in a minute")
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def token(port: int) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    credentials = json.dumps({"login": LOGIN, "password": DEMO_PASSWORD})
    connection.request("POST", "/api/v1/tokens", credentials, {"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    if response.status != 201:
        sys.exit(f"no API token for {LOGIN}: {response.status} {answer}")
    return answer["token"]


def drive(port: int, headers: dict, records: list, seconds: float) -> Load:
    """CLIENTS threads, each on one keep-alive connection, posting for `seconds`."""
    start = time.perf_counter()
    deadline = start + seconds

    def client(number: int):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        latencies, statuses = [], Counter()
        index = number
        while time.perf_counter() < deadline:
            payload = body(records[index % len(records)])
            index += CLIENTS
            sent = time.perf_counter()
            connection.request("POST", PATH, payload, headers)
            response = connection.getresponse()
            response.read()
            statuses[response.status] += 1
            if response.status == 201:
                latencies.append(time.perf_counter() - sent)
        connection.close()
        return latencies, statuses

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(client, range(CLIENTS)))
    elapsed = time.perf_counter() - start
    latencies = [x for lat, _ in results for x in lat]
    statuses = sum((s for _, s in results), Counter())
    return Load(statuses[201], elapsed, latencies, statuses)


def measure(kind: str, config: str, log: Path, records: list) -> Load:
    with server(kind, config, log) as port:
        headers = {"Content-Type": "application/json"}
        if kind.startswith("portal"):
            headers["Authorization"] = f"Bearer {token(port)}"
        drive(port, headers, records, WARM_UP)
        return drive(port, headers, records, SECONDS)


def with_setting(ini: str, line: str) -> str:
    """A copy of the .ini beside it (same storage) with one more setting."""
    path = Path(ini)
    other = path.with_name(f"{path.stem}-{line.split()[0].rpartition('.')[2]}.ini")
    other.write_text(path.read_text() + line + "\n")
    return str(other)


def main(postgresql: str | None = None):
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp, storage(postgresql) as db:
        ini = demo_portal(Path(tmp), db)
        records = submissions(ini)
        portal = measure("portal", ini, Path(tmp) / "portal.log", records)
        # The cost of keeping the report aggregates: the portal without them and with them,
        # in turns (so that whatever else the machine does weighs on both alike), the
        # median of each.
        kept, unkept = [portal], []
        for turn in range(ROUNDS):
            unkept.append(
                measure("portal-without-aggregates", ini, Path(tmp) / "unkept.log", records)
            )
            if turn < ROUNDS - 1:
                kept.append(measure("portal", ini, Path(tmp) / "portal.log", records))
        normal = None
        if postgresql is None:
            # The embedded store's faster, less durable choice (portal/models.py).
            fast = with_setting(ini, "portal.sqlite_synchronous = normal")
            normal = measure("portal", fast, Path(tmp) / "portal-normal.log", records)
        bare = measure("bare", "-", Path(tmp) / "bare.log", records)
    where = f"over HTTP, waitress with {THREADS} threads, {CLIENTS} keep-alive clients"
    backend = "PostgreSQL (RelStorage + SQL)" if postgresql else "embedded (FileStorage + SQLite)"
    print(f"submissions API (POST {PATH}, {where}, {backend}):")
    print(f"  accepted:  {portal.describe('submissions')}  (goal: 300/s, p95 under 100 ms)")
    if normal is not None:
        print(
            f"  accepted with portal.sqlite_synchronous = normal: {normal.describe('submissions')}"
        )
    print(
        f"  baseline (bare Pyramid JSON view, same server and clients): {bare.describe('requests')}"
    )
    print(
        f"ratio: an accepted submission costs as much as {bare.rate / portal.rate:.1f} "
        f"bare requests"
    )
    with_rate = statistics.median(load.rate for load in kept)
    without_rate = statistics.median(load.rate for load in unkept)
    print(
        f"keeping the report aggregates, {ROUNDS} turns each, medians:"
        f" {with_rate:.1f} submissions/s with them, {without_rate:.1f}/s without:"
        f" they cost {1 - with_rate / without_rate:.1%} of the throughput (goal: at most 15%)"
    )
