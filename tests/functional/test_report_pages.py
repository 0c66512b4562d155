"""The report pages: the list in the managers' navigation, a report for a unit and a period
with links one level down, bad input at its field, downloads, and scope."""

import time
from urllib.parse import parse_qs, urlparse

from tests.conftest import audit_rows, login
from tests.functional.test_report_files import kpi_data  # noqa: F401 - a fixture

PAGE = "/reports/public-health-kpi"


def test_managers_find_reports_in_the_navigation_and_staff_do_not(testapp):
    login(testapp, "dongcheng")
    home = testapp.get("/")
    assert home.html.find("a", href="http://localhost/reports") is not None
    listing = testapp.get("/reports")
    names = {a["id"] for a in listing.html.select("#report-list a")}
    assert {
        "report-service-volume",
        "report-public-health-kpi",
        "report-completeness",
        "report-baseline-summary",
        "report-workload",
    } <= names
    testapp.reset()  # a new browser: no session
    login(testapp, "staff")
    assert testapp.get("/").html.find("a", href="http://localhost/reports") is None
    testapp.get("/reports", status=403)
    testapp.get(PAGE, status=403)


def test_the_kpi_page_shows_the_districts_centres_and_drills_down(testapp, kpi_data):  # noqa: F811
    login(testapp, "dongcheng")
    page = testapp.get(PAGE, params={"org": "110101", "period": "2026"})
    table = page.html.select_one("#report-table table")
    assert table is not None
    rows = {th.get_text(strip=True): th for th in table.select("tbody th[scope=row]")}
    assert "东城光明社区卫生服务中心" in rows and "合计" in rows
    link = rows["东城光明社区卫生服务中心"].find("a")
    query = parse_qs(urlparse(link["href"]).query)
    assert query["org"] == ["110101001"] and query["period"] == ["2026"]
    # One level down: the centre's stations, with a way back up.
    down = testapp.get(link["href"])
    labels = [th.get_text(strip=True) for th in down.html.select("#report-table tbody th")]
    assert any("站" in label for label in labels)
    crumbs = [a.get_text(strip=True) for a in down.html.select(".breadcrumb a")]
    assert "东城区" in crumbs
    # The chart's data is in the page, for the vendored ECharts.
    assert down.html.select_one(".report-chart[data-chart]") is not None
    assert "vendor/echarts/echarts.min.js" in down.text
    rows = audit_rows(testapp, event="report.read")
    assert rows[-1].detail["org"] == "110101001" and rows[-1].detail["format"] == "html"


def test_a_bad_period_is_told_at_its_field_and_kept(testapp):
    login(testapp, "dongcheng")
    page = testapp.get(PAGE, params={"org": "110101", "period": "2026-13"}, status=400)
    field = page.html.select_one("#period")
    assert field["value"] == "2026-13" and "is-invalid" in field["class"]
    message = field.find_next_sibling("div", class_="invalid-feedback")
    assert message is not None and "2026-Q3" in message.get_text()
    assert page.html.select_one("#report-table") is None
    bad_unit = testapp.get(PAGE, params={"org": "999999", "period": "2026"}, status=400)
    assert bad_unit.html.select_one("#org.is-invalid") is not None


def test_another_district_is_out_of_scope(testapp):
    login(testapp, "dongcheng")
    testapp.get(PAGE, params={"org": "110102", "period": "2026"}, status=403)
    testapp.get(
        f"{PAGE}/download", params={"org": "110102", "period": "2026", "format": "pdf"}, status=403
    )


def test_downloads_from_the_page_are_files_or_a_job_to_wait_for(testapp, kpi_data):  # noqa: F811
    login(testapp, "dongcheng")
    page = testapp.get(PAGE, params={"org": "110101", "period": "2026"})
    pdf = testapp.get(page.html.select_one("#download-pdf")["href"])
    assert pdf.content_type == "application/pdf" and pdf.body.startswith(b"%PDF")
    xlsx = testapp.get(page.html.select_one("#download-xlsx")["href"])
    assert xlsx.body.startswith(b"PK")  # a zip: the workbook
    formats = [r.detail["format"] for r in audit_rows(testapp, event="report.download")]
    assert formats[-2:] == ["pdf", "xlsx"]
    # When it takes long, the job's page, then the file.
    testapp.app.registry.jobs.wait = 0
    waiting = testapp.get(page.html.select_one("#download-pdf")["href"], status=303)
    job_page = waiting.headers["Location"]
    deadline = time.monotonic() + 30
    while True:
        shown = testapp.get(job_page)
        link = shown.html.select_one("#job-download")
        if link is not None or time.monotonic() > deadline:
            break
        assert shown.html.select_one("[role=progressbar]") is not None
        time.sleep(0.05)
    assert testapp.get(link["href"]).body.startswith(b"%PDF")
