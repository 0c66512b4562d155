"""Render a statistical report table (reports.table.Table) as an HTML fragment."""

from __future__ import annotations

import json

from markupsafe import Markup

from reports.table import (
    HeaderCell,
    Row,
    Table,
    chart_data,
    column_numbers,
    format_value,
    header_cells,
    header_depth,
    labelled,
)


def render_html(table: Table) -> str:
    """The header block, the table, the footer and notes, and the chart's data element
    (drawn by portal/static/report_chart.js) as one escaped HTML fragment."""
    parts = [
        _header_block(table),
        Markup('<table class="report-table">'),
        _thead(table),
        _tbody(table),
        Markup("</table>"),
        _footer(table),
        _chart(table),
    ]
    return str(Markup("\n").join(p for p in parts if p))


def _header_block(table: Table) -> Markup:
    h = table.header
    marks = Markup("").join(Markup("<li>%s</li>") % line for line in labelled(h.marks))
    return Markup(
        '<div class="report-header">'
        '<ul class="report-marks">%s</ul>'
        '<h2 class="report-title">%s</h2>'
        '<p class="report-period">%s</p>'
        '<p class="report-unit"><span class="report-reporting-unit">%s</span>'
        '<span class="report-measure">%s</span></p>'
        "</div>"
    ) % (marks, h.title, h.period_label, h.reporting_unit_line(), h.unit_of_measure)


def _th(cell: HeaderCell) -> Markup:
    spans = Markup("")
    if cell.rowspan > 1:
        spans += Markup(' rowspan="%d"') % cell.rowspan
    if cell.colspan > 1:
        spans += Markup(' colspan="%d"') % cell.colspan
    unit = Markup('<br><span class="unit">(%s)</span>') % cell.unit if cell.unit else ""
    return Markup('<th scope="col"%s>%s%s</th>') % (spans, cell.text, unit)


def _thead(table: Table) -> Markup:
    rows: list[list[HeaderCell]] = [[] for _ in range(header_depth(table))]
    for cell in header_cells(table):
        rows[cell.row].append(cell)
    out = [Markup("<tr>%s</tr>") % Markup("").join(_th(c) for c in r) for r in rows]
    numbers = Markup("").join(Markup("<th>%s</th>") % n for n in column_numbers(table))
    out.append(Markup('<tr class="column-numbers">%s</tr>') % numbers)
    return Markup("<thead>%s</thead>") % Markup("").join(out)


def _tr(table: Table, row: Row, css: str) -> Markup:
    label = Markup('<a href="%s">%s</a>') % (row.link, row.label) if row.link else row.label
    cells = [Markup('<th scope="row">%s</th>') % label, Markup("<td>%s</td>") % row.code]
    cells += [
        Markup('<td class="num">%s</td>') % format_value(c, v)
        for c, v in zip(table.columns, row.values, strict=True)
    ]
    return Markup('<tr class="%s">%s</tr>') % (css, Markup("").join(cells))


def _tbody(table: Table) -> Markup:
    rows = [_tr(table, table.total, "total")]
    rows += [_tr(table, row, "unit") for row in table.rows]
    return Markup("<tbody>%s</tbody>") % Markup("").join(rows)


def _footer(table: Table) -> Markup:
    h = table.header
    signatures = Markup("").join(Markup("<span>%s</span>") % s for s in labelled(h.footer))
    notes = Markup("").join(Markup("<li>%s</li>") % n for n in h.notes)
    return Markup(
        '<div class="report-footer"><p class="report-signatures">%s</p>'
        '<ol class="report-notes">%s</ol></div>'
    ) % (signatures, notes)


def _chart(table: Table) -> Markup | None:
    data = chart_data(table)
    if data is None:
        return None
    # Single-quoted attribute: Markup's escaping turns ' and " and < into entities, so no JSON
    # value can end the attribute or open a tag.
    return Markup("<div class=\"report-chart\" data-chart='%s'></div>") % json.dumps(
        data, ensure_ascii=False
    )
