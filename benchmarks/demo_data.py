"""`portal demo-data` rows per second against a bare bulk insert of the same rows into the
same table (a copy of the same database), in the same batches and transactions."""

import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.common import demo_portal, site_of
from portal.demo_data import CHUNK, Progress, batches, make_plan, write
from portal.models import get_engine
from portal.scripts import cli

RECORDS = 50_000
MILLION = 1_000_000
SEED = 20_261_128
COMMIT_EVERY = 100_000  # as `portal demo-data` commits


def plan_of(ini: str, records: int):
    """The plan `portal demo-data --seed SEED` made: the same rows."""
    with site_of(ini) as site:
        return make_plan(site, records, seed=SEED)


def bare_insert(database: Path, plan) -> tuple[float, int]:
    """Seconds spent inserting the plan's rows, and how many. Each batch is made beforehand,
    untimed, in this process: no generating worker competes with the insert for the CPUs."""
    engine = get_engine({"sqlalchemy.url": f"sqlite:///{database}"})
    progress = Progress(plan.records, label="making and inserting the baseline's rows")
    spent, pending, done = 0.0, 0, 0
    try:
        with engine.connect() as connection:
            for batch in batches(plan):
                started = time.perf_counter()
                write(connection, [batch])
                pending += len(batch)
                if pending >= COMMIT_EVERY:
                    connection.commit()
                    pending = 0
                spent += time.perf_counter() - started
                done += len(batch)
                progress(done)
            started = time.perf_counter()
            connection.commit()
            spent += time.perf_counter() - started
    finally:
        engine.dispose()
    return spent, done


def main(records: int = RECORDS):
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        ini = demo_portal(Path(tmp))
        database = Path(tmp) / "var" / "portal.sqlite"
        copy = Path(tmp) / "baseline.sqlite"
        shutil.copyfile(database, copy)  # the same table, indexes and demo rows

        started = time.perf_counter()
        if cli.main(["demo-data", ini, "--records", str(records), "--seed", str(SEED)]) != 0:
            raise SystemExit("portal demo-data failed")
        elapsed = time.perf_counter() - started

        # The population made about `records` rows: the same number for both figures.
        spent, made = bare_insert(copy, plan_of(ini, records))
        figure, baseline = made / elapsed, made / spent
    print(f"portal demo-data ({made:,} records, start-up included): {figure:10,.0f} rows/s")
    print(
        f"baseline (bare Core insert of the same rows, batches of {CHUNK:,}): "
        f"{baseline:10,.0f} rows/s"
    )
    overhead = (1 / figure - 1 / baseline) * 1e6
    print(
        f"ratio: demo-data runs at {figure / baseline:.0%} of the bare insert's speed "
        f"({overhead:+.0f} µs a row for making, checking and starting up)"
    )
