"""Render a statistical report table (reports.table.Table) as a PDF with reportlab."""

from __future__ import annotations

import functools
import io
import os

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
)
from reportlab.platypus import (
    Table as PdfTable,
)
from reportlab.platypus import (
    TableStyle as PdfTableStyle,
)
from reportlab.platypus.flowables import Flowable

from reports.table import (
    STUB_COLUMNS,
    Table,
    chart_data,
    column_numbers,
    format_value,
    header_cells,
    header_depth,
    labelled,
)

FONT = "NotoSansSC"
BOLD = "NotoSansSC-Bold"
FONT_DIR = os.path.join(os.path.dirname(__file__), "fonts")
MARGIN = 12 * mm
BODY_SIZE = 8
# A data column narrower than this makes the page landscape.
MIN_DATA_WIDTH = 18 * mm
GRID = colors.black


@functools.cache
def register_fonts() -> tuple[str, str]:
    """Register the bundled CJK TrueType fonts with reportlab once per process; reportlab
    embeds the glyphs used as a subset in each document."""
    pdfmetrics.registerFont(TTFont(FONT, os.path.join(FONT_DIR, "NotoSansSC-Regular-GB2312.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, os.path.join(FONT_DIR, "NotoSansSC-Bold-GB2312.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)
    return FONT, BOLD


def _style(name: str, size: float = BODY_SIZE, align: int = TA_LEFT, bold: bool = False):
    return ParagraphStyle(
        name,
        fontName=BOLD if bold else FONT,
        fontSize=size,
        leading=size * 1.3,
        alignment=align,
        wordWrap="CJK",  # Chinese breaks between any two characters
    )


def render_pdf(table: Table) -> bytes:
    """The table as a PDF: header block, the table with its headers repeated on every
    page, the signature line and notes, the chart, and "page x of y" on every page."""
    register_fonts()
    pagesize = page_size(table)
    width = pagesize[0] - 2 * MARGIN
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=pagesize,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        # The canvas's page preamble selects an initial font: Helvetica by default, a font
        # that would not be embedded.
        initialFontName=FONT,
        title=table.header.title,
        author=table.header.reporting_unit,
    )
    story = [*_header_block(table, width), _body(table, width), *_footer(table, width)]
    chart = _chart(table, width)
    if chart is not None:
        story += [Spacer(1, 6 * mm), chart]
    doc.build(story, canvasmaker=_numbered_canvas(table.header.page_format))
    return out.getvalue()


def page_size(table: Table) -> tuple[float, float]:
    """A4, landscape when the data columns would be too narrow on a portrait page."""
    stub = sum(_stub_widths(table))
    portrait = A4[0] - 2 * MARGIN
    return landscape(A4) if stub + len(table.columns) * MIN_DATA_WIDTH > portrait else A4


def _text_width(texts, font: str = FONT, size: float = BODY_SIZE) -> float:
    return max((pdfmetrics.stringWidth(t, font, size) for t in texts), default=0)


def _stub_widths(table: Table) -> list[float]:
    """The row heading and code columns: as wide as their longest text, within limits."""
    rows = table.body_rows()
    # + the cell padding (6 pt a side) and a little air
    label = _text_width([table.row_heading, *(r.label for r in rows)]) + 6 * mm
    code = _text_width([table.code_heading, *(r.code for r in rows)]) + 6 * mm
    return [min(max(label, 22 * mm), 60 * mm), min(max(code, 12 * mm), 30 * mm)]


def _header_block(table: Table, width: float) -> list[Flowable]:
    """Marks upper right, reporting unit upper left, title and period centred, and the
    unit-of-measure line: a borderless three-column table."""
    h = table.header
    marks = Paragraph("<br/>".join(_esc(m) for m in labelled(h.marks)), _style("marks", 7))
    title = Paragraph(_esc(h.title), _style("title", 15, TA_CENTER, bold=True))
    period = Paragraph(_esc(h.period_label), _style("period", 9, TA_CENTER))
    unit = Paragraph(_esc(h.reporting_unit_line()), _style("unit", 9))
    measure = Paragraph(_esc(h.unit_of_measure), _style("measure", 9, TA_RIGHT))
    side = width * 0.3
    block = PdfTable(
        [[unit, [title, Spacer(1, 2 * mm), period], marks], ["", "", measure]],
        colWidths=[side, width - 2 * side, side],
    )
    block.setStyle(
        _table_style(
            ("VALIGN", (0, 0), (-1, 0), "BOTTOM"),
            ("VALIGN", (2, 0), (2, 0), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        )
    )
    return [block, Spacer(1, 2 * mm)]


def _body(table: Table, width: float) -> PdfTable:
    """Headers with spans, the column numbers, the total and the unit rows; the header
    rows (and the column numbers) repeat on every page."""
    depth = header_depth(table)
    ncols = STUB_COLUMNS + len(table.columns)
    head_style = _style("head", BODY_SIZE, TA_CENTER)
    grid: list[list] = [[""] * ncols for _ in range(depth)]
    commands = [
        ("FONTSIZE", (0, 0), (-1, -1), BODY_SIZE),
        ("GRID", (0, 0), (-1, -1), 0.5, GRID),
        ("BOX", (0, 0), (-1, -1), 1, GRID),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (0, depth), (-1, depth), "CENTER"),
        ("ALIGN", (STUB_COLUMNS, depth + 1), (-1, -1), "RIGHT"),
        ("FONTNAME", (0, depth + 1), (-1, depth + 1), BOLD),
    ]
    for cell in header_cells(table):
        text = _esc(cell.text) + (f"<br/>({_esc(cell.unit)})" if cell.unit else "")
        grid[cell.row][cell.col] = Paragraph(text, head_style)
        last = (cell.col + cell.colspan - 1, cell.row + cell.rowspan - 1)
        if last != (cell.col, cell.row):
            commands.append(("SPAN", (cell.col, cell.row), last))
    grid.append(column_numbers(table))
    # Labels wrap (a long unit name must not run into the next cell); numbers don't.
    label_styles = [_style("total", bold=True), _style("label")]
    for i, row in enumerate(table.body_rows()):
        values = [format_value(c, v) for c, v in zip(table.columns, row.values, strict=True)]
        label = Paragraph(_esc(row.label), label_styles[min(i, 1)])
        grid.append([label, row.code, *values])
    stub = _stub_widths(table)
    data_width = (width - sum(stub)) / max(len(table.columns), 1)
    pdf_table = PdfTable(
        grid, colWidths=[*stub, *([data_width] * len(table.columns))], repeatRows=depth + 1
    )
    pdf_table.setStyle(_table_style(*commands))
    return pdf_table


def _footer(table: Table, width: float) -> list[Flowable]:
    h = table.header
    flowables: list[Flowable] = [Spacer(1, 3 * mm)]
    if h.footer:
        texts = labelled(h.footer)
        cells = [Paragraph(_esc(s), _style("sign", 9)) for s in texts]
        # Each signature as wide as its text, the slack shared out between them.
        natural = [pdfmetrics.stringWidth(t, FONT, 9) + 2 * mm for t in texts]
        slack = max(width - sum(natural), 0) / len(texts)
        line = PdfTable([cells], colWidths=[w + slack for w in natural])
        line.setStyle(_table_style(("LEFTPADDING", (0, 0), (-1, -1), 0)))
        flowables.append(line)
    notes = [Paragraph(_esc(n), _style("note", 8)) for n in h.notes]
    if notes:
        flowables += [Spacer(1, 2 * mm), *notes]
    return flowables


def _chart(table: Table, width: float) -> Flowable | None:
    """A vertical bar chart of the chart column by unit, with CJK labels."""
    data = chart_data(table)
    if data is None or not data["categories"]:
        return None
    height = 75 * mm
    drawing = Drawing(width, height)
    # The drawing's renderer starts from this font (Helvetica unless told), not embedded.
    drawing.initialFontName = FONT
    chart = VerticalBarChart()
    chart.x, chart.y = 15 * mm, 22 * mm
    chart.width, chart.height = width - 20 * mm, height - 32 * mm
    # A unit without a value (a rate without a denominator) is drawn as no bar.
    chart.data = [[v if v is not None else 0 for v in data["values"]]]
    chart.bars[0].fillColor = colors.HexColor("#3b6ea5")
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 7
    axis = chart.categoryAxis
    axis.categoryNames = data["categories"]
    axis.labels.fontName = FONT
    axis.labels.fontSize = 7 if len(data["categories"]) <= 20 else 5
    axis.labels.boxAnchor = "ne"
    axis.labels.angle = 30 if len(data["categories"]) <= 20 else 90
    axis.labels.dy = -2
    drawing.add(chart)
    drawing.add(
        String(
            width / 2,
            height - 6 * mm,
            data["title"],
            fontName=BOLD,
            fontSize=10,
            textAnchor="middle",
        )
    )
    return KeepTogether([drawing])


def _table_style(*commands) -> PdfTableStyle:
    """A table style whose cells use the embedded font: reportlab sets a cell's font even
    for an empty cell, and its default, Helvetica, would not be embedded."""
    return PdfTableStyle([("FONTNAME", (0, 0), (-1, -1), FONT), *commands])


def _esc(text: str) -> str:
    """Paragraph text is a little markup language: escape what it would interpret."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _numbered_canvas(page_format: str) -> type[canvas.Canvas]:
    """A canvas class that holds its pages until the end, so every page can say how many
    pages there are (the two-pass NumberedCanvas pattern)."""

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._draw_page_number(number, len(self._pages))
                super().showPage()
            super().save()

        def _draw_page_number(self, page: int, pages: int) -> None:
            self.setFont(FONT, 8)
            text = page_format.format(page=page, pages=pages)
            self.drawCentredString(self._pagesize[0] / 2, MARGIN / 2 + 2 * mm, text)

    return NumberedCanvas
