"""The reports API: the list, a report's JSON for a unit and a period, scope and bad input."""

import datetime as dt

from sqlalchemy import insert

from forms import periods
from portal.models import ReferenceValue, utcnow
from tests.conftest import audit_rows, sql
from tests.functional.report_data import add_records, visits
from tests.functional.test_api_forms import submit


def test_the_list_names_every_built_in_report(checked, tokens):
    names = {r["name"] for r in checked("get", "/api/v1/reports", 200, headers=tokens["city"]).json}
    assert {
        "service-volume",
        "public-health-kpi",
        "completeness",
        "baseline-summary",
        "workload",
    } <= names


def test_service_volume_counts_records_by_form_for_the_units_children(
    checked, testapp, published, tokens
):
    submit(checked, tokens["staff"])
    submit(checked, tokens["staff"])
    submit(checked, tokens["station"], org="110101001001", period="2026-09")
    url = "/api/v1/reports/service-volume"
    report = checked(
        "get", url, 200, headers=tokens["dongcheng"], params={"org": "110101", "period": "2026"}
    ).json
    assert report["org"] == "110101" and report["period"] == "2026"
    column = [c["key"] for c in report["columns"]].index("bp_check")
    rows = {r["org"]: r["values"][column] for r in report["rows"]}
    assert [r["org"] for r in report["rows"]] == sorted(rows)
    assert rows["110101001"] == 3 and rows["110101002"] == 0
    assert report["total"][column] == 3
    # A quarter holds only its own months.
    q4 = checked(
        "get", url, 200, headers=tokens["dongcheng"], params={"org": "110101", "period": "2026-Q4"}
    ).json
    assert q4["total"][column] == 2
    # The city: one row per current district, historical ones folded in.
    city = checked("get", url, 200, headers=tokens["city"], params={"period": "2026"}).json
    codes = [r["org"] for r in city["rows"]]
    assert "110101" in codes and "110103" not in codes and "110228" not in codes
    assert city["total"][column] == 3
    reads = audit_rows(testapp, event="report.read", outcome="success")
    assert {"report": "service-volume", "org": "110101", "period": "2026", "format": "json"} in [
        r.detail for r in reads
    ]


def test_kpi_rates_use_reference_figures_and_are_null_without_a_denominator(
    checked, testapp, tokens
):
    with sql(testapp) as s, s.begin():
        s.execute(
            insert(ReferenceValue),
            [
                {
                    "org_code": "110101001",
                    "year": 2026,
                    "kind": "population",
                    "value": 8000,
                    "updated": utcnow(),
                },
                {
                    "org_code": "110101001001",
                    "year": 2026,
                    "kind": "population",
                    "value": 3000,
                    "updated": utcnow(),
                },
                {
                    "org_code": "110101002001",
                    "year": 2026,
                    "kind": "population",
                    "value": 1000,
                    "updated": utcnow(),
                },
            ],
        )
    report = checked(
        "get",
        "/api/v1/reports/public-health-kpi",
        200,
        headers=tokens["dongcheng"],
        params={"org": "110101", "period": "2026"},
    ).json
    keys = [c["key"] for c in report["columns"]]
    for name in ("health_records", "hypertension_managed", "early_pregnancy", "newborn_visit"):
        assert {f"{name}.num", f"{name}.den", f"{name}.rate"} <= set(keys)
    den, rate = keys.index("health_records.den"), keys.index("health_records.rate")
    rows = {r["org"]: r["values"] for r in report["rows"]}
    assert rows["110101001"][den] == 8000  # its own figure, not 8000 + 3000
    assert rows["110101002"][den] == 1000  # the sum of what is below it
    assert report["total"][den] == 9000
    assert rows["110101001"][rate] == 0.0
    managed = keys.index("hypertension_managed.rate")
    assert report["total"][managed] is None  # no patients: no rate


def test_records_held_are_those_made_by_the_end_of_the_period(checked, testapp, tokens):
    made = [
        dt.datetime(2019, 3, 1, 2),
        dt.datetime(2024, 5, 10, 2),
        dt.datetime(2025, 12, 31, 15, 30),  # 1 January 2026 in Beijing
        dt.datetime(2026, 2, 10, 2),
        dt.datetime(2026, 5, 3, 2),
        dt.datetime(2026, 7, 15, 2),
        dt.datetime(2026, 8, 20, 2),
        dt.datetime(2026, 11, 2, 2),
    ]
    add_records(
        testapp,
        [
            {"form": "personal_info", "org": "110101001001", "created": when, "data": {}}
            for when in made
        ],
    )
    beijing_days = [(when + dt.timedelta(hours=8)).date() for when in made]
    for period in ("2019", "2024-Q1", "2025", "2026-Q1", "2026-05", "2026-07", "2026-08", "2026"):
        report = checked(
            "get",
            "/api/v1/reports/public-health-kpi",
            200,
            headers=tokens["dongcheng"],
            params={"org": "110101", "period": period},
        ).json
        held = [c["key"] for c in report["columns"]].index("health_records.num")
        expected = sum(day <= periods.period_end(period) for day in beijing_days)
        assert report["total"][held] == expected, period
        rows = {r["org"]: r["values"][held] for r in report["rows"]}
        assert rows["110101001"] == expected and rows["110101002"] == 0


def test_reports_outside_ones_scope_and_bad_input_are_refused(checked, tokens):
    url = "/api/v1/reports/service-volume"
    checked("get", url, 403, headers=tokens["xicheng"], params={"org": "110101"})
    checked("get", url, 403, headers=tokens["staff"], params={"org": "110101001"})
    checked("get", url, 400, headers=tokens["city"], params={"period": "2026-13"})
    checked("get", url, 400, headers=tokens["city"], params={"org": "999999"})
    checked("get", url, 400, headers=tokens["city"], params={"format": "doc"})
    checked("get", "/api/v1/reports/nothing", 404, headers=tokens["city"])


def test_completeness_lists_the_units_that_did_not_report(checked, testapp, published, tokens):
    submit(checked, tokens["staff"])  # the centre 110101001 reports bp_check for 2026-10
    url = "/api/v1/reports/completeness"
    params = {"org": "110101001", "period": "2026-10"}
    report = checked("get", url, 200, headers=tokens["dongcheng"], params=params).json
    missing = [m for m in report["missing"] if m["form"] == "bp_check"]
    codes = {m["org"] for m in missing}
    # The centre sent its own; each of its active stations is listed, once.
    assert "110101001" not in codes
    assert "110101001001" in codes and len(codes) == len(missing)
    keys = [c["key"] for c in report["columns"]]
    expected = report["total"][keys.index("bp_check.expected")]
    received = report["total"][keys.index("bp_check.received")]
    assert received == 1 and len(missing) == expected - received
    assert report["missing_count"] >= len(report["missing"])
    # When the station reports too, it is no longer missing.
    submit(checked, tokens["station"], org="110101001001")
    report = checked("get", url, 200, headers=tokens["dongcheng"], params=params).json
    assert "110101001001" not in {m["org"] for m in report["missing"] if m["form"] == "bp_check"}
    # Other reports carry no such list.
    volume = checked("get", "/api/v1/reports/service-volume", 200, headers=tokens["dongcheng"])
    assert "missing" not in volume.json


def test_the_kpi_report_disaggregated_by_age_band(checked, testapp, tokens):
    rows = [
        row
        for person, age in (("A", 70), ("B", 50), ("C", 52))
        for row in visits(person, "110101001", age, 130)
    ]
    add_records(testapp, rows)
    url = "/api/v1/reports/public-health-kpi"
    params = {"org": "110101", "period": "2026", "disaggregate": "age_band"}
    report = checked("get", url, 200, headers=tokens["dongcheng"], params=params).json
    assert report["disaggregate"] == "age_band"
    keys = [c["key"] for c in report["columns"]]
    total = dict(zip(keys, report["total"], strict=True))
    assert total["hypertension_controlled.den"] == 3
    assert total["hypertension_controlled.den~age_band:65+"] == 1
    assert total["hypertension_controlled.den~age_band:35-64"] == 2
    assert total["hypertension_controlled.num~age_band:35-64"] == 2
    assert total["hypertension_controlled.rate~age_band:35-64"] == 100.0
    # The categories add up to the whole.
    categories = [k for k in keys if k.startswith("hypertension_controlled.den~")]
    assert sum(total[k] for k in categories) == total["hypertension_controlled.den"]
    # A measure whose denominator is a population figure has no share per category.
    assert total["health_records.den~age_band:65+"] is None
    # Without the parameter, the whole only.
    plain = checked("get", url, 200, headers=tokens["dongcheng"], params={"org": "110101"}).json
    assert not any("~" in c["key"] for c in plain["columns"]) and "disaggregate" not in plain


def test_a_disaggregation_the_report_does_not_offer_is_a_400(checked, tokens):
    bad = checked(
        "get",
        "/api/v1/reports/public-health-kpi",
        400,
        headers=tokens["dongcheng"],
        params={"disaggregate": "colour"},
    ).json
    assert "sex" in bad["error"] and "age_band" in bad["error"]
    none = checked(
        "get",
        "/api/v1/reports/service-volume",
        400,
        headers=tokens["dongcheng"],
        params={"disaggregate": "sex"},
    ).json
    assert "no disaggregation" in none["error"]
