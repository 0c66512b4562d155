"""The PDF report: the numbers, title and page numbers as text, every font embedded, and
the headers repeated on every page of a long table."""

import os
import re
import shutil
import subprocess

import pytest

from reports.render_pdf import page_size, render_pdf
from reports.table import Column, Row, Table, format_value
from tests.conftest import need
from tests.unit.reports import samples


@pytest.fixture
def reports_dir(output_dir):
    path = os.path.join(output_dir, "reports")
    os.makedirs(path, exist_ok=True)
    return path


def poppler(tool: str, *args: str) -> str:
    executable = shutil.which(tool)
    need(executable is not None, f"{tool} (poppler-utils) is not installed")
    # S603: a fixed tool, run on files the test wrote
    run = subprocess.run([executable, *args], capture_output=True, text=True, check=True)  # noqa: S603
    return run.stdout


def save(reports_dir, name, pdf: bytes) -> str:
    """Write the PDF and its pages as PNG beside it, for people to look at."""
    path = os.path.join(reports_dir, name + ".pdf")
    with open(path, "wb") as f:
        f.write(pdf)
    poppler("pdftoppm", "-png", "-r", "60", path, path[:-4])
    return path


def pages_text(path) -> list[str]:
    return poppler("pdftotext", "-layout", path, "-").split("\f")[:-1]


def page_number(page: int, pages: int) -> str:
    # pdftotext drops the spaces between CJK characters: compare without spaces.
    return samples.header().page_format.format(page=page, pages=pages).replace(" ", "")


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_pdf_carries_the_tables_numbers_title_and_page_numbers(reports_dir):
    table = samples.table()
    path = save(reports_dir, "small", render_pdf(table))
    pages = pages_text(path)
    text = "\n".join(pages)
    assert samples.TITLE in text and "2026年第3季度" in text
    assert "京统制〔2026〕12号" in text and "填报单位：北京市卫生健康委员会" in text
    assert page_number(1, 1) in squeezed(pages[0])
    lines = {line.split()[0]: line.split() for line in text.splitlines() if line.split()}
    for row in table.body_rows():
        cells = [format_value(c, v) for c, v in zip(table.columns, row.values, strict=True)]
        assert lines[row.label][-len([c for c in cells if c]) :] == [c for c in cells if c]
    assert lines["合计"][4] == samples.EXPECTED_RATES["合计"]
    # 合计 comes first, right under the column numbers.
    order = [line.split()[0] for line in text.splitlines() if line.split()]
    assert order.index("甲") < order.index("合计") < order.index("东城区")


def test_every_font_is_embedded(reports_dir):
    path = save(reports_dir, "fonts", render_pdf(samples.table()))
    rows = poppler("pdffonts", path).splitlines()[2:]
    assert rows, "no fonts listed"
    for row in rows:
        # name type encoding emb sub uni object ID: emb is the fourth field from the end.
        assert row.split()[-5] == "yes", row
    assert any("NotoSansSC" in row for row in rows)


def test_long_table_spans_pages_with_the_headers_repeated(reports_dir):
    table = samples.long_table(60)
    path = save(reports_dir, "long", render_pdf(table))
    pages = pages_text(path)
    # The pages with unit rows (the chart's page names the units too, without codes).
    table_pages = [p for p in pages if re.search(r"\b1101\d{4}\b", p)]
    assert len(table_pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert page_number(number, len(pages)) in squeezed(page)
    for page in table_pages:
        assert "高血压患者管理" in page and re.search(r"^\s*甲\s+乙\s+1\s+2", page, re.M)
    text = "\n".join(pages)
    for row in table.rows:
        assert re.search(rf"^\s*{row.label}\s+{row.code}\s", text, re.M), row.label


def test_narrow_table_is_portrait_wide_table_landscape():
    width, height = page_size(samples.table())
    assert width < height
    columns = [Column(f"c{i}", f"指标{i}") for i in range(14)]
    wide = Table(
        samples.header(), "单位名称", "代码", columns, [], Row("", "合计", [0] * 14), "合计"
    )
    width, height = page_size(wide)
    assert width > height
    assert render_pdf(wide).startswith(b"%PDF")
