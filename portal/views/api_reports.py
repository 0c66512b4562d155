"""The reports API: the list of reports, and one report for a unit and a period as JSON,
PDF or XLSX (described in portal/openapi.json)."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPForbidden
from pyramid.view import view_config

from forms.periods import beijing_today
from portal import audit
from portal.i18n import forms_language
from portal.security import Permission
from portal.services import aggregates, jobs, report_tables, reports
from portal.services.submissions import scope_paths
from portal.views.api import json_error
from portal.views.jobs import answer_api, too_many

FORMATS = ("json", "pdf", "xlsx")


def default_org(request):
    """The highest unit where the caller may read reports (None: nowhere)."""
    paths = scope_paths(request, Permission.REPORT_VIEW)
    if not paths:
        return None
    return request.root_site.unit_by_code(paths[0].strip("/").split("/")[-1])


@view_config(
    route_name="api_reports", request_method="GET", renderer="json", permission=Permission.HOME
)
def list_reports(request):
    language = forms_language(request)
    folder = request.root_site["reports"]
    return [
        {"name": name, "title": reports.text(folder[name].definition()["title"], language)}
        for name in folder
    ]


@view_config(
    route_name="api_report", request_method="GET", renderer="json", permission=Permission.HOME
)
def get_report(request):
    language = forms_language(request)
    folder = request.root_site["reports"]
    name = request.matchdict["name"]
    if name not in folder:
        return json_error(request, 404, f"no report named {name}")
    fmt = request.GET.get("format", "json")
    if fmt not in FORMATS:
        return json_error(request, 400, f"format must be one of: {', '.join(FORMATS)}")
    code = request.GET.get("org")
    unit = request.root_site.unit_by_code(code) if code else default_org(request)
    if code and unit is None:
        return json_error(request, 400, f"no unit with code {code}")
    if unit is None or not request.has_permission(Permission.REPORT_VIEW, unit):
        audit.record(request, "report.read", "denied", target=name, unit=unit)
        raise HTTPForbidden()
    period = request.GET.get("period") or str(beijing_today().year)
    definition = folder[name].definition()
    disaggregate = request.GET.get("disaggregate") or None
    try:
        reports.check(request.root_site, definition, period, disaggregate)
    except reports.ReportError as error:
        if error.field == "disaggregate":
            allowed = [d["name"] for d in reports.disaggregations(request.root_site, definition)]
            return json_error(
                request,
                400,
                f"{name} can be disaggregated by: {', '.join(allowed)}"
                if allowed
                else f"{name} has no disaggregation",
            )
        return json_error(
            request, 400, "period must be a month (2026-10), a quarter (2026-Q3) or a year (2026)"
        )
    if not aggregates.is_current(request.dbsession, request.root_site, request.registry):
        request.response.headers["Retry-After"] = "60"
        return json_error(
            request,
            503,
            "the report figures are being recomputed after a change of the report "
            "definitions; try again in a few minutes",
        )
    if fmt != "json":
        outcome = start_download(request, name, unit.code, period, fmt, disaggregate)
        if isinstance(outcome, str):
            return json_error(request, 429, outcome)
        audit_report(request, "report.download", name, unit, period, fmt, disaggregate)
        return answer_api(request, outcome)
    result = reports.build(
        request.dbsession,
        request.root_site,
        definition,
        unit,
        period,
        language,
        disaggregate=disaggregate,
        registry=request.registry,
    )
    audit_report(request, "report.read", name, unit, period, fmt, disaggregate)
    return reports.as_json(result)


def audit_report(request, event, name, unit, period, fmt, disaggregate=None) -> None:
    """Who read or downloaded which report, for which unit, period and format."""
    audit.record(
        request,
        event,
        target=name,
        unit=unit,
        detail={
            "report": name,
            "org": unit.code,
            "period": period,
            "format": fmt,
            **({"disaggregate": disaggregate} if disaggregate else {}),
        },
    )


def start_download(request, name, org, period, fmt, disaggregate=None, wait=None):
    """The report's file, made in a worker (jobs.run): the file if it was ready within the
    wait, else the job's status; a message (str) when the caller has too many running."""
    language = forms_language(request)

    def work(worker, progress):
        site = worker.root_site
        definition = site["reports"][name].definition()
        unit = site.unit_by_code(org)
        result = reports.build(
            worker.dbsession,
            site,
            definition,
            unit,
            period,
            language,
            disaggregate=disaggregate,
            registry=worker.registry,
        )
        progress(0.5)
        return report_tables.render(worker, result, fmt)

    title = request.root_site["reports"][name].definition()["title"]
    label = f"{reports.text(title, language)} {org} {period}.{fmt}"
    try:
        return jobs.jobs_of(request).run(request, "report", label, work, wait=wait)
    except jobs.JobLimit as limit:
        return too_many(request, limit)
