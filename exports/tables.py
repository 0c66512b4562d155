"""Plain tables in and out: rows to CSV or XLSX bytes, and rows back from a CSV or XLSX file.

Written CSV is UTF-8 with a byte-order mark, so Excel (including Chinese Excel) opens it
with the right encoding. Read CSV may also be GB18030 (what Chinese Excel saves as "CSV")
or UTF-16 ("Unicode text"). Every value read comes back as a stripped string, with the
1-based row number it had in the file, so callers can point people at the offending row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

CSV = "csv"
XLSX = "xlsx"

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and other Office 97 files)
# A spreadsheet treats a cell starting with one of these as a formula ("CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MIN_WIDTH, _MAX_WIDTH = 8, 60
# What openpyxl raises on a damaged workbook (SyntaxError: the XML parser's ParseError).
_DAMAGED_XLSX = (
    zipfile.BadZipFile,
    KeyError,
    IndexError,
    OSError,
    ValueError,
    TypeError,
    SyntaxError,
)


class TableError(ValueError):
    """The file cannot be read as a table.

    `reason` is a stable key callers can map to their own (translated) message:
    empty, legacy_xls, not_xlsx, bad_xlsx, not_text, no_header, duplicate_column,
    unnamed_column, too_many_rows. `detail` holds the values that message needs.
    """

    def __init__(self, reason: str, message: str, **detail: Any):
        super().__init__(message)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Row:
    """One data row: its row number in the file (the header is row 1 when it is first)."""

    number: int
    values: dict[str, str]
    # Non-empty cells beyond the last heading, which belong to no column.
    extra: tuple[str, ...] = ()


@dataclass
class Table:
    format: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)
    header_row: int = 1


# -- writing ---------------------------------------------------------------------------------
def _text(value: Any) -> str:
    """A value as the text a person would type: ISO dates, true/false, 3 not 3.0."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        # Excel stores every number as a float: 110101 must not become "110101.0".
        return str(int(value))
    return str(value)


def _clean(text: str) -> str:
    """Without the control characters a workbook cannot hold (and CSV readers trip on)."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _escape_formula(text: str) -> str:
    """Quote a value a spreadsheet would run as a formula; read_table undoes it.

    A value that already starts with the quote before a formula character gets another
    one, so the round trip is exact.
    """
    if text.startswith(_FORMULA_START) or (
        text.startswith("'") and text.lstrip("'").startswith(_FORMULA_START)
    ):
        return "'" + text
    return text


def _unescape_formula(text: str) -> str:
    if text.startswith("'") and text[1:].lstrip("'").startswith(_FORMULA_START):
        return text[1:]
    return text


def _cells(columns: Sequence[str], row: Mapping[str, Any] | Sequence[Any]) -> list[Any]:
    if isinstance(row, Mapping):
        return [row.get(column) for column in columns]
    if len(row) != len(columns):
        raise ValueError(f"row has {len(row)} values for {len(columns)} columns")
    return list(row)


def write_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any] | Sequence[Any]]) -> bytes:
    """CSV bytes: UTF-8 with BOM, CRLF line ends, a header row of `columns`.

    Rows are mappings (keyed by column) or sequences in column order. Dates are written
    ISO 8601, booleans as true/false, None as an empty cell; control characters other
    than tab and line breaks are dropped.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_escape_formula(_clean(c)) for c in columns])
    for row in rows:
        writer.writerow([_escape_formula(_clean(_text(v))) for v in _cells(columns, row)])
    return out.getvalue().encode("utf-8-sig")


def _display_width(text: str) -> int:
    """Columns a value takes in a spreadsheet: East Asian wide characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def write_xlsx(
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any] | Sequence[Any]],
    sheet_title: str = "Sheet1",
) -> bytes:
    """XLSX bytes: one sheet, bold frozen header row, columns sized to their content.

    Strings are stored as text (never as formulas, and codes keep their leading zeros);
    dates and numbers keep their types so a spreadsheet can sort and filter them.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = sheet_title[:31]
    widths = [_display_width(c) for c in columns]
    bold = Font(bold=True)
    for index, column in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=index, value=column)
        cell.font = bold
    for row_index, row in enumerate(rows, start=2):
        for col_index, value in enumerate(_cells(columns, row), start=1):
            cell = ws.cell(row=row_index, column=col_index)
            if isinstance(value, str):
                cell.value = _clean(value)
                # Text, always: openpyxl would store "=..." as a formula, "#N/A" as an error.
                cell.data_type = "s"
            elif isinstance(value, dt.datetime):
                cell.value = value
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif isinstance(value, dt.date):
                cell.value = value
                cell.number_format = "yyyy-mm-dd"
            else:
                cell.value = value
            widths[col_index - 1] = max(widths[col_index - 1], _display_width(_text(value)))
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = min(
            max(width + 2, _MIN_WIDTH), _MAX_WIDTH
        )
    ws.freeze_panes = "A2"
    if columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}1"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# -- reading ---------------------------------------------------------------------------------
def detect_format(data: bytes, filename: str | None = None) -> str:
    """CSV or XLSX, from the content; the filename only sharpens the error messages."""
    name = (filename or "").lower()
    if data.startswith(_ZIP_MAGIC):
        return XLSX
    if data.startswith(_OLE2_MAGIC) or name.endswith(".xls"):
        raise TableError(
            "legacy_xls", "old Excel .xls files cannot be read; save the file as .xlsx or .csv"
        )
    if name.endswith((".xlsx", ".xlsm")):
        raise TableError("not_xlsx", f"{filename} is not an Excel workbook", filename=filename)
    return CSV


def read_table(
    source: bytes | IO[bytes],
    filename: str | None = None,
    max_rows: int | None = None,
) -> Table:
    """Read the first sheet of an XLSX file, or a CSV file, into rows of strings.

    The first non-empty row is the header; headings are stripped and lower-cased, and the
    rows are dicts keyed by them. Empty rows are skipped but still counted, so each row's
    `number` is the one a spreadsheet shows. Raises TableError when the file is not a table.
    """
    data = source if isinstance(source, bytes) else source.read()
    if not data.strip():
        raise TableError("empty", "the file is empty")
    fmt = detect_format(data, filename)
    lines = _xlsx_lines(data) if fmt == XLSX else _csv_lines(data)
    return _table(fmt, lines, max_rows)


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in data[:4096]:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
    raise TableError("not_text", "the file is neither a spreadsheet nor CSV text")


def _delimiter(text: str) -> str:
    """Comma unless the header line clearly uses tabs or semicolons (European Excel)."""
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] > counts[","] else ","


def _csv_lines(data: bytes):
    text = _decode(data)
    # csv counts records, not physical lines: a quoted value may span lines, and a
    # spreadsheet shows such a record as one row, which is the number people look for.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    try:
        for number, record in enumerate(reader, start=1):
            yield number, [_unescape_formula(v).strip() for v in record]
    except csv.Error as e:
        raise TableError(
            "not_text", f"CSV error near row {reader.line_num}: {e}", row=reader.line_num
        ) from e


def _xlsx_lines(data: bytes) -> list[tuple[int, list[str]]]:
    try:
        with warnings.catch_warnings():
            # openpyxl warns about workbook features it skips (styles, validation
            # extensions); they do not affect the cell values read here.
            warnings.simplefilter("ignore", UserWarning)
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                return list(_sheet_lines(wb.worksheets[0]))
            finally:
                wb.close()
    except _DAMAGED_XLSX as e:
        raise TableError("bad_xlsx", f"the Excel file is damaged or not a workbook: {e}") from e


def _sheet_lines(ws):
    # The stored dimensions may be wrong (files written by other tools): let openpyxl
    # find the cells itself.
    ws.reset_dimensions()
    for cells in ws.iter_rows():
        cells = [c for c in cells if getattr(c, "row", None) is not None]
        if not cells:
            continue
        values = [""] * max(c.column for c in cells)
        for c in cells:
            values[c.column - 1] = _text(c.value).strip()
        yield cells[0].row, values


def _table(fmt: str, lines, max_rows: int | None) -> Table:
    header: list[str] | None = None
    table = Table(format=fmt, columns=[])
    for number, values in lines:
        if not any(values):
            continue
        if header is None:
            header = _header(values, number)
            table.columns = [h for h in header if h]
            table.header_row = number
            continue
        if max_rows is not None and len(table.rows) >= max_rows:
            raise TableError("too_many_rows", f"more than {max_rows} rows", max_rows=max_rows)
        row_values = {}
        for index, heading in enumerate(header):
            value = values[index] if index < len(values) else ""
            if heading:
                row_values[heading] = value
            elif value:
                raise TableError(
                    "unnamed_column",
                    f"row {number} has a value in column {index + 1}, which has no heading",
                    row=number,
                    column=index + 1,
                )
        extra = tuple(v for v in values[len(header) :] if v)
        table.rows.append(Row(number=number, values=row_values, extra=extra))
    if header is None:
        raise TableError("no_header", "the file has no header row")
    return table


def _header(values: list[str], number: int) -> list[str]:
    header = [v.strip().lstrip("\ufeff").strip().lower() for v in values]
    while header and not header[-1]:
        header.pop()
    seen = set()
    for heading in header:
        if heading and heading in seen:
            raise TableError(
                "duplicate_column",
                f"the column {heading} appears twice in the header",
                row=number,
                column=heading,
            )
        seen.add(heading)
    return header
