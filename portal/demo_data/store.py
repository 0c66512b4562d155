"""Writing generated rows in bulk: executemany of one Core insert per chunk (SQLite), or
COPY (PostgreSQL), committing every so many rows; with progress lines for long runs."""

from __future__ import annotations

import csv
import io
import sys
import time
from collections.abc import Callable, Iterable

from sqlalchemy import and_, column, func, insert, select, table, update
from sqlalchemy.exc import IntegrityError

from portal.models import ReferenceValue, Submission, utcnow

# Every column but the review state, which the table's default starts empty (unreviewed).
COLUMNS = [c.name for c in Submission.__table__.columns if c.name != "approved_levels"]
# The submissions table with untyped columns: the generator hands over the values already as
# the database stores them (the JSON text, timestamps as SQLAlchemy writes them on SQLite), so
# nothing is converted again row by row.
BULK_TABLE = table(Submission.__tablename__, *(column(name) for name in COLUMNS))
_COPY = f"COPY {Submission.__tablename__} ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv)"


def write(
    connection,
    batches: Iterable[list[dict]],
    *,
    commit_every: int | None = None,
    progress: Callable[[int], None] | None = None,
    written: Callable[[list[dict]], None] | None = None,
) -> int:
    """Insert every batch through `connection`; returns the number of rows.

    With `commit_every`, commits once that many rows are pending and at the end (a long run
    then keeps what it wrote before a failure); without, the caller's transaction decides.
    `written(batch)` is called after each batch is inserted, in the same transaction: what
    must follow the rows (the report aggregates) is written with them.
    """
    copy = connection.dialect.name == "postgresql"
    statement = insert(BULK_TABLE)
    done = pending = 0
    for batch in batches:
        if not batch:
            continue
        if copy:
            _copy(connection, batch)
        else:
            connection.execute(statement, batch)
        if written:
            written(batch)
        done += len(batch)
        pending += len(batch)
        if commit_every and pending >= commit_every:
            connection.commit()
            pending = 0
        if progress:
            progress(done)
    if commit_every and pending:
        connection.commit()
    return done


def _copy(connection, batch: list[dict]) -> None:
    if not connection.in_transaction():
        # The raw cursor's work is not seen by SQLAlchemy: begin so that commit() commits.
        connection.begin()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in batch:
        # An unquoted empty field is NULL in COPY's csv format: the period of undated forms.
        writer.writerow(["" if row[name] is None else row[name] for name in COLUMNS])
    buffer.seek(0)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.copy_expert(_COPY, buffer)
    except connection.dialect.dbapi.IntegrityError as error:
        # As an executed statement would raise it: a taken client_id reads the same.
        raise IntegrityError(_COPY, None, error) from error
    finally:
        cursor.close()


def count(connection) -> int:
    return connection.scalar(select(func.count()).select_from(Submission.__table__))


class Progress:
    """Prints a line each time another `step` percent of `total` rows is done (`total` is an
    estimate: a run that makes more ends at 100% of what it made)."""

    def __init__(self, total: int, stream=None, step: int = 10, label: str = "demo-data"):
        self.total = total
        self.stream = stream or sys.stderr
        self.step = step
        self.label = label
        self.start = time.perf_counter()
        self._next = step

    def __call__(self, done: int) -> None:
        if not self.total:
            return
        self.total = max(self.total, done)
        percent = done * 100 // self.total
        if percent < self._next:
            return
        elapsed = time.perf_counter() - self.start
        rate = done / elapsed if elapsed else 0.0
        left = max(0.0, (self.total - done) / rate) if rate else 0.0
        print(
            f"{self.label}: {percent:3d}% ({done:,} of {self.total:,} rows, "
            f"{rate:,.0f} rows/s, about {left:.0f}s left)",
            file=self.stream,
            flush=True,
        )
        self._next = (percent // self.step + 1) * self.step

    def finish(self, done: int) -> None:
        """The run made `done` rows: end at 100% (unless it was printed already)."""
        if done and self._next <= 100:
            self.total = done
            self(done)


# -- what earlier runs left, and the population's figures ------------------------------------
def existing(connection) -> tuple[dict[str, int], set[tuple[str, int]]]:
    """What a new run must not repeat: each unit's last health record serial taken (in the
    demo numbering, see `synthetic.record_number`) and the (unit code, year) pairs that have
    an institution questionnaire. Arguments `serials` and `surveyed` of `make_plan`."""
    table_ = Submission.__table__
    serials: dict[str, int] = {}
    query = select(table_.c.org_code, Submission.data["record_no"].as_string()).where(
        table_.c.form_name == "personal_info"
    )
    for code, number in connection.execute(query):
        serial = _serial(code, number)
        if serial is not None and serial > serials.get(code, 0):
            serials[code] = serial
    query = select(table_.c.org_code, table_.c.period).where(
        table_.c.form_name == "baseline_institution"
    )
    surveyed = {
        (code, int(period[:4]))
        for code, period in connection.execute(query)
        if period and period[:4].isdigit()
    }
    return serials, surveyed


def _serial(code: str, number: str | None) -> int | None:
    """The serial `synthetic.record_number(code, serial)` made `number` from, if it did."""
    if not number or len(number) != 17 or not number.isdigit():
        return None
    if number[:9] != code[:6] + (code[6:9] or "000"):
        return None
    station = int(code[9:12] or 0)
    committee = (int(number[9:12]) - station * 100) % 1000
    if committee >= 100:
        return None
    return committee * 100_000 + int(number[12:])


def write_references(connection, plan) -> int:
    """Add the plan's residents to the population figures (`reference_values`) of their
    units and every unit above, for each year of the plan's window; returns the number of
    figures written. Adding, not replacing: another run's residents live there too."""
    from portal.demo_data.population import own_counts, subtree_figures

    added = subtree_figures(
        plan.units, own_counts(plan.units, plan.years, plan.seed, today=plan.today)
    )
    if not added:
        return 0
    table_ = ReferenceValue.__table__
    years = sorted({year for _code, year, _kind in added})
    current = {
        (code, year, kind): value
        for code, year, kind, value in connection.execute(
            select(table_.c.org_code, table_.c.year, table_.c.kind, table_.c.value).where(
                table_.c.year.in_(years)
            )
        )
    }
    now = utcnow()
    new = []
    for (code, year, kind), value in sorted(added.items()):
        if (code, year, kind) in current:
            connection.execute(
                update(table_)
                .where(
                    and_(table_.c.org_code == code, table_.c.year == year, table_.c.kind == kind)
                )
                .values(value=current[(code, year, kind)] + value, updated=now)
            )
        else:
            new.append(
                {
                    "org_code": code,
                    "year": year,
                    "kind": kind,
                    "value": float(value),
                    "updated": now,
                    "updated_by": "demo-data",
                }
            )
    if new:
        connection.execute(insert(table_), new)
    return len(added)
