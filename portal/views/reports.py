"""The statistical report pages for managers: `/reports`, the list; `/reports/{name}`, one
report for a unit and a period (a form to choose them, the table with each unit a link one
level down, the bar chart, the downloads); `/reports/{name}/download`, its PDF or Excel file
(at once, or through the page of the background job preparing it).

The same scope as the API: a manager reads reports for their own part of the tree only.
Every report read and every download is audited (report.read, report.download).
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config

from forms.periods import beijing_today, recent
from portal.i18n import _, forms_language
from portal.security import Permission
from portal.services import aggregates, report_tables, reports
from portal.views.api_reports import audit_report, default_org, start_download
from portal.views.common import FLASH_QUEUE
from portal.views.jobs import answer_page

# How many levels under the user's own unit the unit chooser offers (the table's links go
# further down, one level at a time).
_CHOOSER_DEPTH = 2


def _allowed(request, unit) -> bool:
    return unit is not None and request.has_permission(Permission.REPORT_VIEW, unit)


def _top(request):
    top = default_org(request)
    if top is None:
        raise HTTPForbidden()
    return top


@view_config(
    route_name="reports", renderer="portal:templates/reports.pt", permission=Permission.HOME
)
def report_list(request):
    top = _top(request)
    language = forms_language(request)
    folder = request.root_site["reports"]
    items = []
    for name in folder:
        definition = folder[name].definition()
        items.append(
            {
                "name": name,
                "title": reports.text(definition["title"], language),
                "table_no": definition.get("header", {}).get("table_no", ""),
                "url": request.route_url("report", name=name),
                "notes": [reports.text(n, language) for n in definition.get("notes", [])][:1],
            }
        )
    can_edit = request.has_permission(Permission.REPORT_EDIT, folder)
    return {"items": items, "top": top, "can_edit": bool(can_edit), "active_nav": "reports"}


def _chooser(request, top, current) -> list:
    """(code, indented label) of the units offered: the user's top unit and the levels
    under it, and the current unit's way down if it lies deeper."""
    found = []

    def walk(unit, depth):
        found.append((unit.code, "\u3000" * depth + unit.name))
        if depth < _CHOOSER_DEPTH:
            for child in sorted(unit.values(), key=lambda u: u.code):
                if getattr(child, "code", None) and child.active:
                    walk(child, depth + 1)

    walk(top, 0)
    if current.code not in {code for code, _label in found}:
        found.append((current.code, current.name))
    return found


def _breadcrumb(request, top, unit, name, query) -> list:
    trail = []
    node = unit
    while node is not None:
        trail.append(node)
        if node.code == top.code:
            break
        node = node.parent_unit
    return [
        {
            "name": u.name,
            "url": request.route_url("report", name=name, _query={**query, "org": u.code}),
        }
        for u in reversed(trail)
    ]


@view_config(route_name="report", renderer="portal:templates/report.pt", permission=Permission.HOME)
def report_page(request):
    top = _top(request)
    name = request.matchdict["name"]
    folder = request.root_site["reports"]
    if name not in folder:
        raise HTTPNotFound()
    definition = folder[name].definition()
    language = forms_language(request)
    site = request.root_site
    today = beijing_today()
    form = {
        "org": (request.GET.get("org") or top.code).strip(),
        "period": (request.GET.get("period") or str(today.year)).strip(),
        "disaggregate": request.GET.get("disaggregate") or "",
    }
    errors = {}
    unit = site.unit_by_code(form["org"])
    if unit is None:
        errors["org"] = _("report_unit_unknown", default="There is no unit with this code.")
        unit = top
    elif not _allowed(request, unit):
        audit_report(request, "report.read", name, unit, form["period"], "html")
        raise HTTPForbidden()
    try:
        reports.check(site, definition, form["period"], form["disaggregate"] or None)
    except reports.ReportError as error:
        if error.field == "disaggregate":
            errors["disaggregate"] = _(
                "report_disaggregate_unknown", default="This report cannot be broken down so."
            )
        else:
            errors["period"] = _(
                "report_period_invalid",
                default="Enter a year (2026), a quarter (2026-Q3) or a month (2026-10).",
            )
    options = {
        "disaggregations": [
            (d["name"], reports.text(d["label"], language))
            for d in reports.disaggregations(site, definition)
        ],
        "periods": [str(today.year), *recent("quarter", today, 4), *recent("month", today, 12)],
        "units": _chooser(request, top, unit),
    }
    query = {"period": form["period"]}
    if form["disaggregate"]:
        query["disaggregate"] = form["disaggregate"]
    page = {
        "name": name,
        "title": reports.text(definition["title"], language),
        "form": form,
        "errors": {k: request.localizer.translate(v) for k, v in errors.items()},
        "options": options,
        "unit": unit,
        "table": None,
        "breadcrumb": [],
        "downloads": [],
        "missing": [],
        "missing_count": 0,
        "stale": False,
        "active_nav": "reports",
    }
    if errors:
        request.response.status_int = 400
        return page
    if not aggregates.is_current(request.dbsession, site, request.registry):
        request.response.status_int = 503
        request.response.headers["Retry-After"] = "60"
        page["stale"] = True
        return page
    result = reports.build(
        request.dbsession,
        site,
        definition,
        unit,
        form["period"],
        language,
        disaggregate=form["disaggregate"] or None,
        registry=request.registry,
    )

    def link(code):
        return request.route_url("report", name=name, _query={**query, "org": code})

    page["table"] = report_tables.html(request, result, link=link)
    page["breadcrumb"] = _breadcrumb(request, top, unit, name, query)
    page["downloads"] = [
        {
            "format": fmt,
            "url": request.route_url(
                "report_download", name=name, _query={**query, "org": unit.code, "format": fmt}
            ),
        }
        for fmt in ("pdf", "xlsx")
    ]
    page["missing"] = result.missing
    page["missing_count"] = result.missing_count
    audit_report(request, "report.read", name, unit, form["period"], "html", result.disaggregate)
    return page


@view_config(route_name="report_download", permission=Permission.HOME)
def report_download(request):
    _top(request)
    name = request.matchdict["name"]
    folder = request.root_site["reports"]
    fmt = request.GET.get("format")
    if name not in folder or fmt not in report_tables.FORMATS:
        raise HTTPNotFound()
    definition = folder[name].definition()
    unit = request.root_site.unit_by_code(request.GET.get("org", ""))
    if not _allowed(request, unit):
        raise HTTPForbidden()
    period = request.GET.get("period") or str(beijing_today().year)
    disaggregate = request.GET.get("disaggregate") or None
    try:
        reports.check(request.root_site, definition, period, disaggregate)
    except reports.ReportError:
        raise HTTPNotFound() from None  # the page's own links are always well formed
    outcome = start_download(request, name, unit.code, period, fmt, disaggregate)
    if isinstance(outcome, str):  # too many of the user's reports are being prepared
        request.session.flash(outcome, queue=FLASH_QUEUE)
        query = {"org": unit.code, "period": period}
        return HTTPSeeOther(request.route_url("report", name=name, _query=query))
    audit_report(request, "report.download", name, unit, period, fmt, disaggregate)
    return answer_page(request, outcome)
