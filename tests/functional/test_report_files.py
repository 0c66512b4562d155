"""The same report as JSON, PDF and Excel carries the same numbers: the PDF read back with
poppler's pdftotext, the workbook with openpyxl (its 合计 row and rates as formulas) and
recalculated by LibreOffice. Fonts are embedded; downloads are scoped and audited."""

import io
import os
import re
import shutil
import subprocess

import openpyxl
import pytest

from tests.conftest import audit_rows, need
from tests.functional.report_data import add_records, visits

URL = "/api/v1/reports/public-health-kpi"


@pytest.fixture
def kpi_data(testapp):
    """Hypertension patients at two centres of 东城区, one of them at a station, and one
    at the district itself (its own records: the 本级 row)."""
    rows = [
        *visits("A", "110101001", 70, 145),
        *visits("B", "110101001", 50, 150),
        *visits("C", "110101001001", 52, 120),
        *visits("D", "110101002", 60, 120),
        *visits("E", "110101", 61, 120),
    ]
    add_records(testapp, rows)


def get(checked, tokens, fmt, **params):
    query = {"org": "110101", "period": "2026", "format": fmt, **params}
    return checked("get", URL, 200, headers=tokens["dongcheng"], params=query)


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    need(path is not None, f"{package} ({name}) is not installed")
    return str(path)


def run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, check=True, text=True, timeout=120)  # noqa: S603 - tools found above, our files
    return done.stdout


def pdf_text(body: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(body)
    return run(tool("pdftotext", "poppler-utils"), "-layout", str(path), "-")


def test_json_pdf_and_xlsx_carry_the_same_numbers(
    checked, testapp, tokens, kpi_data, tmp_path, output_dir
):
    report = get(checked, tokens, "json").json
    keys = [c["key"] for c in report["columns"]]
    total = dict(zip(keys, report["total"], strict=True))
    assert total["hypertension_managed.den"] == 5 and total["hypertension_controlled.num"] == 4
    assert total["hypertension_controlled.rate"] == 80.0

    pdf = get(checked, tokens, "pdf")
    assert pdf.content_type == "application/pdf"
    assert "public-health-kpi-110101-2026.pdf" in pdf.headers["Content-Disposition"]
    with open(os.path.join(output_dir, "report-kpi-110101-2026.pdf"), "wb") as f:
        f.write(pdf.body)
    words = pdf_text(pdf.body, tmp_path)
    assert "基本公共卫生服务主要指标统计表" in words and "京社卫统2表" in words
    assert "东城区" in words and re.search(r"第\s*1\s*页\s*共\s*\d+\s*页", words)
    total_line = next(line for line in words.splitlines() if line.strip().startswith("合计"))
    assert "80.0" in total_line.split()  # the controlled rate
    for row in report["rows"]:
        if any(row["values"]):
            line = next(x for x in words.splitlines() if row["label"] in x)
            assert re.search(r"\b" + re.escape(row["org"]) + r"\b", line)

    xlsx = get(checked, tokens, "xlsx")
    assert xlsx.content_type.startswith("application/vnd.openxmlformats")
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx.body))
    sheet = workbook.active
    assert "基本公共卫生服务" in sheet.title
    found = {sheet.cell(r, 2).value: r for r in range(1, sheet.max_row + 1)}
    # The unit rows hold the JSON's numbers.
    for row in report["rows"]:
        r = found[row["org"]]
        for i, value in enumerate(row["values"]):
            cell = sheet.cell(r, 3 + i).value
            if value is None:
                continue
            if isinstance(cell, str) and cell.startswith("="):
                continue  # a rate, computed by the spreadsheet
            assert cell == value, (row["org"], keys[i])
    # The 合计 row is formulas: SUM over the rows, rates from their sources.
    total_row = next(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 1).value == "合计")
    count_formula = sheet.cell(total_row, 3 + keys.index("hypertension_managed.den")).value
    assert str(count_formula).startswith("=SUM(")
    rate_formula = sheet.cell(total_row, 3 + keys.index("hypertension_controlled.rate")).value
    assert str(rate_formula).startswith("=")
    with open(os.path.join(output_dir, "report-kpi-110101-2026.xlsx"), "wb") as f:
        f.write(xlsx.body)

    # LibreOffice recalculates the formulas to the JSON's totals.
    soffice = tool("soffice", "libreoffice-calc-nogui")
    source = tmp_path / "kpi.xlsx"
    source.write_bytes(xlsx.body)
    out = tmp_path / "out"
    run(
        soffice,
        "--headless",
        f"-env:UserInstallation=file://{tmp_path}/lo",
        "--convert-to",
        "xlsx",
        "--outdir",
        str(out),
        str(source),
    )
    recalculated = openpyxl.load_workbook(out / "kpi.xlsx", data_only=True).active
    for key in (
        "hypertension_managed.den",
        "hypertension_controlled.num",
        "hypertension_controlled.rate",
    ):
        value = recalculated.cell(total_row, 3 + keys.index(key)).value
        assert value == pytest.approx(total[key]), key


def test_every_font_in_the_pdf_is_embedded(checked, tokens, kpi_data, tmp_path):
    pdffonts = tool("pdffonts", "poppler-utils")
    path = tmp_path / "kpi.pdf"
    path.write_bytes(get(checked, tokens, "pdf").body)
    listing = run(pdffonts, str(path))
    fonts = listing.splitlines()[2:]
    assert fonts, listing
    for line in fonts:
        columns = line.split()
        # name type encoding emb sub uni object ID: "emb" is the fifth from the end
        assert columns[-5] == "yes", line


def test_downloads_are_scoped_and_audited(checked, testapp, tokens, kpi_data):
    get(checked, tokens, "xlsx")
    rows = audit_rows(testapp, event="report.download")
    assert rows and rows[-1].detail["format"] == "xlsx" and rows[-1].detail["org"] == "110101"
    assert rows[-1].detail["report"] == "public-health-kpi" and rows[-1].detail["period"] == "2026"
    checked(
        "get",
        URL,
        403,
        headers=tokens["dongcheng"],
        params={"org": "110102", "format": "pdf"},
    )
    checked("get", URL, 400, headers=tokens["dongcheng"], params={"format": "docx"})


def test_a_slow_report_becomes_a_job_whose_url_gives_the_file(checked, testapp, tokens, kpi_data):
    testapp.app.registry.jobs.wait = 0  # every report "takes long"
    started = checked(
        "get",
        URL,
        202,
        headers=tokens["dongcheng"],
        params={"org": "110101", "period": "2026", "format": "pdf"},
    ).json
    import time

    deadline = time.monotonic() + 30
    while True:
        response = testapp.get(started["job"], headers=tokens["dongcheng"], expect_errors=True)
        if response.status_int != 202 or time.monotonic() > deadline:
            break
        assert 0 <= response.json["progress"] <= 1
        time.sleep(0.05)
    assert response.status_int == 200 and response.body.startswith(b"%PDF")
    assert audit_rows(testapp, event="report.download")
