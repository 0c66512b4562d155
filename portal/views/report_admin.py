"""Editing the statistical reports (system admin, Permission.REPORT_EDIT): a report's title,
official header (表号, 制定机关, 批准机关, 批准文号, 有效期至, 计量单位), notes and layout
(`/reports/{name}/edit`), and the indicators and dimensions the reports are computed from
(`/reports/indicators`).

The layout and the indicators are edited as JSON (reports/builtin.py shows their shape),
checked before anything is kept: a syntax error, an unknown indicator, form field or
expression is told at its field, and what was typed stays. A change of the indicators makes
the kept aggregates stale: their rebuild starts at once as a background job, and until it
has finished the reports say so rather than show figures of the old definitions.
"""

from __future__ import annotations

import json

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config
from sqlalchemy import func, select
from zope.sqlalchemy import mark_changed

from portal import audit
from portal.i18n import _
from portal.models import Submission
from portal.security import Permission
from portal.services import aggregates, jobs
from portal.views.common import flash
from reports import indicators as ind

LAYOUTS = ("forms", "workload", "measures", "columns", "completeness")
# The parts of a definition edited as fields; the rest is the layout, edited as JSON.
_HEADER_KEYS = ("table_no", "authority", "approved_by", "approval_no", "valid_until", "unit")
_TEXT_KEYS = {"authority", "approved_by", "valid_until", "unit"}  # {"zh", "en"} texts
_FIELD_KEYS = ("title", "header", "notes", "name")


def _check_admin(request):
    folder = request.root_site["reports"]
    if not request.has_permission(Permission.REPORT_EDIT, folder):
        raise HTTPForbidden()
    return folder


def _zh(value) -> str:
    return value.get("zh", "") if isinstance(value, dict) else (value or "")


def _with_zh(old, text: str):
    """`old` ({"zh", "en"} or a string) with its Chinese replaced by `text`."""
    return {**old, "zh": text} if isinstance(old, dict) else text


def _json_problem(text: str, error: json.JSONDecodeError):
    return _(
        "report_json_invalid",
        default="Not valid JSON at line ${line}, column ${column}: ${message}.",
        mapping={"line": error.lineno, "column": error.colno, "message": error.msg},
    )


def _layout_problem(folder, layout: dict):
    """What is wrong with a report's layout (None when it is usable)."""
    names = {i["name"] for i in folder.indicator_dicts()}
    if layout.get("layout") not in LAYOUTS:
        return _(
            "report_layout_unknown_kind",
            default='"layout" must be one of: ${layouts}.',
            mapping={"layouts": ", ".join(LAYOUTS)},
        )
    referred = [
        name
        for m in layout.get("measures", [])
        for name in (m.get("numerator"), m.get("denominator"))
    ] + [c.get("indicator") for c in layout.get("columns", [])]
    unknown = sorted({str(n) for n in referred if n not in names})
    if unknown:
        return _(
            "report_layout_unknown_indicator",
            default="No indicator named: ${names}.",
            mapping={"names": ", ".join(unknown)},
        )
    level = layout.get("approved_at_least")
    if level is not None and level not in ind.APPROVAL_LEVELS:
        return _(
            "report_layout_approval",
            default='"approved_at_least" is one of: ${levels} (or leave it out to count every '
            "submitted record).",
            mapping={"levels": ", ".join(ind.APPROVAL_LEVELS)},
        )
    dimensions = {d["name"] for d in folder.dimension_dicts()}
    unknown = sorted(set(layout.get("disaggregations", [])) - dimensions)
    if unknown:
        return _(
            "report_layout_unknown_dimension",
            default="No dimension named: ${names}.",
            mapping={"names": ", ".join(unknown)},
        )
    return None


@view_config(
    route_name="report_edit",
    renderer="portal:templates/report_edit.pt",
    permission=Permission.HOME,
)
def report_edit(request):
    folder = _check_admin(request)
    name = request.matchdict["name"]
    if name not in folder:
        raise HTTPNotFound()
    definition = folder[name].definition()
    header = definition.get("header", {})
    layout = {k: v for k, v in definition.items() if k not in _FIELD_KEYS}
    form = {
        "title": _zh(definition.get("title")),
        "title_en": (definition.get("title") or {}).get("en", "")
        if isinstance(definition.get("title"), dict)
        else "",
        **{key: _zh(header.get(key)) for key in _HEADER_KEYS},
        "notes": "\n".join(_zh(n) for n in definition.get("notes", [])),
        "layout": json.dumps(layout, ensure_ascii=False, indent=2),
    }
    errors: dict = {}
    if request.method == "POST":
        form.update({key: request.POST.get(key, "").strip() for key in form})
        if not form["title"]:
            errors["title"] = _("report_title_required", default="Enter the report's title.")
        try:
            new_layout = json.loads(form["layout"])
        except json.JSONDecodeError as error:
            errors["layout"] = _json_problem(form["layout"], error)
        else:
            problem = (
                _("report_layout_object", default="The layout is a JSON object.")
                if not isinstance(new_layout, dict)
                else _layout_problem(folder, new_layout)
            )
            if problem is not None:
                errors["layout"] = problem
        if not errors:
            new_header = dict(header)
            for key in _HEADER_KEYS:
                new_header[key] = (
                    _with_zh(header.get(key, {}), form[key]) if key in _TEXT_KEYS else form[key]
                )
            old_notes = definition.get("notes", [])
            notes = [
                _with_zh(old_notes[i] if i < len(old_notes) else {}, line)
                for i, line in enumerate(n for n in form["notes"].splitlines() if n.strip())
            ]
            updated = {
                **new_layout,
                "name": name,
                "title": {"zh": form["title"], "en": form["title_en"] or form["title"]},
                "header": new_header,
                "notes": notes,
            }
            before = aggregates.report_thresholds(folder)
            folder[name].set_definition(updated)
            audit.record(request, "report.definition", target=name, detail={"report": name})
            flash(request, _("report_saved", default="The report definition was saved."))
            if aggregates.report_thresholds(folder) != before:
                # A review level no report counted from before (or none counts from it any
                # more): the aggregates are kept again for the levels now asked for.
                start_rebuild(request)
            return HTTPSeeOther(request.route_url("report", name=name))
        request.response.status_int = 400
    return {
        "name": name,
        "title": form["title"],
        "form": form,
        "header_keys": _HEADER_KEYS,
        "errors": {k: request.localizer.translate(v) for k, v in errors.items()},
        "active_nav": "reports",
    }


@view_config(
    route_name="report_indicators",
    renderer="portal:templates/report_indicators.pt",
    permission=Permission.HOME,
)
def report_indicators(request):
    folder = _check_admin(request)
    form = {
        "indicators": json.dumps(folder.indicator_dicts(), ensure_ascii=False, indent=2),
        "dimensions": json.dumps(folder.dimension_dicts(), ensure_ascii=False, indent=2),
    }
    errors: dict = {}
    if request.method == "POST":
        form = {key: request.POST.get(key, "") for key in form}
        parsed = {}
        for key in form:
            try:
                parsed[key] = json.loads(form[key])
            except json.JSONDecodeError as error:
                errors[key] = _json_problem(form[key], error)
                continue
            if not isinstance(parsed[key], list) or not all(
                isinstance(item, dict) and item.get("name") for item in parsed[key]
            ):
                errors[key] = _(
                    "report_json_list",
                    default='A JSON list of objects, each with a "name".',
                )
        if not errors:
            try:
                ind.Catalogue(
                    (ind.Indicator.from_dict(d) for d in parsed["indicators"]),
                    (ind.Dimension.from_dict(d) for d in parsed["dimensions"]),
                )
            except (ind.IndicatorError, KeyError, TypeError, ValueError) as error:
                errors["indicators"] = _(
                    "report_indicators_invalid",
                    default="These indicators cannot be used: ${message}",
                    mapping={"message": str(error)},
                )
        if not errors:
            used = {
                name
                for report in folder.definitions()
                for m in report.definition().get("measures", [])
                for name in (m.get("numerator"), m.get("denominator"))
            } | {
                c.get("indicator")
                for report in folder.definitions()
                for c in report.definition().get("columns", [])
            }
            missing = sorted(used - {d["name"] for d in parsed["indicators"]} - {None})
            if missing:
                errors["indicators"] = _(
                    "report_indicators_in_use",
                    default="Reports use these indicators: ${names}. Change the reports first.",
                    mapping={"names": ", ".join(missing)},
                )
        if not errors:
            folder.set_indicators(parsed["indicators"])
            folder.set_dimensions(parsed["dimensions"])
            audit.record(request, "report.indicators", detail={"count": len(parsed["indicators"])})
            outcome = start_rebuild(request)
            if isinstance(outcome, jobs.Status):
                return HTTPSeeOther(request.route_url("job", id=outcome.id))
            flash(
                request, _("report_indicators_saved", default="Saved; the figures are recomputed.")
            )
            return HTTPSeeOther(request.route_url("report_indicators"))
        request.response.status_int = 400
    return {
        "form": form,
        "errors": {k: request.localizer.translate(v) for k, v in errors.items()},
        "active_nav": "reports",
    }


def start_rebuild(request):
    """Recompute the kept aggregates in the background (committed when done), once the
    request that changed the definitions has committed: the job waits for nothing else,
    and until it is done the reports say their figures are being recomputed."""

    def work(worker, progress):
        total = worker.dbsession.scalar(select(func.count()).select_from(Submission)) or 1
        catalogue = aggregates.catalogue_of(worker.root_site, worker.registry)
        count = aggregates.rebuild(
            worker.dbsession, catalogue, progress=lambda n: progress(min(0.99, n / total))
        )
        mark_changed(worker.dbsession)
        text = f"Rebuilt the report aggregates from {count:,} submissions.\n"
        return jobs.Output(text.encode(), "text/plain; charset=utf-8", "rebuild.txt")

    # The worker must see this request's change: it starts once the request has committed.
    try:
        return jobs.jobs_of(request).run_after_commit(
            request, "rebuild", "报表数据重新计算 / report figures rebuilt", work, commit=True
        )
    except jobs.JobLimit:
        return None
