"""exports.tables: rows to CSV/XLSX and back, with row numbers and clear refusals."""

import csv
import datetime as dt
import io

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exports import tables
from exports.tables import TableError, read_table, write_csv, write_xlsx

COLUMNS = ["code", "name", "valid_from"]
ROWS = [
    {"code": "110101", "name": "东城区", "valid_from": dt.date(2020, 1, 2)},
    {"code": "001", "name": "Leading zeros, and a comma", "valid_from": None},
]


def xlsx_bytes(rows, title="Sheet"):
    """A workbook written cell by cell, as a person (or another program) would."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for (row, column), value in rows.items():
        ws.cell(row=row, column=column, value=value)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# -- CSV ------------------------------------------------------------------------------------
def test_csv_is_utf8_with_bom_and_crlf_and_a_header():
    data = write_csv(COLUMNS, ROWS)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.split("\r\n")[:3] == [
        "code,name,valid_from",
        "110101,东城区,2020-01-02",
        '001,"Leading zeros, and a comma",',
    ]


def test_control_characters_are_dropped_from_csv():
    assert read_table(write_csv(["v"], [["a\x00b\x07c"]])).rows[0].values["v"] == "abc"


def test_csv_rows_may_be_sequences_in_column_order():
    data = write_csv(["a", "b"], [[1, True], [None, 2.5], [dt.datetime(2026, 1, 2, 3, 4), 3.0]])
    assert data.decode("utf-8-sig").split("\r\n")[1:4] == [
        "1,true",
        ",2.5",
        "2026-01-02 03:04:00,3",
    ]
    with pytest.raises(ValueError):
        write_csv(["a", "b"], [[1]])


def test_csv_round_trip_gives_strings_with_row_numbers():
    table = read_table(write_csv(COLUMNS, ROWS), "units.csv")
    assert table.format == tables.CSV
    assert table.columns == COLUMNS and table.header_row == 1
    assert [(r.number, r.values) for r in table.rows] == [
        (2, {"code": "110101", "name": "东城区", "valid_from": "2020-01-02"}),
        (3, {"code": "001", "name": "Leading zeros, and a comma", "valid_from": ""}),
    ]


def test_values_a_spreadsheet_would_run_as_formulas_are_quoted_and_read_back_exactly():
    values = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "'=already quoted", "a=b"]
    data = write_csv(["v"], [[v] for v in values])
    written = [line for line in data.decode("utf-8-sig").split("\r\n")[1:] if line]
    assert [w.lstrip('"').startswith(("'", "a")) for w in written] == [True] * len(values)
    assert [r.values["v"] for r in read_table(data).rows] == values


def test_blank_rows_are_skipped_but_counted_and_headings_are_normalised():
    data = "\ufeff Code ,NAME,,\r\n\r\n110101, 东城区 \r\n,\r\n110102,西城区\r\n".encode()
    table = read_table(data)
    assert table.columns == ["code", "name"]
    assert [(r.number, r.values["name"]) for r in table.rows] == [(3, "东城区"), (5, "西城区")]


def test_a_quoted_value_spanning_lines_is_one_row():
    data = b'code,name\n1,"two\nlines"\n2,next\n'
    assert [(r.number, r.values["code"]) for r in read_table(data).rows] == [(2, "1"), (3, "2")]


def test_chinese_excel_csv_in_gb18030_is_read():
    data = "code,name\n110101,东城区\n".encode("gb18030")
    assert read_table(data, "units.csv").rows[0].values["name"] == "东城区"


def test_utf16_tab_separated_text_is_read():
    data = "code\tname\r\n110101\t东城区\r\n".encode("utf-16")
    assert read_table(data).rows[0].values == {"code": "110101", "name": "东城区"}


def test_semicolon_separated_csv_is_read():
    assert read_table(b"code;name\n1;a,b\n").rows[0].values == {"code": "1", "name": "a,b"}


def test_values_beyond_the_header_are_reported_with_the_row():
    row = read_table(b"a,b\n1,2,3,,4\n1,2,,\n").rows
    assert row[0].extra == ("3", "4") and row[1].extra == ()


def test_a_missing_trailing_value_is_empty():
    assert read_table(b"a,b,c\n1\n").rows[0].values == {"a": "1", "b": "", "c": ""}


# What a cell can hold: any text but lone surrogates and the C0 controls workbooks refuse.
CELL_TEXT = st.text(
    st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters=[chr(c) for c in range(32) if chr(c) not in "\t\n\r"],
    )
)


@settings(deadline=None)  # timing varies on a busy CI machine; correctness does not
@given(st.lists(st.lists(CELL_TEXT, min_size=3, max_size=3), max_size=5))
def test_any_text_survives_the_csv_round_trip(rows):
    table = read_table(write_csv(COLUMNS, rows))
    expected = [r for r in rows if any(v.strip() for v in r)]
    assert [[r.values[c] for c in COLUMNS] for r in table.rows] == [
        [v.strip() for v in r] for r in expected
    ]


# XML turns a lone carriage return into a line feed, so a workbook cannot keep one.
XLSX_CELL_TEXT = CELL_TEXT.filter(lambda text: "\r" not in text)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(XLSX_CELL_TEXT, min_size=3, max_size=3), max_size=5))
def test_any_text_survives_the_xlsx_round_trip(rows):
    table = read_table(write_xlsx(COLUMNS, rows))
    expected = [r for r in rows if any(v.strip() for v in r)]
    assert [[r.values[c] for c in COLUMNS] for r in table.rows] == [
        [v.strip() for v in r] for r in expected
    ]


# -- XLSX -----------------------------------------------------------------------------------
def test_xlsx_has_a_bold_frozen_header_and_fitting_widths():
    data = write_xlsx(COLUMNS, ROWS, sheet_title="东城区")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.active
    assert ws.title == "东城区"
    assert [c.value for c in ws[1]] == COLUMNS and all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:C1"
    # "Leading zeros, and a comma" is 26 wide; widths are padded, and at least 8.
    assert ws.column_dimensions["B"].width == 28
    assert ws.column_dimensions["A"].width == 8
    # Chinese characters are twice as wide as Latin ones.
    wide = openpyxl.load_workbook(io.BytesIO(write_xlsx(["n"], [["北京市东城区和平里"]]))).active
    assert wide.column_dimensions["A"].width == 18 + 2


def test_xlsx_keeps_codes_as_text_dates_as_dates_and_never_writes_formulas():
    data = write_xlsx(
        ["code", "day", "n", "text"],
        [
            ["001", dt.date(2026, 1, 31), 3, "=1+1"],
            ["#N/A", dt.datetime(2026, 1, 31, 8, 0), 2.5, "x\x07y"],
        ],
    )
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert (ws["A2"].value, ws["A2"].data_type) == ("001", "s")
    assert ws["B2"].is_date and ws["B2"].number_format == "yyyy-mm-dd"
    assert ws["B3"].value == dt.datetime(2026, 1, 31, 8, 0)
    assert (ws["C2"].value, ws["C3"].value) == (3, 2.5)
    assert (ws["D2"].value, ws["D2"].data_type) == ("=1+1", "s")
    assert (ws["A3"].value, ws["A3"].data_type) == ("#N/A", "s")
    assert ws["D3"].value == "xy"  # control characters are not allowed in a workbook


def test_xlsx_round_trip():
    table = read_table(io.BytesIO(write_xlsx(COLUMNS, ROWS)), "units.xlsx")
    assert table.format == tables.XLSX
    assert [(r.number, r.values) for r in table.rows] == [
        (2, {"code": "110101", "name": "东城区", "valid_from": "2020-01-02"}),
        (3, {"code": "001", "name": "Leading zeros, and a comma", "valid_from": ""}),
    ]


def test_xlsx_cells_typed_by_a_person_come_back_as_plain_strings():
    data = xlsx_bytes(
        {
            (3, 1): "Code",
            (3, 2): "when",
            (3, 3): "n",
            (3, 4): "ok",
            (5, 1): 110101,
            (5, 2): dt.datetime(2026, 2, 1),
            (5, 3): 1.5,
            (5, 4): True,
            (7, 1): 110102.0,
            (7, 2): dt.datetime(2026, 2, 1, 8, 30),
            (7, 6): "stray",
        }
    )
    table = read_table(data)
    assert table.header_row == 3 and table.columns == ["code", "when", "n", "ok"]
    assert [(r.number, r.values, r.extra) for r in table.rows] == [
        (5, {"code": "110101", "when": "2026-02-01", "n": "1.5", "ok": "true"}, ()),
        (7, {"code": "110102", "when": "2026-02-01 08:30:00", "n": "", "ok": ""}, ("stray",)),
    ]


def test_only_the_first_sheet_is_read():
    wb = openpyxl.Workbook()
    wb.active.append(["code"])
    wb.active.append(["1"])
    wb.create_sheet("other").append(["nope"])
    out = io.BytesIO()
    wb.save(out)
    assert read_table(out.getvalue()).columns == ["code"]


# -- refusals -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data, filename, reason",
    [
        (b"", "x.csv", "empty"),
        (b" \r\n ", None, "empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "units.xls", "legacy_xls"),
        (b"code,name\n", "units.xls", "legacy_xls"),
        (b"code,name\n", "units.xlsx", "not_xlsx"),
        (b"PK\x03\x04 not really a zip", "units.xlsx", "bad_xlsx"),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "photo.csv", "not_text"),
        (b"\xff\xfe\x00\xd8", None, "not_text"),  # a UTF-16 BOM, then a broken surrogate
        (b'a,b\n"unterminated\n', None, "not_text"),
        (b"a,a\n1,2\n", None, "duplicate_column"),
        (b"a,,b\n1,2,3\n", None, "unnamed_column"),
        (b"\n\n,,\n", None, "no_header"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(data, filename, reason):
    with pytest.raises(TableError) as e:
        read_table(data, filename)
    assert e.value.reason == reason
    assert str(e.value)


def test_a_header_without_rows_is_a_table_and_only_blank_lines_are_not():
    assert read_table(b"code,name\n").rows == []
    with pytest.raises(TableError) as e:
        read_table(xlsx_bytes({(1, 1): None}))
    assert e.value.reason == "no_header"


def test_a_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(out, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(TableError) as e:
        read_table(out.getvalue(), "units.xlsx")
    assert e.value.reason == "bad_xlsx"


def test_too_many_rows_are_refused():
    data = write_csv(["n"], [[i] for i in range(11)])
    assert len(read_table(data, max_rows=11).rows) == 11
    with pytest.raises(TableError) as e:
        read_table(data, max_rows=10)
    assert (e.value.reason, e.value.detail) == ("too_many_rows", {"max_rows": 10})


def test_the_unnamed_column_error_names_row_and_column():
    with pytest.raises(TableError) as e:
        read_table(b"a,,b\n1,,3\n4,5,6\n")
    assert e.value.detail == {"row": 3, "column": 2}


def test_csv_written_here_is_plain_csv_for_other_tools():
    rows = list(csv.reader(io.StringIO(write_csv(COLUMNS, ROWS).decode("utf-8-sig"))))
    assert rows[0] == COLUMNS and rows[1][1] == "东城区"
