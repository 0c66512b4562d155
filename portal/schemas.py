"""Colander schemas for the organisation tree's admin forms (rendered by deform).

The checks themselves live in portal.services.orgtree, so a form field, an imported row
and the CLI report the same problem in the same words. Every message is a portal
translation string (colander's own catalogue has no zh_CN). Every form carries the
session's CSRF token in a hidden field; Pyramid checks it before any view runs.

Bind with `schema.bind(request=request, context=unit, ...)`.
"""

import datetime as dt

import colander
import deform.widget

from portal.i18n import _, translate
from portal.schema_base import NOT_LISTED, CSRFSchema, LocalDate, Node
from portal.schema_base import strip as _strip
from portal.services import orgtree
from portal.vocab import unit_type_title

# Browsers show their own date picker; the value they send is ISO (YYYY-MM-DD).
DATE_WIDGET = deform.widget.TextInputWidget(attributes={"type": "date"})
IMPORT_ACCEPT = (
    ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)


def _invalid_if(node, request, problem) -> None:
    """Raise colander.Invalid at node for an orgtree problem, translated for the request."""
    if problem is not None:
        raise colander.Invalid(node, translate(request.localizer, problem))


# -- fields -------------------------------------------------------------------------------
@colander.deferred
def deferred_code_validator(node, kw):
    request = kw["request"]

    def validate(node, value):
        _invalid_if(node, request, orgtree.code_problem(request.root_site, value))

    return validate


@colander.deferred
def deferred_name_validator(node, kw):
    def validate(node, value):
        _invalid_if(node, kw["request"], orgtree.name_problem(value))

    return validate


def _type_choices(kw) -> list[str]:
    """The types the unit may have: below the context (adding) or where it is (editing)."""
    context = kw["context"]
    if kw.get("editing"):
        types = orgtree.allowed_types(context.__parent__, context)
        return types if context.type in types else [context.type, *types]
    return orgtree.allowed_types(context)


@colander.deferred
def deferred_type_widget(node, kw):
    translate = kw["request"].localizer.translate
    values = [(t, translate(unit_type_title(t))) for t in _type_choices(kw)]
    if len(values) > 1 and not kw.get("editing"):
        values.insert(0, ("", translate(_("choose", default="— Choose —"))))
    return deform.widget.SelectWidget(values=values)


@colander.deferred
def deferred_type_validator(node, kw):
    return colander.OneOf(_type_choices(kw), msg_err=NOT_LISTED)


@colander.deferred
def deferred_valid_from_validator(node, kw):
    context = kw["context"]

    def validate(node, value):
        if kw.get("editing"):
            _invalid_if(node, kw["request"], orgtree.date_order_problem(value, context.valid_to))

    return validate


def code_node(**kw):
    return Node(
        colander.String(),
        name="code",
        title=_("code", default="Code"),
        description=_(
            "org_code_help",
            default="6 to 20 digits, e.g. the GB/T 2260 division code. It cannot be changed later.",
        ),
        preparer=_strip,
        validator=deferred_code_validator,
        widget=deform.widget.TextInputWidget(
            attributes={"inputmode": "numeric", "maxlength": "20", "autocomplete": "off"}
        ),
        **kw,
    )


def name_node():
    return Node(
        colander.String(),
        name="name",
        title=_("name", default="Name"),
        preparer=_strip,
        validator=deferred_name_validator,
        widget=deform.widget.TextInputWidget(attributes={"maxlength": str(orgtree.NAME_MAX)}),
    )


def type_node():
    return Node(
        colander.String(),
        name="type",
        title=_("type", default="Type"),
        widget=deferred_type_widget,
        validator=deferred_type_validator,
    )


def valid_from_node():
    return Node(
        LocalDate(),
        name="valid_from",
        title=_("valid_from", default="Valid from"),
        missing=None,
        widget=DATE_WIDGET,
        validator=deferred_valid_from_validator,
    )


# -- the forms ----------------------------------------------------------------------------
def unit_add_schema() -> CSRFSchema:
    """A new unit below the context."""
    schema = CSRFSchema()
    for node in (code_node(), name_node(), type_node(), valid_from_node()):
        schema.add(node)
    return schema


def unit_edit_schema() -> CSRFSchema:
    """The context's name, type and start date (bind with editing=True). The code stays."""
    schema = CSRFSchema()
    for node in (name_node(), type_node(), valid_from_node()):
        schema.add(node)
    return schema


@colander.deferred
def deferred_parent_widget(node, kw):
    translate = kw["request"].localizer.translate
    values = [("", translate(_("choose", default="— Choose —")))]
    values += [(unit.code, unit_label(unit)) for unit in kw["targets"]]
    return deform.widget.SelectWidget(values=values)


@colander.deferred
def deferred_parent_validator(node, kw):
    return colander.OneOf([unit.code for unit in kw["targets"]], msg_err=NOT_LISTED)


def unit_label(unit) -> str:
    """Where a unit is, for choosing among many: 东城区 / 和平社区卫生服务中心 (110101001)."""
    names = [u.name for u in _lineage_units(unit)]
    shown = names[1:] if len(names) > 1 else names  # everything is in the same city
    return f"{' / '.join(shown)} ({unit.code})"


def _lineage_units(unit):
    units = []
    while unit is not None:
        units.append(unit)
        unit = unit.parent_unit
    return units[::-1]


class UnitMoveSchema(CSRFSchema):
    """Where to move the context; bind with targets=[units the user may move it to]."""

    parent = Node(
        colander.String(),
        title=_("move_new_parent", default="New parent unit"),
        widget=deferred_parent_widget,
        validator=deferred_parent_validator,
    )


@colander.deferred
def deferred_today(node, kw):
    return dt.date.today()


@colander.deferred
def deferred_valid_to_validator(node, kw):
    context = kw["context"]

    def validate(node, value):
        _invalid_if(node, kw["request"], orgtree.date_order_problem(context.valid_from, value))

    return validate


@colander.deferred
def deferred_successor_validator(node, kw):
    request, context = kw["request"], kw["context"]

    def validate(node, value):
        _invalid_if(
            node, request, orgtree.successor_problem(request.root_site, context.code, value)
        )

    return validate


class UnitDeactivateSchema(CSRFSchema):
    """The last day of the context's validity and the unit that takes over, if any."""

    valid_to = Node(
        LocalDate(),
        title=_("valid_to", default="Valid until"),
        description=_("deactivate_valid_to_help", default="The last day the unit existed."),
        default=deferred_today,
        widget=DATE_WIDGET,
        validator=deferred_valid_to_validator,
    )
    successor = Node(
        colander.String(),
        title=_("successor", default="Successor"),
        description=_(
            "deactivate_successor_help",
            default="Code of the active unit that takes over its work (optional).",
        ),
        missing=None,
        preparer=_strip,
        validator=deferred_successor_validator,
        widget=deform.widget.TextInputWidget(
            attributes={"inputmode": "numeric", "maxlength": "20", "autocomplete": "off"}
        ),
    )


class ConfirmSchema(CSRFSchema):
    """A form that only confirms an action (reactivating a unit)."""


class _UploadStore(dict):
    """deform's temporary store for uploads, kept for one request: the file is imported
    (or refused) in the request that brings it, so there is nothing to keep it for."""

    def preview_url(self, uid):
        return None


@colander.deferred
def deferred_upload_widget(node, kw):
    return deform.widget.FileUploadWidget(_UploadStore(), accept=IMPORT_ACCEPT)


class UnitImportSchema(CSRFSchema):
    upload = Node(
        deform.FileData(),
        title=_("import_file", default="File (CSV or XLSX)"),
        widget=deferred_upload_widget,
    )
