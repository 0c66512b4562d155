"""Render a statistical report table (reports.table.Table) as an Excel workbook (openpyxl)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from reports.table import (
    COUNT,
    NUMBER,
    STUB_COLUMNS,
    Row,
    Table,
    column_numbers,
    excel_number_format,
    header_cells,
    header_depth,
    labelled,
    rate_sources,
)

# Official tables are set in SimSun; Excel and LibreOffice substitute it where missing.
FONT_NAME = "SimSun"
THIN = Side(style="thin")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center")
RIGHT = Alignment(horizontal="right", vertical="center")
# How many of the rightmost columns the legal marks (and the unit-of-measure line) span.
SIDE_COLUMNS = 3
DATA_WIDTH = 13  # of a data column, in characters
LINE_HEIGHT = 14  # points


@dataclass(frozen=True)
class _Layout:
    """Where each part of the sheet starts (1-based spreadsheet rows)."""

    table: Table

    @property
    def ncols(self) -> int:
        return STUB_COLUMNS + len(self.table.columns)

    @property
    def title_row(self) -> int:
        return len(self.table.header.marks) + 1

    @property
    def header_row(self) -> int:
        # title, period, then the reporting unit and unit-of-measure line
        return self.title_row + 3

    @property
    def numbers_row(self) -> int:
        return self.header_row + header_depth(self.table)

    @property
    def total_row(self) -> int:
        return self.numbers_row + 1

    @property
    def first_unit_row(self) -> int:
        return self.total_row + 1

    @property
    def last_row(self) -> int:
        return self.total_row + len(self.table.rows)


def render_xlsx(table: Table) -> bytes:
    """The table as an .xlsx workbook: the header block, merged headers, the column
    numbers, the total and unit rows (totals and rates as formulas), footer, notes, a bar
    chart, frozen panes and an A4 landscape print setup."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = table.sheet_name[:31]  # Excel's limit on a sheet name
    workbook.properties.title = table.header.title
    layout = _Layout(table)
    _header_block(sheet, layout)
    _column_headers(sheet, layout)
    _body(sheet, layout)
    after = _footer(sheet, layout)
    _chart(sheet, layout, after + 1)
    _sheet_setup(sheet, layout)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _merge(sheet: Worksheet, row: int, first: int, last: int, value, **style) -> None:
    """Write `value` into the cells row:first..last merged (first and last 1-based)."""
    cell = sheet.cell(row=row, column=first, value=value)
    for name, attr in style.items():
        setattr(cell, name, attr)
    if last > first:
        sheet.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)


def _header_block(sheet: Worksheet, layout: _Layout) -> None:
    h, n = layout.table.header, layout.ncols
    side_first = max(n - SIDE_COLUMNS + 1, 1)
    small = Font(name=FONT_NAME, size=9)
    for i, mark in enumerate(labelled(h.marks)):
        _merge(sheet, 1 + i, side_first, n, mark, font=small, alignment=LEFT)
    r = layout.title_row
    _merge(sheet, r, 1, n, h.title, font=Font(name=FONT_NAME, size=16, bold=True), alignment=CENTRE)
    sheet.row_dimensions[r].height = 30
    _merge(sheet, r + 1, 1, n, h.period_label, font=Font(name=FONT_NAME), alignment=CENTRE)
    normal = Font(name=FONT_NAME)
    _merge(sheet, r + 2, 1, side_first - 1, h.reporting_unit_line(), font=normal, alignment=LEFT)
    _merge(sheet, r + 2, side_first, n, h.unit_of_measure, font=normal, alignment=RIGHT)


def _column_headers(sheet: Worksheet, layout: _Layout) -> None:
    table, top = layout.table, layout.header_row
    bold = Font(name=FONT_NAME, bold=True)
    for cell in header_cells(table):
        text = cell.text + (f"\n({cell.unit})" if cell.unit else "")
        row, col = top + cell.row, cell.col + 1
        sheet.cell(row=row, column=col, value=text)
        if cell.rowspan > 1 or cell.colspan > 1:
            sheet.merge_cells(
                start_row=row,
                start_column=col,
                end_row=row + cell.rowspan - 1,
                end_column=col + cell.colspan - 1,
            )
    _header_heights(sheet, layout)
    for col, number in enumerate(column_numbers(table), start=1):
        sheet.cell(row=layout.numbers_row, column=col, value=number)
    for row in sheet.iter_rows(min_row=top, max_row=layout.numbers_row, max_col=layout.ncols):
        for c in row:
            c.font, c.alignment, c.border = bold, CENTRE, BORDER


def _header_heights(sheet: Worksheet, layout: _Layout) -> None:
    """Give each header row the height of its tallest wrapped text: spreadsheets don't grow
    rows for wrapped text in merged cells, which would then overprint each other."""
    lines = [1] * header_depth(layout.table)
    for cell in header_cells(layout.table):
        width = DATA_WIDTH * cell.colspan - 2
        needed = -(-_display_width([cell.text]) // width) + (1 if cell.unit else 0)
        lines[cell.row] = max(lines[cell.row], -(-needed // cell.rowspan))
    for i, n in enumerate(lines):
        sheet.row_dimensions[layout.header_row + i].height = LINE_HEIGHT * n + 4


def _body(sheet: Worksheet, layout: _Layout) -> None:
    table = layout.table
    _write_row(sheet, layout, layout.total_row, table.total, total=True)
    for i, row in enumerate(table.rows):
        _write_row(sheet, layout, layout.first_unit_row + i, row, total=False)


def _write_row(sheet: Worksheet, layout: _Layout, r: int, row: Row, total: bool) -> None:
    """One row: label and code, then each value, as a formula where the sheet can compute
    it (a total as the sum of the unit rows, a rate from its numerator and denominator)."""
    font = Font(name=FONT_NAME, bold=total)
    sheet.cell(row=r, column=1, value=row.label).alignment = LEFT
    sheet.cell(row=r, column=2, value=row.code or None).alignment = CENTRE
    for i, (column, value) in enumerate(zip(layout.table.columns, row.values, strict=True)):
        cell = sheet.cell(
            row=r, column=STUB_COLUMNS + 1 + i, value=_cell_value(layout, r, i, value, total)
        )
        cell.number_format = excel_number_format(column)
        cell.alignment = RIGHT
    for c in sheet[r][: layout.ncols]:
        c.font, c.border = font, BORDER


def _cell_value(layout: _Layout, r: int, i: int, value, total: bool):
    table = layout.table
    column = table.columns[i]
    sources = rate_sources(table, column)
    if sources is not None:
        num, den = (get_column_letter(STUB_COLUMNS + 1 + s) + str(r) for s in sources)
        return f'=IF({den}=0,"",ROUND({num}/{den}*100,1))'
    if total and column.kind in (COUNT, NUMBER) and table.rows:
        letter = get_column_letter(STUB_COLUMNS + 1 + i)
        return f"=SUM({letter}{layout.first_unit_row}:{letter}{layout.last_row})"
    return value


def _footer(sheet: Worksheet, layout: _Layout) -> int:
    """The signature line and the notes under the table; returns the last row used."""
    h, n = layout.table.header, layout.ncols
    r = layout.last_row + 2
    font = Font(name=FONT_NAME)
    if h.footer:
        _merge(sheet, r, 1, n, "    ".join(labelled(h.footer)), font=font, alignment=LEFT)
        r += 1
    for note in h.notes:
        r += 1
        _merge(sheet, r, 1, n, note, font=Font(name=FONT_NAME, size=9), alignment=LEFT)
    return r


def _chart(sheet: Worksheet, layout: _Layout, row: int) -> None:
    table = layout.table
    if table.chart is None or not table.rows:
        return
    col = STUB_COLUMNS + 1 + table.column_index(table.chart.column)
    chart = BarChart()
    chart.type = "col"
    chart.title = table.chart.title
    chart.legend = None
    values = Reference(sheet, min_col=col, min_row=layout.first_unit_row, max_row=layout.last_row)
    labels = Reference(sheet, min_col=1, min_row=layout.first_unit_row, max_row=layout.last_row)
    chart.add_data(values, titles_from_data=False)
    chart.set_categories(labels)
    # openpyxl marks the axes deleted by default: Excel would draw no axis labels.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.width = min(max(16, 1.0 * len(table.rows)), 40)
    chart.height = 9
    # On a page of its own when printed, rather than cut by a page break.
    sheet.row_breaks.append(Break(id=row))
    sheet.add_chart(chart, f"A{row + 1}")


def _sheet_setup(sheet: Worksheet, layout: _Layout) -> None:
    """Column widths, frozen panes, and printing: A4 landscape, one page wide, the column
    headers repeated on every page."""
    table = layout.table
    rows = table.body_rows()
    sheet.column_dimensions["A"].width = max(12, _display_width(r.label for r in rows) + 2)
    sheet.column_dimensions["B"].width = max(8, _display_width(r.code for r in rows) + 2)
    for i in range(len(table.columns)):
        sheet.column_dimensions[get_column_letter(STUB_COLUMNS + 1 + i)].width = DATA_WIDTH
    sheet.freeze_panes = sheet.cell(row=layout.total_row, column=STUB_COLUMNS + 1)
    sheet.print_title_rows = f"{layout.header_row}:{layout.numbers_row}"
    setup = sheet.page_setup
    setup.orientation = "landscape"
    setup.paperSize = sheet.PAPERSIZE_A4
    setup.fitToWidth = 1
    setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True


def _display_width(texts) -> int:
    """Spreadsheet column width of the widest text: a CJK character is two units wide."""
    return max((sum(2 if ord(ch) > 0x2E80 else 1 for ch in t) for t in texts), default=0)
