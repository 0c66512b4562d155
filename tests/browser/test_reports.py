"""In a real browser: the district manager opens 报表, picks the public health KPI report for
the year, sees 东城区's centres, drills into a centre, and downloads the PDF and the Excel."""

import io
import os
import re

import openpyxl
import pytest

from forms.periods import beijing_today
from tests.browser.test_data_entry import login
from tests.browser.test_org_tree import screenshot
from tests.functional.test_report_files import kpi_data  # noqa: F401 - a fixture

pytestmark = pytest.mark.browser


def test_dongcheng_opens_the_kpi_report_drills_down_and_downloads_both_files(
    page,
    output_dir,
    kpi_data,  # noqa: F811
):
    from playwright.sync_api import expect

    login(page, "dongcheng")
    page.locator('[data-nav="reports"]').click()
    expect(page.locator("h1")).to_have_text("统计报表")
    page.locator("#report-public-health-kpi").click()
    expect(page.locator("h1")).to_have_text("基本公共卫生服务主要指标统计表")
    # This year (the default) or, early in January, the year the fixture's records are in.
    if beijing_today().year != 2026:
        page.locator("#period").fill("2026")
        page.locator("#report-form button[type=submit]").click()
    table = page.locator("#report-table table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr.total")).to_contain_text("合计")
    centre = table.get_by_role("link", name="东城光明社区卫生服务中心")
    expect(centre).to_be_visible()
    # The bar chart is drawn (ECharts, SVG renderer) from the vendored library.
    expect(page.locator(".report-chart svg")).to_have_count(1)
    screenshot(page, output_dir, "reports-1-district")

    centre.click()
    expect(page).to_have_url(re.compile(r"org=110101001"))
    expect(page.locator(".breadcrumb")).to_contain_text("东城区")
    expect(page.locator("#report-table tbody th", has_text="社区卫生服务站").first).to_be_visible()
    screenshot(page, output_dir, "reports-2-centre")

    with page.expect_download() as pdf_download:
        page.locator("#download-pdf").click()
    pdf = pdf_download.value
    assert pdf.suggested_filename == "public-health-kpi-110101001-2026.pdf"
    pdf_path = os.path.join(output_dir, "browser-report-centre.pdf")
    pdf.save_as(pdf_path)
    with open(pdf_path, "rb") as f:
        assert f.read(5) == b"%PDF-"

    with page.expect_download() as xlsx_download:
        page.locator("#download-xlsx").click()
    xlsx = xlsx_download.value
    assert xlsx.suggested_filename.endswith(".xlsx")
    with open(xlsx.path(), "rb") as f:
        sheet = openpyxl.load_workbook(io.BytesIO(f.read())).active
    assert any(cell.value == "合计" for cell in sheet["A"])

    # A link that turns into a download ends its navigation: the browser reports it aborted.
    problems = [p for p in page.problems if not re.search(r"/download\?.*ERR_ABORTED", p)]
    assert problems == [], "requests failed or scripts broke on the way"
