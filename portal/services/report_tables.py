"""A built report (portal/services/reports.Result) as the neutral table the renderers share
(reports/table.py), and as the file a manager downloads: HTML, PDF or XLSX.

The table carries the official header of the report's definition (表号, 制定机关, 批准机关,
批准文号, 有效期至, 计量单位), the 合计 row, the unit rows and the signature line. When the unit
itself has records of its own (a centre's, beside its stations'), a "本级" row holds them, so
that the rows add up to the 合计 row, as a spreadsheet's SUM will.
"""

from __future__ import annotations

import datetime as dt

from forms import periods
from portal.i18n import forms_language
from portal.services import jobs
from portal.services.reports import Result, text
from reports import table as t
from reports.render_html import render_html
from reports.render_pdf import render_pdf
from reports.render_xlsx import render_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"pdf": "application/pdf", "xlsx": XLSX}

_MARKS = (
    ("table_no", {"zh": "表号", "en": "Table No."}),
    ("authority", {"zh": "制定机关", "en": "Prepared by"}),
    ("approved_by", {"zh": "批准机关", "en": "Approved by"}),
    ("approval_no", {"zh": "批准文号", "en": "Approval No."}),
    ("valid_until", {"zh": "有效期至", "en": "Valid until"}),
)
_SIGNATURES = (
    {"zh": "单位负责人", "en": "Head of unit"},
    {"zh": "统计负责人", "en": "Head of statistics"},
    {"zh": "填表人", "en": "Prepared by"},
)
_WORDS = {
    "reporting_unit": {"zh": "填报单位", "en": "Reporting unit"},
    "unit_of_measure": {"zh": "计量单位", "en": "Unit of measure"},
    "reported_on": {"zh": "报出日期", "en": "Date reported"},
    "row_heading": {"zh": "单位名称", "en": "Unit"},
    "code_heading": {"zh": "代码", "en": "Code"},
    "total": {"zh": "合计", "en": "Total"},
    "own": {"zh": "（本级）", "en": " (own records)"},
    "page": {"zh": "第 {page} 页 共 {pages} 页", "en": "Page {page} of {pages}"},
    "missing": {"zh": "未报单位", "en": "Units that did not report"},
    "approved_only": {
        "zh": "本表只统计经{level}及以上审核通过的记录。",
        "en": "Counts only the records approved at {level} level or above.",
    },
    "period_approved": {"zh": "本期已审核锁定的表单：", "en": "Forms whose period is approved: "},
    "all_records": {
        "zh": "本表统计已提交的全部记录（含尚未审核的）。",
        "en": "Counts every submitted record, approved or not yet.",
    },
    "more": {"zh": "等{n}个", "en": "and {n} more"},
    "disaggregated": {"zh": "按{name}分组", "en": "by {name}"},
}
# The missing units named in a file's notes, at most (the page lists them all).
_MISSING_IN_NOTES = 40


def period_label(period: str, language: str) -> str:
    """2026 → 2026年, 2026-Q3 → 2026年第3季度, 2026-10 → 2026年10月 (English: 2026,
    2026 Q3, October 2026)."""
    kind = periods.period_type_of(period)
    year = period[:4]
    if kind == "quarter":
        return f"{year} Q{period[-1]}" if language == "en" else f"{year}年第{period[-1]}季度"
    if kind == "month":
        month = int(period[5:7])
        if language == "en":
            return dt.date(int(year), month, 1).strftime("%B %Y")
        return f"{year}年{month}月"
    return year if language == "en" else f"{year}年"


def to_table(result: Result, language: str, link=None) -> t.Table:
    """The neutral table of a built report. `link(code)` gives a row's drill-down URL."""
    w = {key: text(value, language) for key, value in _WORDS.items()}
    definition = result.definition
    header = definition.get("header", {})
    columns = [
        t.Column(
            key=c.key,
            label=c.label,
            groups=tuple(c.groups),
            kind=c.kind if c.kind in t.KINDS else t.NUMBER,
            unit=c.unit,
            numerator=c.numerator,
            denominator=c.denominator,
            decimals=c.decimals,
        )
        for c in result.columns
    ]
    rows = [
        t.Row(
            line.org,
            line.label,
            list(line.values),
            link=link(line.org) if link and line.link else None,
        )
        for line in result.rows
    ]
    own = _own_row(columns, rows, result, w["own"])
    if own is not None:
        rows.append(own)
    total = t.Row(result.org, w["total"], list(result.total))
    title = result.title
    if result.disaggregate:
        by = w["disaggregated"].format(name=result.disaggregate_label or result.disaggregate)
        title += f"（{by}）" if language != "en" else f" ({by})"
    chart_key = definition.get("chart")
    chart = None
    if chart_key in {c.key for c in columns}:
        column = next(c for c in columns if c.key == chart_key)
        chart_title = "".join(f"{g}·" for g in column.groups) + column.label
        chart = t.Chart(chart_key, chart_title)
    notes = [counts_note(definition, language)]
    if result.approved_forms:
        notes.append(w["period_approved"] + "、".join(a["title"] for a in result.approved_forms))
    notes += [text(n, language) for n in definition.get("notes", [])]
    if result.missing_count:
        names = [f"{m['label']}（{m['form_title']}）" for m in result.missing[:_MISSING_IN_NOTES]]
        more = result.missing_count - len(names)
        line = f"{w['missing']}：" + "、".join(names)
        if more > 0:
            line += w["more"].format(n=more)
        notes.append(line)
    unit_text = text(header.get("unit"), language)
    return t.Table(
        header=t.Header(
            title=title,
            period_label=period_label(result.period, language),
            reporting_unit=result.org_name,
            reporting_unit_label=w["reporting_unit"],
            marks=[
                (text(label, language), text(header.get(key), language))
                for key, label in _MARKS
                if header.get(key)
            ],
            unit_of_measure=f"{w['unit_of_measure']}：{unit_text}" if unit_text else "",
            footer=[
                *((text(label, language), "") for label in _SIGNATURES),
                (w["reported_on"], _today(language)),
            ],
            notes=notes,
            page_format=w["page"],
        ),
        row_heading=w["row_heading"],
        code_heading=w["code_heading"],
        columns=columns,
        rows=rows,
        total=total,
        total_label=w["total"],
        chart=chart,
        sheet_name=_sheet_name(result.title),
    )


LEVEL_WORDS = {
    "centre": {"zh": "中心", "en": "centre"},
    "district": {"zh": "区级", "en": "district"},
    "city": {"zh": "市级", "en": "city"},
}


def counts_note(definition: dict, language: str) -> str:
    """Which records the report counts: all that are submitted, or only those approved at a
    review level or above (the definition's `approved_at_least`)."""
    level = definition.get("approved_at_least")
    if level in LEVEL_WORDS:
        words = text(_WORDS["approved_only"], language)
        return words.format(level=text(LEVEL_WORDS[level], language))
    return text(_WORDS["all_records"], language)


def _own_row(columns: list[t.Column], rows: list[t.Row], result: Result, suffix: str):
    """The unit's own share, where the total is more than its rows add up to."""
    values: list[t.Value] = []
    differs = False
    for i, column in enumerate(columns):
        whole = result.total[i]
        if column.kind == t.RATE or whole is None:
            values.append(None)
            continue
        parts = sum(r.values[i] or 0 for r in rows)
        share = round(whole - parts, column.decimals) if column.kind != t.COUNT else whole - parts
        differs = differs or bool(share)
        values.append(share)
    if not differs:
        return None
    return t.Row(result.org, result.org_name + suffix, t.fill_rates(columns, values))


def _today(language: str) -> str:
    day = periods.beijing_today()
    return day.isoformat() if language == "en" else f"{day.year}年{day.month}月{day.day}日"


def _sheet_name(title: str) -> str:
    """A sheet name Excel takes: at most 31 characters, none of []:*?/\\."""
    for character in "[]:*?/\\":
        title = title.replace(character, " ")
    return title[:31] or "报表"


def filename(result: Result, fmt: str) -> str:
    suffix = f"-{result.disaggregate}" if result.disaggregate else ""
    return f"{result.name}-{result.org}-{result.period}{suffix}.{fmt}"


def render(request, result: Result, fmt: str) -> jobs.Output:
    """The report as a file to download (`fmt`: pdf or xlsx)."""
    table = to_table(result, forms_language(request))
    body = render_pdf(table) if fmt == "pdf" else render_xlsx(table)
    return jobs.Output(body, FORMATS[fmt], filename(result, fmt))


def html(request, result: Result, link=None) -> str:
    """The report as an HTML fragment for its page (escaped)."""
    return render_html(to_table(result, forms_language(request), link=link))
