"""The Excel report: layout, formulas, merged headers, frozen panes, print setup, chart,
and LibreOffice's recalculation giving the table's own numbers."""

import io
import os
import shutil
import subprocess

import openpyxl
import pytest

from reports.render_xlsx import render_xlsx
from tests.conftest import need
from tests.unit.reports import samples

# The sample's layout: 5 marks, title (6), period, unit line, 3 header rows (9-11), column
# numbers (12), 合计 (13), units from 14.
HEADER_ROW, NUMBERS_ROW, TOTAL_ROW, FIRST_UNIT_ROW = 9, 12, 13, 14


@pytest.fixture
def workbook_bytes(output_dir):
    data = render_xlsx(samples.table())
    os.makedirs(os.path.join(output_dir, "reports"), exist_ok=True)
    with open(os.path.join(output_dir, "reports", "small.xlsx"), "wb") as f:
        f.write(data)
    return data


@pytest.fixture
def sheet(workbook_bytes):
    return openpyxl.load_workbook(io.BytesIO(workbook_bytes))["社区卫生服务"]


def test_header_block_and_merged_headers(sheet):
    assert sheet["A6"].value == samples.TITLE
    assert "A6:I6" in {str(r) for r in sheet.merged_cells.ranges}
    assert sheet["G1"].value == "表号：京卫统1-2表"
    assert sheet["A8"].value == "填报单位：北京市卫生健康委员会"
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A9:A11", "B9:B11", "C9:C11", "D9:F9", "G9:H9", "F10:F11", "I9:I11"} <= merged
    assert sheet["D9"].value == "高血压患者管理"
    assert sheet["H10"].value == "其中"
    assert sheet["H11"].value == "家庭卫生服务人次\n(人次)"
    numbers = [c.value for c in sheet[NUMBERS_ROW]]
    assert numbers == ["甲", "乙", "1", "2", "3", "4", "5", "6", "7"]


def test_total_first_as_sums_and_rates_as_formulas(sheet):
    assert sheet.cell(TOTAL_ROW, 1).value == "合计"
    assert sheet.cell(FIRST_UNIT_ROW, 1).value == "东城区"
    assert sheet["C13"].value == "=SUM(C14:C16)"
    assert sheet["I13"].value == "=SUM(I14:I16)"
    # rate = managed (E) / registered (D), in the total as in every unit row
    assert sheet["F13"].value == '=IF(D13=0,"",ROUND(E13/D13*100,1))'
    assert sheet["F16"].value == '=IF(D16=0,"",ROUND(E16/D16*100,1))'
    assert sheet["C14"].value == 812
    assert sheet["C14"].number_format == "#,##0"
    assert sheet["F14"].number_format == "0.0"
    assert sheet["I14"].number_format == "#,##0.00"


def test_frozen_panes_print_setup_and_chart(sheet):
    assert sheet.freeze_panes == f"C{TOTAL_ROW}"
    assert sheet.print_title_rows == f"${HEADER_ROW}:${NUMBERS_ROW}"
    assert sheet.page_setup.orientation == "landscape"
    assert int(sheet.page_setup.paperSize) == 9  # A4
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage


def test_native_bar_chart_of_the_chart_column(workbook_bytes):
    # openpyxl does not read charts back: look at the chart part itself.
    import zipfile

    with zipfile.ZipFile(io.BytesIO(workbook_bytes)) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 1
        xml = z.read(charts[0]).decode()
    assert "<barChart>" in xml and "'社区卫生服务'!$F$14:$F$16" in xml


def test_libreoffice_recalculates_to_the_tables_numbers(workbook_bytes, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    need(soffice is not None, "LibreOffice (soffice) is not installed")
    source = tmp_path / "report.xlsx"
    source.write_bytes(workbook_bytes)
    out = tmp_path / "out"
    subprocess.run(  # noqa: S603 - LibreOffice, on a file the test wrote
        [
            soffice,
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    recalculated = openpyxl.load_workbook(out / "report.xlsx", data_only=True).worksheets[0]
    table = samples.table()
    for offset, row in enumerate(table.body_rows()):
        got = [c.value for c in recalculated[TOTAL_ROW + offset][2:]]
        # A rate without a denominator is the empty string of the IF(): no value.
        got = [None if v == "" else v for v in got]
        assert got == pytest.approx(row.values), row.label
