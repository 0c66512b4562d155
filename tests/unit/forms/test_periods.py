"""Reporting periods shared by forms, submissions and reports."""

import datetime as dt

import pytest

from forms import periods


@pytest.mark.parametrize(
    "period, kind, end",
    [
        ("2026-10", "month", dt.date(2026, 10, 31)),
        ("2024-02", "month", dt.date(2024, 2, 29)),
        ("2026-12", "month", dt.date(2026, 12, 31)),
        ("2026-Q3", "quarter", dt.date(2026, 9, 30)),
        ("2026-Q4", "quarter", dt.date(2026, 12, 31)),
        ("2026", "year", dt.date(2026, 12, 31)),
    ],
)
def test_a_period_has_a_type_and_an_end(period, kind, end):
    assert periods.period_type_of(period) == kind
    assert periods.period_end(period) == end


@pytest.mark.parametrize(
    "bad", ["2026-13", "2026-Q5", "26", "2026-1", None, 2026, "２０２６", "２０２６-１０"]
)
def test_malformed_periods_have_no_type(bad):
    assert periods.period_type_of(bad) is None
    assert periods.enclosing(bad) == ()
    with pytest.raises(ValueError):
        periods.period_end(bad)


def test_a_record_counts_in_its_period_and_the_longer_ones_around_it():
    assert periods.enclosing("2026-10") == ("2026-10", "2026-Q4", "2026")
    assert periods.enclosing("2026-Q1") == ("2026-Q1", "2026")
    assert periods.enclosing("2025") == ("2025",)


def test_the_period_of_a_day():
    day = dt.date(2026, 4, 1)
    assert [periods.period_of(t, day) for t in ("month", "quarter", "year", "none")] == [
        "2026-04",
        "2026-Q2",
        "2026",
        None,
    ]


def test_recent_periods_cross_the_year():
    assert periods.recent("month", dt.date(2026, 2, 3), 3) == ["2026-02", "2026-01", "2025-12"]
    assert periods.recent("quarter", dt.date(2026, 2, 3), 2) == ["2026-Q1", "2025-Q4"]


def test_beijing_date_of_a_stored_utc_time():
    assert periods.beijing_date(dt.datetime(2026, 12, 31, 17, 0)) == dt.date(2027, 1, 1)
