"""The neutral report table: rates, totals, number formats and the shared header layout."""

import pytest

from reports.table import (
    Chart,
    Column,
    HeaderCell,
    Row,
    Table,
    chart_data,
    column_numbers,
    compute_rate,
    excel_number_format,
    format_value,
    header_cells,
    header_depth,
    to_dict,
)
from tests.unit.reports import samples


@pytest.mark.parametrize(
    ("numerator", "denominator", "rate"),
    [(49, 400, 12.3), (1, 8, 12.5), (1, 3, 33.3), (2, 3, 66.7), (0, 5, 0.0), (5, 0, None)],
)
def test_rate_rounds_half_up_to_one_decimal(numerator, denominator, rate):
    # 49/400 is 12.25: binary floats would round it to 12.2.
    assert compute_rate(numerator, denominator) == rate


def test_rate_without_values_is_none():
    assert compute_rate(None, 10) is None
    assert compute_rate(3, None) is None


def test_total_sums_counts_and_computes_the_rate_from_the_sums():
    table = samples.table()
    rate = table.columns[table.column_index("htn.rate")]
    assert rate.decimals == 1
    assert table.total.values[:4] == [1872, 1400, 922, 65.9]  # not 12.3 + 87.3
    assert table.total.label == "合计" and table.total.code == ""


def test_formats():
    count, rate, number = Column("a", "A"), Column("r", "R", kind="rate"), samples.COLUMNS[-1]
    assert format_value(count, 1234567) == "1,234,567"
    assert format_value(rate, 12.25) == "12.3"
    assert format_value(rate, 65.0) == "65.0"
    assert format_value(rate, None) == ""
    assert format_value(number, 20345.675) == "20,345.68"
    assert [excel_number_format(c) for c in (count, rate, number)] == ["#,##0", "0.0", "#,##0.00"]


def test_column_numbers_letter_the_stub_and_number_the_data_columns():
    assert column_numbers(samples.table()) == ["甲", "乙", "1", "2", "3", "4", "5", "6", "7"]


def test_header_cells_merge_groups_and_span_short_leaves_down():
    table = samples.table()
    assert header_depth(table) == 3
    cells = {(c.row, c.col): c for c in header_cells(table)}
    assert cells[(0, 0)] == HeaderCell(0, 0, 3, 1, "单位名称")
    assert cells[(0, 2)] == HeaderCell(0, 2, 3, 1, "在岗职工数", "人")
    assert cells[(0, 3)] == HeaderCell(0, 3, 1, 3, "高血压患者管理")
    assert cells[(1, 5)] == HeaderCell(1, 5, 2, 1, "规范管理率", "%")
    assert cells[(0, 6)] == HeaderCell(0, 6, 1, 2, "诊疗服务")
    assert cells[(1, 7)] == HeaderCell(1, 7, 1, 1, "其中")
    assert cells[(2, 7)] == HeaderCell(2, 7, 1, 1, "家庭卫生服务人次", "人次")
    # Every grid cell is covered exactly once.
    covered = [
        (c.row + dr, c.col + dc)
        for c in cells.values()
        for dr in range(c.rowspan)
        for dc in range(c.colspan)
    ]
    assert sorted(covered) == [(r, c) for r in range(3) for c in range(9)]


def test_same_group_name_apart_is_not_merged():
    cols = [Column("a", "A", ("G",)), Column("b", "B"), Column("c", "C", ("G",))]
    table = Table(samples.header(), "n", "c", cols, [], Row("", "T", [0, 0, 0]), "T")
    groups = [c for c in header_cells(table) if c.text == "G"]
    assert [(g.col, g.colspan) for g in groups] == [(2, 1), (4, 1)]


def test_chart_data_is_the_units_without_the_total():
    data = chart_data(samples.table())
    assert data["categories"] == ["东城区", "西城区", "朝阳区"]
    assert data["values"] == [12.3, 87.3, None]


def test_inconsistent_tables_are_refused():
    header = samples.header()
    cols = [Column("a", "A")]
    with pytest.raises(ValueError, match="values"):
        Table(header, "n", "c", cols, [Row("1", "x", [1, 2])], Row("", "T", [1]), "T")
    with pytest.raises(ValueError, match="chart"):
        Table(header, "n", "c", cols, [], Row("", "T", [1]), "T", chart=Chart("b", "B"))
    with pytest.raises(ValueError, match="kind"):
        Column("a", "A", kind="percent")


def test_to_dict_is_plain_data():
    data = to_dict(samples.table())
    assert data["total"]["values"][3] == 65.9
    assert data["columns"][3]["numerator"] == "htn.managed"
