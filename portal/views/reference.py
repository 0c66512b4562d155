"""Reference figures pages: a unit's figures for a year beside those of the units below it,
editing a unit's own values, importing and exporting them as CSV or XLSX.

Managers read the figures of their subtree (Permission.REFERENCE_VIEW); the system
administrator also enters, imports and deletes them (Permission.REFERENCE_EDIT). The rule
and the checks are in portal.services.reference.
"""

import datetime as dt
import re

import deform
from pyramid.httpexceptions import HTTPForbidden, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config

from exports import tables
from forms.periods import BEIJING
from portal import audit
from portal.i18n import _
from portal.resources import OrgUnit
from portal.schemas import UnitImportSchema
from portal.schemas_reference import figures_schema
from portal.security import Permission
from portal.services import reference
from portal.views.common import FormRenderer, flash
from portal.views.layout import top_units
from portal.views.orgs_admin import EXPORT_TYPES, MAX_ERRORS_SHOWN

_YEAR_RE = re.compile(r"[0-9]{4}")


def chosen_year(request) -> int:
    """?year=YYYY when it is a year the figures may have; else the current year."""
    raw = request.params.get("year", "")
    if _YEAR_RE.fullmatch(raw) and reference.year_problem(int(raw)) is None:
        return int(raw)
    return dt.datetime.now(BEIJING).year


def format_figure(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def crumbs(request, unit: OrgUnit) -> list[OrgUnit]:
    """The unit's ancestors whose figures the user may see, city first."""
    return [
        u
        for u in reversed(list(_lineage(unit)))
        if request.has_permission(Permission.REFERENCE_VIEW, u)
    ]


def _lineage(unit):
    node = unit
    while isinstance(node, OrgUnit):
        yield node
        node = node.__parent__


def page_url(request, unit: OrgUnit, view: str, year: int) -> str:
    return request.resource_url(unit, view, query={"year": year})


@view_config(route_name="reference", request_method="GET")
def reference_start(request):
    """/reference: the figures page of the caller's top unit."""
    for unit in top_units(request):
        if request.has_permission(Permission.REFERENCE_VIEW, unit):
            return HTTPSeeOther(page_url(request, unit, "reference", chosen_year(request)))
    raise HTTPForbidden()


@view_config(
    context=OrgUnit,
    name="reference",
    permission=Permission.REFERENCE_VIEW,
    request_method="GET",
    renderer="portal:templates/reference.pt",
)
def reference_view(request):
    unit = request.context
    year = chosen_year(request)
    children = unit.units()
    found = reference.figure_details(
        request.dbsession, request.root_site, [unit.code, *(c.code for c in children)], year
    )
    rows = [
        {
            "unit": u,
            "figures": found.get(u.code, {}),
            "edit_url": page_url(request, u, "reference-edit", year)
            if request.has_permission(Permission.REFERENCE_EDIT, u)
            else None,
            "url": page_url(request, u, "reference", year) if u is not unit else None,
        }
        for u in [unit, *children]
    ]
    can_edit = request.has_permission(Permission.REFERENCE_EDIT, unit)
    return {
        "unit": unit,
        "year": year,
        "crumbs": crumbs(request, unit),
        "kinds": reference.KINDS,
        "rows": rows,
        "format_figure": format_figure,
        "page_url": page_url,
        "import_url": page_url(request, unit, "reference-import", year) if can_edit else None,
        "export_urls": [
            (fmt.upper(), page_url(request, unit, f"reference-export.{fmt}", year))
            for fmt in (tables.CSV, tables.XLSX)
        ],
        "active_nav": "reference",
    }


def _form(request, schema, action: str, formid: str, submit_title, cancel_url) -> deform.Form:
    buttons = (
        deform.Button("save", submit_title, css_class="btn-primary"),
        deform.Button(
            "cancel",
            _("cancel", default="Cancel"),
            type="link",
            value=cancel_url,
            css_class="btn-outline-secondary ms-2",
        ),
    )
    return deform.Form(
        schema, action=action, buttons=buttons, formid=formid, renderer=FormRenderer(request)
    )


@view_config(
    context=OrgUnit,
    name="reference-edit",
    permission=Permission.REFERENCE_EDIT,
    request_method=("GET", "POST"),
    renderer="portal:templates/reference_form.pt",
)
def reference_edit(request):
    unit = request.context
    year = chosen_year(request)
    dbsession, site = request.dbsession, request.root_site
    own = reference.own_values(dbsession, unit.code, year)
    # What the unit's figure is without a value of its own: the sum of the units below.
    below = reference.figures(dbsession, site, [c.code for c in unit.units()], year)
    hints = {}
    for kind in reference.KINDS:
        values = [f[kind.code] for f in below.values() if kind.code in f]
        if values:
            hints[kind.code] = _(
                "ref_hint_sum",
                default="Left empty, the figure is the sum of the units below: ${sum}.",
                mapping={"sum": format_figure(sum(values))},
            )
        else:
            hints[kind.code] = _(
                "ref_hint_none", default="Left empty, there is no figure: no unit below has one."
            )
    hints = {k: request.localizer.translate(v) for k, v in hints.items()}
    schema = figures_schema().bind(request=request, context=unit, hints=hints)
    back = page_url(request, unit, "reference", year)
    form = _form(
        request,
        schema,
        page_url(request, unit, "reference-edit", year),
        "reference-edit",
        _("save", default="Save"),
        back,
    )
    title = _(
        "ref_edit_title",
        default="Figures of ${name} for ${year}",
        mapping={"name": unit.name, "year": year},
    )
    page = {
        "unit": unit,
        "year": year,
        "title": title,
        "crumbs": crumbs(request, unit),
        "active_nav": "reference",
        "page_url": page_url,
    }
    if "save" not in request.POST:
        return {**page, "form": form.render({k: v for k, v in own.items()})}
    try:
        values = form.validate(request.POST.items())
    except deform.ValidationFailure as failure:
        return {**page, "form": failure.render()}
    changed = 0
    for kind in reference.KIND_CODES:
        value = values.get(kind)
        if value is None:
            changed += reference.delete_value(request, unit, year, kind) is not None
        elif own.get(kind) != value:
            reference.set_value(request, unit, year, kind, value)
            changed += 1
    if changed:
        flash(
            request,
            _(
                "ref_saved",
                default="The figures of ${name} for ${year} were saved.",
                mapping={"name": unit.name, "year": year},
            ),
        )
    else:
        flash(request, _("nothing_changed", default="Nothing was changed."))
    return HTTPSeeOther(back)


@view_config(
    context=OrgUnit,
    name="reference-import",
    permission=Permission.REFERENCE_EDIT,
    request_method=("GET", "POST"),
    renderer="portal:templates/reference_import.pt",
)
def reference_import(request):
    unit = request.context
    year = chosen_year(request)
    back = page_url(request, unit, "reference", year)
    schema = UnitImportSchema().bind(request=request, context=unit)
    form = _form(
        request,
        schema,
        page_url(request, unit, "reference-import", year),
        "reference-import",
        _("org_import_submit", default="Import"),
        back,
    )
    page = {
        "unit": unit,
        "year": year,
        "title": _(
            "ref_import_title",
            default="Import figures for ${name} and the units below",
            mapping={"name": unit.name},
        ),
        "crumbs": crumbs(request, unit),
        "active_nav": "reference",
        "errors": [],
        "more_errors": 0,
        "page_url": page_url,
        "kinds": reference.KINDS,
    }
    if "save" not in request.POST:
        return {**page, "form": form.render()}
    try:
        values = form.validate(request.POST.items())
    except deform.ValidationFailure as failure:
        return {**page, "form": failure.render()}
    upload = values["upload"]
    result = reference.import_rows(request, upload["fp"], upload["filename"] or "", scope=unit)
    if result.errors:
        # Nothing was imported; the refusal is in the audit log, so the transaction commits.
        return {
            **page,
            "form": form.render({}),
            "errors": result.errors[:MAX_ERRORS_SHOWN],
            "more_errors": max(0, len(result.errors) - MAX_ERRORS_SHOWN),
        }
    flash(
        request,
        _(
            "ref_imported",
            default="Imported: ${created} new and ${updated} changed figures "
            "(${unchanged} unchanged).",
            mapping={
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
            },
        ),
    )
    return HTTPSeeOther(back)


@view_config(
    context=OrgUnit,
    name="reference-export.csv",
    permission=Permission.REFERENCE_VIEW,
    request_method="GET",
)
@view_config(
    context=OrgUnit,
    name="reference-export.xlsx",
    permission=Permission.REFERENCE_VIEW,
    request_method="GET",
)
def reference_export(context, request):
    """The values entered in the unit's subtree for ?year= (every year with ?year=all)."""
    fmt = request.view_name.rsplit(".", 1)[1]
    year = None if request.params.get("year") == "all" else chosen_year(request)
    body = reference.export_table(request.dbsession, context, fmt, year)
    audit.record(
        request,
        "reference.export",
        target=context.code,
        unit=context,
        detail={"format": fmt, "year": year},
    )
    filename = f"reference-{context.code}-{year or 'all'}.{fmt}"
    response = Response(body=body, content_type=EXPORT_TYPES[fmt])
    if fmt == tables.CSV:
        response.charset = "utf-8"
    response.content_disposition = f'attachment; filename="{filename}"'
    response.cache_control = "no-store"
    return response
