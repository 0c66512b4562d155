"""Writing generated rows in bulk: executemany of one Core insert per chunk (SQLite), or
COPY (PostgreSQL), committing every so many rows; with progress lines for long runs."""

from __future__ import annotations

import csv
import io
import sys
import time
from collections.abc import Callable, Iterable

from sqlalchemy import column, func, insert, select, table
from sqlalchemy.exc import IntegrityError

from portal.models import Submission

COLUMNS = [c.name for c in Submission.__table__.columns]
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
    """Prints a line each time another `step` percent of `total` rows is done."""

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
        percent = done * 100 // self.total
        if percent < self._next:
            return
        elapsed = time.perf_counter() - self.start
        rate = done / elapsed if elapsed else 0.0
        left = (self.total - done) / rate if rate else 0.0
        print(
            f"{self.label}: {percent:3d}% ({done:,} of {self.total:,} rows, "
            f"{rate:,.0f} rows/s, about {left:.0f}s left)",
            file=self.stream,
            flush=True,
        )
        self._next = (percent // self.step + 1) * self.step
