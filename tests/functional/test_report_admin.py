"""Admins edit the reports: a report's header and layout, and the indicators, which makes the
kept figures stale until the background rebuild is done. Bad input is told at its field
with what was typed kept; nobody else may edit."""

import json
import time

from sqlalchemy import update

from portal.models import ReportState
from tests.conftest import audit_rows, login, sql
from tests.functional.report_data import add_records, visits

KPI = "/reports/public-health-kpi"


def wait_for_job(testapp, location: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = testapp.get(location)
        if page.html.select_one("#job-download") is not None:
            return
        assert page.html.select_one("#job-state.alert-danger") is None, page.text
        time.sleep(0.05)
    raise AssertionError("the rebuild did not finish")


def test_the_admin_edits_a_reports_header_and_layout(testapp):
    login(testapp, "admin")
    form = testapp.get(f"{KPI}/edit").forms["report-edit"]
    assert form["table_no"].value == "京社卫统2表"
    form["table_no"] = "京社卫统2-1表"
    layout = json.loads(form["layout"].value)
    layout["measures"] = layout["measures"][:2]
    form["layout"] = json.dumps(layout, ensure_ascii=False)
    form.submit(status=303)
    page = testapp.get(KPI, params={"org": "110000", "period": "2026"})
    assert "京社卫统2-1表" in page.html.select_one(".report-marks").get_text()
    groups = {th.get_text(strip=True) for th in page.html.select("#report-table thead th")}
    assert "健康档案建档率" in groups and "新生儿访视率" not in groups
    assert audit_rows(testapp, event="report.definition")[-1].target == "public-health-kpi"


def test_a_bad_layout_is_told_at_its_field_and_kept(testapp):
    login(testapp, "admin")
    form = testapp.get(f"{KPI}/edit").forms["report-edit"]
    form["table_no"] = "新表号"
    form["layout"] = '{"layout": "measures", "measures": [}'
    page = form.submit(status=400)
    field = page.html.select_one("#layout")
    assert (
        "is-invalid" in field["class"]
        and field.get_text() == '{"layout": "measures", "measures": [}'
    )
    assert "line 1" in field.find_next_sibling("div").get_text() or "第" in page.text
    assert page.html.select_one("#table_no")["value"] == "新表号"
    # An indicator that does not exist.
    form = page.forms["report-edit"]
    form["layout"] = json.dumps(
        {
            "layout": "measures",
            "measures": [
                {"name": "x", "label": "x", "numerator": "nope", "denominator": "records_held"}
            ],
        }
    )
    page = form.submit(status=400)
    assert "nope" in page.html.select_one("#layout").find_next_sibling("div").get_text()


def test_only_the_admin_edits_and_never_without_the_csrf_token(testapp):
    login(testapp, "dongcheng")
    testapp.get(f"{KPI}/edit", status=403)
    testapp.get("/reports/indicators", status=403)
    testapp.reset()
    login(testapp, "admin")
    form = testapp.get(f"{KPI}/edit").forms["report-edit"]
    form["csrf_token"] = "forged"
    form.submit(status=400)


def test_changed_indicators_are_recomputed_in_the_background(testapp, tokens):
    add_records(
        testapp,
        [*visits("A", "110101001", 70, 145), *visits("B", "110101001", 50, 120)],
    )
    url = "/api/v1/reports/public-health-kpi?org=110101&period=2026"
    before = testapp.get(url, headers=tokens["dongcheng"]).json
    keys = [c["key"] for c in before["columns"]]
    controlled = keys.index("hypertension_controlled.num")
    assert before["total"][controlled] == 2  # 145/85 at 70, 120/80 at 50
    login(testapp, "admin")
    form = testapp.get("/reports/indicators").forms["report-indicators"]
    indicators = json.loads(form["indicators"].value)
    for indicator in indicators:
        if indicator["name"] == "htn_controlled_persons":
            indicator["latest"]["test"] = "${sbp} < 130 and ${dbp} < 90"  # a stricter target
    form["indicators"] = json.dumps(indicators, ensure_ascii=False)
    job = form.submit(status=303)
    wait_for_job(testapp, job.headers["Location"])
    after = testapp.get(url, headers=tokens["dongcheng"]).json
    assert after["total"][controlled] == 1
    assert audit_rows(testapp, event="report.indicators")


def test_a_bad_filter_is_refused_and_kept(testapp):
    login(testapp, "admin")
    form = testapp.get("/reports/indicators").forms["report-indicators"]
    indicators = json.loads(form["indicators"].value)
    indicators[0]["filter"] = "${age} >"
    typed = json.dumps(indicators, ensure_ascii=False)
    form["indicators"] = typed
    page = form.submit(status=400)
    field = page.html.select_one("#indicators")
    assert "is-invalid" in field["class"] and field.get_text() == typed
    assert "${age} >" in field.find_next_sibling("div").get_text()


def test_stale_figures_are_not_shown(testapp, tokens):
    add_records(testapp, visits("A", "110101001", 70, 145))
    with sql(testapp) as s, s.begin():
        s.execute(update(ReportState).where(ReportState.name == "fingerprint").values(value="old"))
    url = "/api/v1/reports/public-health-kpi?org=110101&period=2026"
    response = testapp.get(url, headers=tokens["dongcheng"], status=503)
    assert "recomputed" in response.json["error"]
    login(testapp, "dongcheng")
    page = testapp.get(KPI, params={"org": "110101", "period": "2026"}, status=503)
    assert page.html.select_one("#report-stale") is not None
    assert page.html.select_one("#report-table") is None
