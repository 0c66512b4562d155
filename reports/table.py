"""The neutral model of a statistical report table, and the helpers its renderers share.

One `Table` is rendered to HTML, PDF and XLSX (reports.render_html, render_pdf,
render_xlsx); the layout decisions that must agree between them (the multi-level column
headers, the column-number row, the order of the rows, how a number is written) live here
so the three can never disagree. Every text in a table is already translated.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

COUNT = "count"
NUMBER = "number"
RATE = "rate"
KINDS = (COUNT, NUMBER, RATE)
RATE_DECIMALS = 1

# The column-number row of an official table: the stub columns are lettered with the
# heavenly stems, the data columns numbered. Fixed by the statistical standard, not UI text.
STUB_NUMBERS = ("甲", "乙")

Value = int | float | None


@dataclass
class Column:
    key: str
    label: str
    groups: tuple[str, ...] = ()
    kind: str = COUNT
    unit: str = ""
    numerator: str | None = None
    denominator: str | None = None
    decimals: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.key!r}: unknown kind {self.kind!r}")
        self.groups = tuple(self.groups)
        if self.kind == RATE:
            self.decimals = RATE_DECIMALS


@dataclass
class Row:
    code: str
    label: str
    values: list[Value]
    link: str | None = None


@dataclass
class Header:
    title: str
    period_label: str
    reporting_unit: str
    marks: list[tuple[str, str]] = field(default_factory=list)
    unit_of_measure: str = ""
    footer: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The label written before the reporting unit's name ("填报单位"); none when empty.
    reporting_unit_label: str = ""
    # The page number line of the PDF; {page} and {pages} are replaced.
    page_format: str = "第 {page} 页 共 {pages} 页"

    def reporting_unit_line(self) -> str:
        """The upper-left line: the reporting unit, after its label when there is one."""
        if self.reporting_unit_label:
            return labelled([(self.reporting_unit_label, self.reporting_unit)])[0]
        return self.reporting_unit


@dataclass
class Chart:
    column: str
    title: str


@dataclass
class Table:
    header: Header
    row_heading: str
    code_heading: str
    columns: list[Column]
    rows: list[Row]
    total: Row
    total_label: str
    chart: Chart | None = None
    sheet_name: str = "报表"

    def __post_init__(self) -> None:
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys):
            raise ValueError("column keys must be unique")
        for row in [self.total, *self.rows]:
            if len(row.values) != len(self.columns):
                raise ValueError(
                    f"row {row.label!r}: {len(row.values)} values, {len(keys)} columns"
                )
        if self.chart is not None and self.chart.column not in keys:
            raise ValueError(f"chart column {self.chart.column!r} is not a column")

    def column_index(self, key: str) -> int:
        """The position of the column `key` among the data columns."""
        for i, column in enumerate(self.columns):
            if column.key == key:
                return i
        raise KeyError(key)

    def body_rows(self) -> list[Row]:
        """The rows in print order: the total first, directly under the column numbers, as
        official tables put it."""
        return [self.total, *self.rows]


# -- numbers ---------------------------------------------------------------------------
def compute_rate(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator × 100, rounded half up to one decimal; None without a
    (non-zero) denominator. Decimal, because binary floats round 12.25 down."""
    if numerator is None or not denominator:
        return None
    value = Decimal(str(numerator)) * 100 / Decimal(str(denominator))
    return float(value.quantize(Decimal(1).scaleb(-RATE_DECIMALS), rounding=ROUND_HALF_UP))


def rate_sources(table: Table, column: Column) -> tuple[int, int] | None:
    """The positions of a rate column's numerator and denominator columns, when both are
    in the table (then a spreadsheet can compute the rate from them)."""
    if column.kind != RATE or not column.numerator or not column.denominator:
        return None
    keys = [c.key for c in table.columns]
    if column.numerator not in keys or column.denominator not in keys:
        return None
    return keys.index(column.numerator), keys.index(column.denominator)


def fill_rates(columns: list[Column], values: list[Value]) -> list[Value]:
    """`values` with every rate column whose numerator and denominator are columns
    recomputed from them."""
    by_key = {c.key: v for c, v in zip(columns, values, strict=True)}
    out = list(values)
    for i, column in enumerate(columns):
        if column.kind == RATE and column.numerator in by_key and column.denominator in by_key:
            out[i] = compute_rate(by_key[column.numerator], by_key[column.denominator])
    return out


def make_total(columns: list[Column], rows: list[Row], label: str, code: str = "") -> Row:
    """The total row of `rows`: counts and numbers summed, rates computed from the summed
    numerator and denominator (a rate is never summed; without its sources it is None)."""
    sums: list[Value] = []
    for i, column in enumerate(columns):
        present: list[float] = [v for r in rows if (v := r.values[i]) is not None]
        sums.append(None if column.kind == RATE or not present else sum(present))
    return Row(code=code, label=label, values=fill_rates(columns, sums))


def format_value(column: Column, value: Value) -> str:
    """How a cell's value is written: integers with thousands separators, rates with one
    decimal, nothing for None."""
    if value is None:
        return ""
    if column.kind == COUNT:
        return f"{int(round(value)):,}"
    decimals = column.decimals
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return f"{rounded:,.{decimals}f}"


def excel_number_format(column: Column) -> str:
    """The spreadsheet number format matching `format_value`."""
    if column.kind == COUNT:
        return "#,##0"
    if column.kind == RATE:
        return "0." + "0" * column.decimals
    return "#,##0" + ("." + "0" * column.decimals if column.decimals else "")


# -- layout ----------------------------------------------------------------------------
@dataclass(frozen=True)
class HeaderCell:
    """One cell of the column headers, on a grid whose column 0 is the row heading, 1 the
    code and 2… the data columns; row 0 is the outermost header row."""

    row: int
    col: int
    rowspan: int
    colspan: int
    text: str
    unit: str = ""


STUB_COLUMNS = 2


def header_depth(table: Table) -> int:
    """The number of header rows: the deepest group nesting plus the leaf row."""
    return 1 + max((len(c.groups) for c in table.columns), default=0)


def header_cells(table: Table) -> list[HeaderCell]:
    """The header grid: adjacent columns sharing a group path are merged under one cell,
    and a leaf with fewer groups than the deepest spans down to the column-number row."""
    depth = header_depth(table)
    cells = [
        HeaderCell(0, 0, depth, 1, table.row_heading),
        HeaderCell(0, 1, depth, 1, table.code_heading),
    ]
    for level in range(depth - 1):
        start = 0
        while start < len(table.columns):
            path = table.columns[start].groups[: level + 1]
            end = start + 1
            if len(path) == level + 1:
                while end < len(table.columns) and table.columns[end].groups[: level + 1] == path:
                    end += 1
                cells.append(HeaderCell(level, STUB_COLUMNS + start, 1, end - start, path[-1]))
            start = end
    for i, column in enumerate(table.columns):
        top = len(column.groups)
        cells.append(HeaderCell(top, STUB_COLUMNS + i, depth - top, 1, column.label, column.unit))
    return sorted(cells, key=lambda c: (c.row, c.col))


def column_numbers(table: Table) -> list[str]:
    """The column-number row: 甲, 乙 for the row heading and code, then 1, 2, 3 …"""
    return [*STUB_NUMBERS, *(str(i) for i in range(1, len(table.columns) + 1))]


def labelled(pairs: list[tuple[str, str]]) -> list[str]:
    """`label：value` lines of the legal marks and of the signature line."""
    return [f"{label}：{value}" for label, value in pairs]


def chart_data(table: Table) -> dict[str, Any] | None:
    """The chart's categories (the units, not the total) and values, or None."""
    if table.chart is None:
        return None
    i = table.column_index(table.chart.column)
    column = table.columns[i]
    return {
        "title": table.chart.title,
        "series": column.label,
        "unit": column.unit,
        "categories": [r.label for r in table.rows],
        "values": [r.values[i] for r in table.rows],
    }


def to_dict(table: Table) -> dict[str, Any]:
    """The table as JSON-ready plain data."""
    return dataclasses.asdict(table)
