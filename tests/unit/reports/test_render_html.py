"""The HTML report table: headers with spans, escaping, drill-down links, chart data."""

import html
import json
import re

from reports.render_html import render_html
from tests.unit.reports import samples


def test_headers_span_and_column_numbers_follow():
    out = render_html(samples.table())
    assert '<th scope="col" colspan="3">高血压患者管理</th>' in out
    assert '<th scope="col" colspan="2">诊疗服务</th>' in out
    assert '<th scope="col" rowspan="3">单位名称</th>' in out
    assert '<th scope="col" rowspan="2">规范管理率<br><span class="unit">(%)</span></th>' in out
    numbers = re.search(r'<tr class="column-numbers">(.*?)</tr>', out).group(1)
    assert re.findall(r"<th>(.*?)</th>", numbers) == ["甲", "乙", *map(str, range(1, 8))]


def test_total_first_then_units_with_formatted_numbers():
    out = render_html(samples.table())
    body = out[out.index("<tbody>") :]
    rows = re.findall(r'<tr class="(total|unit)">(.*?)</tr>', body)
    assert [kind for kind, _ in rows] == ["total", "unit", "unit", "unit"]
    total = re.findall(r'<td class="num">(.*?)</td>', rows[0][1])
    assert total == ["1,872", "1,400", "922", "65.9", "361,479", "5,801", "30,700.18"]
    chaoyang = re.findall(r'<td class="num">(.*?)</td>', rows[3][1])
    assert chaoyang[3] == ""  # no rate without a denominator


def test_every_text_is_escaped():
    table = samples.table(links=True)
    table.rows[0].label = "<script>alert('x')</script>"
    table.header.title = "A & B"
    out = render_html(table)
    assert "<script>" not in out
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in out
    assert "A &amp; B" in out


def test_drill_down_links():
    out = render_html(samples.table(links=True))
    assert '<a href="/reports/unit/110101">东城区</a>' in out
    assert "<a" not in re.search(r'<tr class="total">.*?</tr>', out).group(0)
    assert "<a" not in render_html(samples.table(links=False)).split("<tbody>")[1]


def test_chart_data_attribute_holds_json_safely():
    table = samples.table()
    table.rows[1].label = "西城区' onmouseover='x"
    out = render_html(table)
    attribute = re.search(r"data-chart='([^']*)'", out).group(1)
    data = json.loads(html.unescape(attribute))
    assert data["categories"] == ["东城区", "西城区' onmouseover='x", "朝阳区"]
    assert data["values"] == [12.3, 87.3, None]
    table.chart = None
    assert "report-chart" not in render_html(table)
