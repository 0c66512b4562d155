"""Reporting periods and the Beijing clock: what forms, submissions and reports share.

A period is written as the submissions store it: a month "2026-10", a quarter "2026-Q3" or
a year "2026". Forms have a period type ("month", "quarter", "year" or "none"); reports ask
for a period of any type and count the records whose own period lies within it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

# Beijing has kept UTC+8 without daylight saving since 1991; SQL stores naive UTC.
BEIJING = dt.timezone(dt.timedelta(hours=8), "CST")

PERIOD_TYPES = ("month", "quarter", "year")
# Each type's pattern and an example for messages.
PATTERNS = {
    "month": (re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])\Z"), "2026-10"),
    "quarter": (re.compile(r"([0-9]{4})-Q([1-4])\Z"), "2026-Q3"),
    "year": (re.compile(r"([0-9]{4})\Z"), "2026"),
}


def beijing_today() -> dt.date:
    return dt.datetime.now(BEIJING).date()


def beijing_date(value: dt.datetime) -> dt.date:
    """The Beijing calendar day of a stored time (naive values are UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(BEIJING).date()


def example(period_type: str) -> str:
    return PATTERNS[period_type][1]


def period_start(period_type: str, period: object) -> dt.date | None:
    """The first day of a well-formed period of that type, else None."""
    pattern = PATTERNS.get(period_type)
    match = pattern[0].match(period) if pattern and isinstance(period, str) else None
    if match is None:
        return None
    year = int(match.group(1))
    if year < 1900:
        return None
    if period_type == "month":
        return dt.date(year, int(match.group(2)), 1)
    if period_type == "quarter":
        return dt.date(year, 3 * int(match.group(2)) - 2, 1)
    return dt.date(year, 1, 1)


def period_type_of(period: object) -> str | None:
    """Which type a well-formed period is ("month", "quarter", "year"), else None."""
    for period_type in PERIOD_TYPES:
        if period_start(period_type, period) is not None:
            return period_type
    return None


def period_of(period_type: str, day: dt.date) -> str | None:
    """The period of that type a day lies in; None for the type "none"."""
    if period_type == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if period_type == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    if period_type == "year":
        return f"{day.year:04d}"
    return None


def period_end(period: str) -> dt.date:
    """The last day of a well-formed period (ValueError otherwise)."""
    period_type = period_type_of(period)
    if period_type is None:
        raise ValueError(f"not a period: {period!r}")
    start = period_start(period_type, period)
    assert start is not None
    months = {"month": 1, "quarter": 3, "year": 12}[period_type]
    index = start.year * 12 + start.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1) - dt.timedelta(days=1)


def enclosing(period: str | None) -> tuple[str, ...]:
    """The periods a record of `period` counts in: itself and the longer periods around it
    ("2026-10" → "2026-10", "2026-Q4", "2026"). Nothing for a malformed period."""
    return _enclosing(period) if isinstance(period, str) else ()


@functools.lru_cache(maxsize=4096)  # the aggregates ask for the same few periods all the time
def _enclosing(period: str) -> tuple[str, ...]:
    period_type = period_type_of(period)
    if period_type is None:
        return ()
    start = period_start(period_type, period)
    assert start is not None
    longer = PERIOD_TYPES[PERIOD_TYPES.index(period_type) :]
    return tuple(p for p in (period_of(t, start) for t in longer) if p)


def recent(period_type: str, today: dt.date, count: int) -> list[str]:
    """The last `count` periods of a type that have begun by `today`, newest first."""
    if period_type == "month":
        months = [today.year * 12 + today.month - 1 - i for i in range(count)]
        return [f"{m // 12}-{m % 12 + 1:02d}" for m in months]
    if period_type == "quarter":
        quarters = [today.year * 4 + (today.month - 1) // 3 - i for i in range(count)]
        return [f"{q // 4}-Q{q % 4 + 1}" for q in quarters]
    if period_type == "year":
        return [str(today.year - i) for i in range(count)]
    return []
