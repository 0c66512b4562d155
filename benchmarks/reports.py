"""City-level reports against the bare SQL aggregation over the same rows, at 100,000 and at
1,000,000 submissions (`portal demo-data`).

The baseline is the query a report would need without the kept aggregates: the
submissions of the year that are not drafts, grouped by district and form (service-volume's
numbers). The figure is the report's JSON through the app (WSGI, in process: auth, scope,
audit row, JSON), city level, the whole year; then its PDF and XLSX, which should add at most
a second, and the peak memory a report takes (traced allocations), which should not grow with
the rows. Each figure is the median of several runs after a warm-up.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import webtest
from pyramid.paster import get_app
from sqlalchemy import create_engine, text

from benchmarks.common import demo_portal, storage
from forms.periods import beijing_today
from portal.demo import DEMO_PASSWORD
from portal.scripts import cli

SIZES = (100_000, 1_000_000)
REPORTS = ("service-volume", "public-health-kpi")
SEED = 20_261_205
RUNS = 9
BASELINE_RUNS = 3
FILE_RUNS = 3

# service-volume's numbers straight from the submissions: records of the year that are not
# drafts, by district (the second code of the unit's path) and form. Forms without a period
# count by the Beijing day the record was made (UTC+8).
BARE = """
SELECT substr(org_path, 9, 6) AS district, form_name, count(*) AS n
FROM submissions
WHERE status != 'draft'
  AND (period LIKE :year_like
       OR (period IS NULL AND created >= :start AND created < :end))
GROUP BY substr(org_path, 9, 6), form_name
"""


def median_time(call, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bare_query(url: str, year: int) -> tuple[float, int]:
    """Seconds the bare aggregation takes (median), and how many rows it went through."""
    engine = create_engine(url)
    params = {
        "year_like": f"{year}%",
        "start": f"{year - 1}-12-31 16:00:00",
        "end": f"{year}-12-31 16:00:00",
    }
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT count(*) FROM submissions")).scalar_one()
            connection.execute(text(BARE), params).all()  # warm the cache, as the app's is
            seconds = median_time(
                lambda: connection.execute(text(BARE), params).all(), BASELINE_RUNS
            )
    finally:
        engine.dispose()
    return seconds, rows


def sql_url(ini: str) -> str:
    from pyramid.paster import get_appsettings

    return get_appsettings(ini)["sqlalchemy.url"]


def measure_reports(ini: str, year: int) -> dict:
    """For each report: JSON, PDF and XLSX seconds (medians) and the JSON's peak memory."""
    app = get_app(ini)
    registry = app.registry
    try:
        client = webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
        token = client.post_json(
            "/api/v1/tokens", {"login": "city", "password": DEMO_PASSWORD}, status=201
        ).json["token"]
        headers = {"Authorization": f"Bearer {token}"}
        found = {}
        for name in REPORTS:
            url = f"/api/v1/reports/{name}?org=110000&period={year}"

            def get(fmt: str, url=url):
                response = client.get(f"{url}&format={fmt}", headers=headers, expect_errors=True)
                if response.status_int != 200:
                    raise SystemExit(f"{url}&format={fmt}: {response.status}")
                return response

            get("json")  # warm-up: the caches a running portal has
            seconds = median_time(lambda: get("json"), RUNS)
            tracemalloc.start()
            get("json")
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            files = {}
            for fmt in ("pdf", "xlsx"):
                probe = client.get(f"{url}&format={fmt}", headers=headers, expect_errors=True)
                if probe.status_int == 200:
                    files[fmt] = median_time(lambda fmt=fmt: get(fmt), FILE_RUNS)
                else:
                    files[fmt] = None  # not served in this version
            found[name] = {"json": seconds, "peak": peak, **files}
    finally:
        registry.zodb.close()
        registry.sql_engine.dispose()
        jobs = getattr(registry, "jobs", None)
        if jobs is not None:
            jobs.shutdown()
    return found


def main(postgresql: str | None = None, sizes=SIZES):
    year = beijing_today().year
    backend = "PostgreSQL (RelStorage + SQL)" if postgresql else "embedded (FileStorage + SQLite)"
    print(f"reports, city level, year {year}, {backend}:", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp, storage(postgresql) as db:
        ini = demo_portal(Path(tmp), db)
        url = sql_url(ini)
        have = 0
        for size in sizes:
            started = time.perf_counter()
            args = ["demo-data", ini, "--records", str(size - have), "--seed", str(SEED + size)]
            if cli.main(args) != 0:
                raise SystemExit("portal demo-data failed")
            made = time.perf_counter() - started
            have = size
            baseline, rows = bare_query(url, year)
            print(
                f"\n{rows:,} submissions ({size - (results[-1][0] if results else 0):,} added by"
                f" portal demo-data in {made:.0f} s)",
                flush=True,
            )
            print(f"  baseline (bare GROUP BY district, form): {baseline * 1000:9.1f} ms")
            found = measure_reports(ini, year)
            for name, figures in found.items():
                ratio = figures["json"] / baseline
                print(
                    f"  {name:18} JSON {figures['json'] * 1000:7.1f} ms  ratio {ratio:6.3f}"
                    f" of the baseline (goal ≤ 0.1)  peak memory {figures['peak'] / 1e6:5.1f} MB"
                )
                for fmt in ("pdf", "xlsx"):
                    if figures[fmt] is None:
                        print(f"  {'':18} {fmt.upper():4} not served")
                    else:
                        extra = figures[fmt] - figures["json"]
                        print(
                            f"  {'':18} {fmt.upper():4} {figures[fmt] * 1000:7.1f} ms"
                            f"  ({extra * 1000:+.0f} ms over the JSON; goal ≤ +1000 ms)"
                        )
            results.append((size, rows, baseline, found))
    if len(results) > 1:
        (_s0, r0, b0, f0), (_s1, r1, b1, f1) = results[0], results[-1]
        print(f"\nfrom {r0:,} to {r1:,} submissions ({r1 / r0:.0f}×):")
        print(f"  baseline grew {b1 / b0:.1f}×")
        for name in REPORTS:
            print(
                f"  {name:18} JSON time {f1[name]['json'] / f0[name]['json']:.2f}×,"
                f" peak memory {f1[name]['peak'] / max(1, f0[name]['peak']):.2f}×"
            )
