"""Administering the organisation tree: add, edit, move, deactivate and reactivate a unit,
and import or export a subtree as CSV or XLSX.

The views only collect input and report; the tree's rules are in
portal.services.orgtree. Every change is audited and answered with a redirect.
"""

import datetime as dt
from dataclasses import dataclass

import colander
import deform
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config, view_defaults

from exports import tables
from portal import audit
from portal.i18n import _, translate
from portal.resources import ALLOWED_CHILDREN, OrgUnit
from portal.schemas import (
    ConfirmSchema,
    UnitDeactivateSchema,
    UnitImportSchema,
    UnitMoveSchema,
    unit_add_schema,
    unit_edit_schema,
)
from portal.security import Permission
from portal.services import orgtree, unit_paths
from portal.views.common import FormRenderer, flash

# How many import errors a page lists; the count says how many more there are.
MAX_ERRORS_SHOWN = 200
EXPORT_TYPES = {
    tables.CSV: "text/csv",
    tables.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


# -- the unit page's buttons ----------------------------------------------------------------
@dataclass
class Action:
    key: str  # the view name, also the button's data-action
    title: object
    icon: str  # a Bootstrap icon name
    url: str


def unit_actions(request, unit: OrgUnit) -> tuple[list[Action], list[Action]]:
    """(changes, downloads) the user may make or take on unit's page."""
    changes: list[Action] = []
    if request.has_permission(Permission.ORG_EDIT, unit):

        def add(key, title, icon):
            changes.append(Action(key, title, icon, request.resource_url(unit, key)))

        if ALLOWED_CHILDREN[unit.type] and unit.active:
            add("add", _("org_add", default="Add unit"), "plus-lg")
        add("edit", _("org_edit", default="Edit"), "pencil")
        if unit.parent_unit is not None:
            add("move", _("org_move", default="Move"), "arrows-move")
        if unit.active:
            add("deactivate", _("org_deactivate", default="Deactivate"), "slash-circle")
        else:
            add("reactivate", _("org_reactivate", default="Reactivate"), "arrow-counterclockwise")
        add("import", _("org_import", default="Import"), "upload")
    downloads: list[Action] = []
    if request.has_permission(Permission.ORG_VIEW, unit):
        for fmt, icon in ((tables.CSV, "filetype-csv"), (tables.XLSX, "file-earmark-excel")):
            name = f"export.{fmt}"
            downloads.append(Action(name, fmt.upper(), icon, request.resource_url(unit, name)))
    return changes, downloads


# -- the forms ------------------------------------------------------------------------------
@view_defaults(
    context=OrgUnit,
    permission=Permission.ORG_EDIT,
    renderer="portal:templates/org_form.pt",
    request_method=("GET", "POST"),
)
class UnitAdmin:
    def __init__(self, context, request):
        self.context = context
        self.request = request
        self.site = request.root_site

    def form(self, schema, submit_title, formid, **bindings) -> deform.Form:
        request = self.request
        schema = schema.bind(request=request, context=self.context, **bindings)
        buttons = (
            deform.Button("save", submit_title, css_class="btn-primary"),
            deform.Button(
                "cancel",
                _("cancel", default="Cancel"),
                type="link",
                value=request.resource_url(self.context),
                css_class="btn-outline-secondary ms-2",
            ),
        )
        return deform.Form(schema, buttons=buttons, formid=formid, renderer=FormRenderer(request))

    def page(self, form, title, appstruct=None, **extra) -> dict:
        """The form page; appstruct fills the form, else it shows what was last set on it
        (its defaults, or the values just submitted). No form: the action is not possible
        here, and a warning says why."""
        # Imported here: portal.views.orgs imports this module for the unit page's buttons.
        from portal.views.orgs import breadcrumbs

        if form is None:
            html = None
        else:
            html = form.render(appstruct) if appstruct is not None else form.render()
        return {
            "unit": self.context,
            "crumbs": breadcrumbs(self.request, self.context),
            "title": title,
            "form": html,
            "active_nav": "orgs",
            "warning": None,
            **extra,
        }

    def submit(self, form, title, apply, **extra):
        """Validate the POST and apply it: a redirect, or the form again with the errors
        at their fields and everything typed still there."""
        try:
            appstruct = form.validate(self.request.POST.items())
        except deform.ValidationFailure as failure:
            return self.page(failure.field, title, **extra)
        try:
            return apply(appstruct)
        except orgtree.OrgTreeError as e:
            # Shown like a validation error: at its field if it has one, else above.
            message = translate(self.request.localizer, e.message)
            if e.field is not None and e.field in form.schema:
                error = colander.Invalid(form.schema)
                error[e.field] = message
            else:
                error = colander.Invalid(form.schema, message)
            form.widget.handle_error(form, error)
            return self.page(form, title, **extra)

    def audit(self, event, unit, detail) -> None:
        audit.record(self.request, event, target=unit.code, unit=unit, detail=detail)

    def done(self, unit, message) -> HTTPSeeOther:
        flash(self.request, message)
        return HTTPSeeOther(self.request.resource_url(unit))

    # add ----------------------------------------------------------------------------------
    @view_config(name="add")
    def add(self):
        unit = self.context
        title = _("org_add_title", default="Add a unit below ${name}", mapping={"name": unit.name})
        if not unit.active:
            return self.page(
                None,
                title,
                warning=_(
                    "org_add_inactive",
                    default="This unit is inactive: nothing can be added below it.",
                ),
            )
        form = self.form(unit_add_schema(), _("org_add_submit", default="Add unit"), "org-add")
        if "save" not in self.request.POST:
            return self.page(form, title)

        def apply(values):
            child = orgtree.add_unit(
                self.site,
                unit,
                values["code"],
                values["name"],
                values["type"],
                valid_from=values["valid_from"],
            )
            unit_paths.record(self.request.dbsession, [child])
            self.audit(
                "org.create", child, {"name": child.name, "type": child.type, "parent": unit.code}
            )
            return self.done(
                child,
                _(
                    "org_added",
                    default="${name} (${code}) was added.",
                    mapping={"name": child.name, "code": child.code},
                ),
            )

        return self.submit(form, title, apply)

    # edit ---------------------------------------------------------------------------------
    @view_config(name="edit")
    def edit(self):
        unit = self.context
        title = _("org_edit_title", default="Edit ${name}", mapping={"name": unit.name})
        form = self.form(unit_edit_schema(), _("save", default="Save"), "org-edit", editing=True)
        if "save" not in self.request.POST:
            appstruct = {"name": unit.name, "type": unit.type, "valid_from": unit.valid_from}
            return self.page(form, title, appstruct)

        def apply(values):
            changes = orgtree.update_unit(
                unit,
                name=values["name"],
                type=values["type"],
                valid_from=values["valid_from"],
            )
            if not changes:
                return self.done(unit, _("nothing_changed", default="Nothing was changed."))
            self.audit("org.update", unit, {"changes": orgtree.audit_detail(changes)})
            return self.done(
                unit,
                _(
                    "org_saved",
                    default="${name} (${code}) was saved.",
                    mapping={"name": unit.name, "code": unit.code},
                ),
            )

        return self.submit(form, title, apply)

    # move ---------------------------------------------------------------------------------
    def move_targets(self) -> list[OrgUnit]:
        """Where the user may move the unit: the tree's rules, and their own right to change
        the new parent unit."""
        return [
            target
            for target in orgtree.move_targets(self.site, self.context)
            if self.request.has_permission(Permission.ORG_EDIT, target)
        ]

    @view_config(name="move")
    def move(self):
        unit = self.context
        title = _("org_move_title", default="Move ${name}", mapping={"name": unit.name})
        targets = self.move_targets()
        if not targets:
            warning = _("org_move_nowhere", default="There is no unit this one could be moved to.")
            return self.page(None, title, warning=warning)
        form = self.form(
            UnitMoveSchema(), _("org_move_submit", default="Move"), "org-move", targets=targets
        )
        if "save" not in self.request.POST:
            return self.page(form, title)

        def apply(values):
            new_parent = self.site.unit_by_code(values["parent"])
            old_parent = orgtree.move_unit(self.site, unit, new_parent, self.request.dbsession)
            self.audit("org.move", unit, {"from": old_parent.code, "to": new_parent.code})
            return self.done(
                unit,
                _(
                    "org_moved",
                    default="${name} was moved below ${parent}.",
                    mapping={"name": unit.name, "parent": new_parent.name},
                ),
            )

        return self.submit(form, title, apply)

    # deactivate / reactivate --------------------------------------------------------------
    @view_config(name="deactivate")
    def deactivate(self):
        unit = self.context
        title = _("org_deactivate_title", default="Deactivate ${name}", mapping={"name": unit.name})
        if not unit.active:
            return self.page(
                None,
                title,
                warning=_("org_already_inactive", default="The unit is already inactive."),
            )
        form = self.form(
            UnitDeactivateSchema(), _("org_deactivate", default="Deactivate"), "org-deactivate"
        )
        active_below = [child for child in unit.units() if child.active]
        warning = None
        if active_below:
            warning = _(
                "org_deactivate_children",
                default="${n} units below are still active; move or deactivate them first.",
                mapping={"n": len(active_below)},
            )
        if "save" not in self.request.POST:
            return self.page(form, title, warning=warning)

        def apply(values):
            changes = orgtree.deactivate_unit(
                self.site, unit, values["valid_to"], values["successor"]
            )
            self.audit("org.deactivate", unit, orgtree.audit_detail(changes))
            return self.done(
                unit,
                _(
                    "org_deactivated",
                    default="${name} was deactivated.",
                    mapping={"name": unit.name},
                ),
            )

        return self.submit(form, title, apply, warning=warning)

    @view_config(name="reactivate")
    def reactivate(self):
        unit = self.context
        title = _("org_reactivate_title", default="Reactivate ${name}", mapping={"name": unit.name})
        if unit.active:
            return self.page(
                None, title, warning=_("org_already_active", default="The unit is already active.")
            )
        form = self.form(
            ConfirmSchema(), _("org_reactivate", default="Reactivate"), "org-reactivate"
        )
        intro = _(
            "org_reactivate_intro",
            default="The unit becomes active again; its end date and successor are cleared.",
        )
        if "save" not in self.request.POST:
            return self.page(form, title, intro=intro)

        def apply(values):
            changes = orgtree.reactivate_unit(unit)
            self.audit("org.update", unit, {"changes": orgtree.audit_detail(changes)})
            return self.done(
                unit,
                _(
                    "org_reactivated",
                    default="${name} is active again.",
                    mapping={"name": unit.name},
                ),
            )

        return self.submit(form, title, apply, intro=intro)

    # import -------------------------------------------------------------------------------
    @view_config(name="import", renderer="portal:templates/org_import.pt")
    def import_(self):
        unit = self.context
        title = _(
            "org_import_title", default="Import units into ${name}", mapping={"name": unit.name}
        )
        form = self.form(UnitImportSchema(), _("org_import_submit", default="Import"), "org-import")
        extra = {"errors": [], "more_errors": 0}
        if "save" not in self.request.POST:
            return self.page(form, title, **extra)

        def apply(values):
            upload = values["upload"]
            result = orgtree.import_file(
                self.request, upload["fp"], upload["filename"] or "", scope=unit
            )
            if result.errors:
                # Nothing was imported. The refusal is in the audit log, so the request's
                # transaction still commits; the form starts empty (a browser cannot
                # pre-fill a file input).
                return self.page(
                    form,
                    title,
                    appstruct={},
                    errors=result.errors[:MAX_ERRORS_SHOWN],
                    more_errors=max(0, len(result.errors) - MAX_ERRORS_SHOWN),
                )
            return self.done(
                unit,
                _(
                    "org_imported",
                    default="Imported: ${created} new and ${updated} changed units "
                    "(${unchanged} unchanged).",
                    mapping={
                        "created": result.created,
                        "updated": result.updated,
                        "unchanged": result.unchanged,
                    },
                ),
            )

        return self.submit(form, title, apply, **extra)


# -- export ---------------------------------------------------------------------------------
@view_config(
    context=OrgUnit, name="export.csv", permission=Permission.ORG_VIEW, request_method="GET"
)
@view_config(
    context=OrgUnit, name="export.xlsx", permission=Permission.ORG_VIEW, request_method="GET"
)
def export(context, request):
    fmt = request.view_name.rsplit(".", 1)[1]
    body = orgtree.export_table(context, fmt)
    audit.record(request, "org.export", target=context.code, unit=context, detail={"format": fmt})
    filename = f"orgunits-{context.code}-{dt.date.today():%Y%m%d}.{fmt}"
    response = Response(body=body, content_type=EXPORT_TYPES[fmt])
    if fmt == tables.CSV:
        response.charset = "utf-8"
    response.content_disposition = f'attachment; filename="{filename}"'
    response.cache_control = "no-store"
    return response
