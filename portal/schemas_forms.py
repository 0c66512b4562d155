"""Colander schemas for the form builder's admin pages (rendered by deform).

A form's and a field's own rules live in the forms library (forms.validation,
forms.expressions); the views put what it finds at the field it names. Expression inputs
carry `data-expression` so portal/static/builder.js checks them as they are typed.

Bind with `schema.bind(request=request, ...)`.
"""

import math
import re

import colander
import deform.widget

from forms.model import CATEGORIES, FIELD_TYPES, FORM_NAME_RE, LEVELS, PERIOD_TYPES
from portal.i18n import _
from portal.schema_base import NOT_LISTED, CSRFSchema, Node
from portal.schema_base import strip as _strip
from portal.schemas import deferred_upload_widget

XLSFORM_ACCEPT = ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPRESSION_ATTRIBUTES = ("relevant", "constraint", "calculation", "required_if")
# A file or image field's size limit is typed in these units and stored in bytes.
SIZE_UNITS = {"MB": 1024 * 1024, "KB": 1024}

PERIOD_TITLES = {
    "none": _("period_none", default="None"),
    "month": _("period_month", default="Month"),
    "quarter": _("period_quarter", default="Quarter"),
    "year": _("period_year", default="Year"),
}
FIELD_TYPE_TITLES = {
    "text": _("type_text", default="Text"),
    "integer": _("type_integer", default="Whole number"),
    "decimal": _("type_decimal", default="Decimal number"),
    "date": _("type_date", default="Date"),
    "datetime": _("type_datetime", default="Date and time"),
    "select_one": _("type_select_one", default="One choice"),
    "select_multiple": _("type_select_multiple", default="Several choices"),
    "boolean": _("type_boolean", default="Yes / no"),
    "resident_id": _("type_resident_id", default="Resident ID number"),
    "phone": _("type_phone", default="Phone number"),
    "note": _("type_note", default="Note (shown only)"),
    "calculate": _("type_calculate", default="Calculation"),
    "group": _("type_group", default="Group (a section)"),
    "repeat": _("type_repeat", default="Repeat"),
    "file": _("type_file", default="File"),
    "image": _("type_image", default="Picture"),
}
LEVEL_TITLES = {
    "station": _("level_station", default="Station"),
    "centre": _("level_centre", default="Centre"),
    "district": _("level_district", default="District"),
}


@colander.deferred
def _type_widget(node, kw):
    """The field types as the builder offers them: each named in the user's words, then by
    its XLSForm code."""
    translate = kw["request"].localizer.translate
    return deform.widget.SelectWidget(
        values=[
            (
                t,
                translate(
                    _(
                        "type_with_code",
                        default="${title} (${code})",
                        mapping={"title": translate(FIELD_TYPE_TITLES[t]), "code": t},
                    )
                ),
            )
            for t in FIELD_TYPES
        ]
    )


def _text(title, **kw):
    return Node(colander.String(), title=title, missing="", preparer=_strip, **kw)


class Number(colander.Decimal):
    """A number as typed (shown again as typed: 9, not 9.0), with the portal's message."""

    message = _("builder_not_a_number", default="Enter a number.")

    def deserialize(self, node, cstruct):
        try:
            number = super().deserialize(node, cstruct)
        except colander.Invalid as e:
            raise colander.Invalid(node, self.message, cstruct) from e
        if number is not colander.null and not math.isfinite(float(number)):
            raise colander.Invalid(node, self.message, cstruct)
        return number


class WholeNumber(colander.Integer):
    """colander.Integer with the portal's message; 2.5 is refused, not cut to 2."""

    message = _("builder_not_a_whole_number", default="Enter a whole number.")

    def deserialize(self, node, cstruct):
        if (
            isinstance(cstruct, str)
            and cstruct.strip()
            and not re.fullmatch(r"\s*[+-]?\d+\s*", cstruct)
        ):
            raise colander.Invalid(node, self.message, cstruct)
        try:
            return super().deserialize(node, cstruct)
        except colander.Invalid as e:
            raise colander.Invalid(node, self.message, cstruct) from e


def _number(kind, title):
    return Node(kind, title=title, missing=None)


def _expression(title, description):
    return _text(
        title,
        description=description,
        widget=deform.widget.TextInputWidget(
            attributes={"data-expression": "1", "autocomplete": "off", "spellcheck": "false"}
        ),
    )


# -- a form -------------------------------------------------------------------------------
@colander.deferred
def deferred_form_name_validator(node, kw):
    existing = kw["existing"]

    def validate(node, value):
        if not FORM_NAME_RE.match(value):
            raise colander.Invalid(
                node,
                _(
                    "builder_form_name_invalid",
                    default="A letter, then letters, digits, _ or - (at most 64).",
                ),
            )
        if value in existing:
            raise colander.Invalid(
                node, _("builder_form_name_taken", default="A form with this name exists.")
            )

    return validate


class FormSettingsSchema(CSRFSchema):
    name = Node(
        colander.String(),
        title=_("builder_form_name", default="Name (its id, used in URLs and exports)"),
        preparer=_strip,
        validator=deferred_form_name_validator,
    )
    title_zh = Node(
        colander.String(), title=_("builder_title_zh", default="Title (Chinese)"), preparer=_strip
    )
    title_en = _text(_("builder_title_en", default="Title (English)"))
    category = Node(
        colander.String(),
        title=_("builder_category", default="Category"),
        widget=deform.widget.SelectWidget(values=[("", "—"), *[(c, c) for c in CATEGORIES]]),
        validator=colander.OneOf(CATEGORIES, msg_err=NOT_LISTED),
    )
    levels = Node(
        colander.Set(),
        title=_("builder_levels", default="Filled in by"),
        widget=deform.widget.CheckboxChoiceWidget(
            values=[(level, LEVEL_TITLES[level]) for level in LEVELS], inline=True
        ),
        validator=colander.Length(min=1),
    )
    period_type = Node(
        colander.String(),
        title=_("builder_period_type", default="Reporting period"),
        widget=deform.widget.SelectWidget(values=[(p, PERIOD_TITLES[p]) for p in PERIOD_TYPES]),
        validator=colander.OneOf(PERIOD_TYPES, msg_err=NOT_LISTED),
        default="none",
    )


REVIEW_LEVEL_TITLES = {
    "centre": _("review_level_centre", default="Centre"),
    "district": _("review_level_district", default="District"),
    "city": _("review_level_city", default="City"),
}


class ReviewChainSchema(CSRFSchema):
    """The levels a form's records climb before they are final (lowest first)."""

    chain = Node(
        colander.Set(),
        title=_("builder_review_chain", default="Reviewed and approved by"),
        description=_(
            "builder_review_chain_help",
            default="A record climbs these levels in order; the last one makes it final. A "
            "station's records go through their centre first.",
        ),
        widget=deform.widget.CheckboxChoiceWidget(
            values=list(REVIEW_LEVEL_TITLES.items()), inline=True
        ),
        validator=colander.Length(
            min=1, min_err=_("builder_review_chain_empty", default="Choose at least one level.")
        ),
    )


class XLSFormImportSchema(CSRFSchema):
    upload = Node(
        deform.FileData(),
        title=_("builder_import_file", default="XLSForm (.xlsx)"),
        widget=deferred_upload_widget,
    )


# -- a field ------------------------------------------------------------------------------
@colander.deferred
def deferred_choices_widget(node, kw):
    lists = sorted(kw["choice_lists"])
    return deform.widget.SelectWidget(values=[("", "—"), *[(name, name) for name in lists]])


@colander.deferred
def deferred_link_widget(node, kw):
    """The fields a resident ID number can be checked against: sex (select_one) or birth
    date (date) fields of the form, by `link_targets[node.name]`."""
    targets = kw["link_targets"][node.name]
    return deform.widget.SelectWidget(values=[("", "—"), *targets])


class FieldSchema(CSRFSchema):
    name = Node(
        colander.String(),
        title=_("builder_field_name", default="Name (letters, digits, _)"),
        preparer=_strip,
    )
    type = Node(
        colander.String(),
        title=_("builder_field_type", default="Type"),
        widget=_type_widget,
        validator=colander.OneOf(FIELD_TYPES, msg_err=NOT_LISTED),
    )
    label_zh = _text(_("builder_label_zh", default="Label (Chinese)"))
    label_en = _text(_("builder_label_en", default="Label (English)"))
    hint_zh = _text(_("builder_hint_zh", default="Hint (Chinese)"))
    hint_en = _text(_("builder_hint_en", default="Hint (English)"))
    required = Node(
        colander.Boolean(), title=_("builder_required", default="Required"), missing=False
    )
    required_if = _expression(
        _("builder_required_if", default="Required when"),
        _("builder_required_if_help", default="For example: ${visit_type} = '2'"),
    )
    required_message_zh = _text(
        _("builder_required_message_zh", default="Message when missing (Chinese)")
    )
    required_message_en = _text(
        _("builder_required_message_en", default="Message when missing (English)")
    )
    default = _text(
        _("builder_default", default="Default value"),
        description=_(
            "builder_default_help",
            default="Filled in to start with: a number, yes or no, a date such as 2026-01-31, "
            "an option's code (several separated by spaces).",
        ),
    )
    read_only = Node(
        colander.Boolean(),
        title=_("builder_read_only", default="Read-only (staff cannot change it)"),
        missing=False,
    )
    relevant = _expression(
        _("builder_relevant", default="Shown when (relevant)"),
        _("builder_relevant_help", default="For example: ${smoker} = 'yes'"),
    )
    constraint = _expression(
        _("builder_constraint", default="Constraint"),
        _("builder_constraint_help", default="For example: . >= 0 and . <= 300"),
    )
    constraint_message_zh = _text(
        _("builder_constraint_message_zh", default="Constraint message (Chinese)")
    )
    constraint_message_en = _text(
        _("builder_constraint_message_en", default="Constraint message (English)")
    )
    calculation = _expression(
        _("builder_calculation", default="Calculation"),
        _(
            "builder_calculation_help",
            default="For example: round(${weight} div (${height} * ${height}), 1)",
        ),
    )
    min = _number(Number(), _("builder_min", default="Minimum"))
    max = _number(Number(), _("builder_max", default="Maximum"))
    unit = _text(_("builder_unit", default="Unit"))
    decimals = _number(WholeNumber(), _("builder_decimals", default="Decimal places"))
    choices = Node(
        colander.String(),
        title=_("builder_choices", default="Choice list"),
        missing="",
        widget=deferred_choices_widget,
    )
    min_count = _number(WholeNumber(), _("builder_min_count", default="Fewest entries"))
    max_count = _number(WholeNumber(), _("builder_max_count", default="Most entries"))
    sex_field = Node(
        colander.String(),
        title=_("builder_sex_field", default="Sex field the ID number must agree with"),
        missing="",
        widget=deferred_link_widget,
    )
    birth_date_field = Node(
        colander.String(),
        title=_(
            "builder_birth_date_field", default="Birth date field the ID number must agree with"
        ),
        missing="",
        widget=deferred_link_widget,
    )
    max_size = Node(
        Number(),
        title=_("builder_max_size", default="Largest file"),
        missing=None,
        widget=deform.widget.TextInputWidget(item_css_class="builder-half"),
    )
    max_size_unit = Node(
        colander.String(),
        title=_("builder_max_size_unit", default="Unit of the largest file"),
        widget=deform.widget.SelectWidget(
            values=[(unit, unit) for unit in SIZE_UNITS], item_css_class="builder-half"
        ),
        validator=colander.OneOf(tuple(SIZE_UNITS), msg_err=NOT_LISTED),
        default="MB",
        missing="MB",
    )
    accept = _text(
        _("builder_accept", default="Accepted file types"),
        description=_(
            "builder_accept_help",
            default="Media types separated by commas, such as image/jpeg, image/png, "
            "application/pdf, image/*. Empty: any file; for an image, JPEG, PNG, GIF or WebP.",
        ),
    )
    pii = Node(
        colander.Boolean(), title=_("builder_pii", default="Personal information"), missing=False
    )


# -- a choice list ------------------------------------------------------------------------
class ChoiceSchema(colander.MappingSchema):
    code = Node(colander.String(), title=_("builder_choice_code", default="Code"), preparer=_strip)
    label_zh = _text(_("builder_label_zh", default="Label (Chinese)"))
    label_en = _text(_("builder_label_en", default="Label (English)"))
    exclusive = Node(
        colander.Boolean(),
        title=_("builder_exclusive", default="Excludes the others"),
        missing=False,
    )


class ChoicesSequence(colander.SequenceSchema):
    choice = ChoiceSchema(title=_("builder_choice", default="Option"))


@colander.deferred
def deferred_list_name_validator(node, kw):
    def validate(node, value):
        if not FORM_NAME_RE.match(value):
            raise colander.Invalid(
                node,
                _(
                    "builder_form_name_invalid",
                    default="A letter, then letters, digits, _ or - (at most 64).",
                ),
            )

    return validate


class ChoiceListSchema(CSRFSchema):
    list_name = Node(
        colander.String(),
        title=_("builder_list_name", default="List name"),
        preparer=_strip,
        validator=deferred_list_name_validator,
    )
    choices = ChoicesSequence(
        title=_("builder_choices_options", default="Options"),
        widget=deform.widget.SequenceWidget(min_len=1, orderable=True),
    )


# -- publishing ---------------------------------------------------------------------------
class PublishSchema(CSRFSchema):
    confirm = Node(
        colander.Boolean(),
        title=_(
            "builder_publish_confirm",
            default="I understand that answers already given to these fields will no longer "
            "fit the form.",
        ),
        missing=False,
    )
