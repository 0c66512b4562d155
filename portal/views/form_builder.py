"""The form builder: admin pages to create a form, import an XLSForm, edit fields (every
setting of the field's type) and choice lists, reorder fields and move them into and out of
groups and repeats, preview the draft as staff will see it, and publish it.

Every change works on the draft (editing a published form starts a new draft from its latest
version) and is audited as `form.edit`; publishing is audited as `form.publish`. The rules
are the forms library's (forms.validation, forms.expressions, forms.versions); storing and
publishing are portal.services.forms, which the JSON API uses too.
"""

import copy
import dataclasses
import decimal
import functools
import json
import re
from typing import Any

import colander
import deform
from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults

from forms.deform_builder import FormRunner
from forms.expressions import check as check_expression
from forms.model import (
    CONTAINER_TYPES,
    FIELD_DEFAULTS,
    FIELD_TYPES,
    LEVELS,
    Choice,
    Field,
    FormDefinition,
    Text,
)
from forms.validation import applicable, check_definition
from forms.versions import data_losing
from forms.xlsform import format_default, parse_default
from portal import audit
from portal.i18n import _, forms_language
from portal.resources import FormResource, Forms
from portal.schemas_forms import (
    EXPRESSION_ATTRIBUTES,
    LEVEL_TITLES,
    PERIOD_TITLES,
    REVIEW_LEVEL_TITLES,
    SIZE_UNITS,
    ChoiceListSchema,
    FieldSchema,
    FormSettingsSchema,
    PublishSchema,
    ReviewChainSchema,
    XLSFormImportSchema,
)
from portal.security import Permission
from portal.services import forms as form_service
from portal.services import review
from portal.views.common import FormRenderer, flash, local_time

# Field attributes that are texts in two languages, edited as `<attribute>_zh`/`_en`.
TEXT_ATTRIBUTES = ("label", "hint", "required_message", "constraint_message")
# Attributes edited as they are stored; default, max_size and accept are converted.
PLAIN_ATTRIBUTES = (
    "name", "type", "required", "required_if", "read_only", "relevant", "constraint",
    "calculation", "min", "max", "unit", "decimals", "choices", "min_count", "max_count",
    "sex_field", "birth_date_field", "pii",
)  # fmt: skip
# Number inputs, empty when the attribute is not set.
NUMBER_ATTRIBUTES = ("min", "max", "decimals", "min_count", "max_count")
# The types of field a resident ID number's links name.
LINK_TYPES = {"sex_field": "select_one", "birth_date_field": "date"}


# -- the draft as a tree of fields ----------------------------------------------------------
def working_definition(form: FormResource) -> FormDefinition:
    """The draft, or a copy of the latest version to start a new draft from."""
    draft = form.draft()
    return draft if draft is not None else form.latest.definition()


def locate(fields: list[Field], name: str) -> tuple[list[Field], int] | None:
    """The list holding the field called name, and its index there."""
    for index, f in enumerate(fields):
        if f.name == name:
            return fields, index
        found = locate(f.children, name)
        if found is not None:
            return found
    return None


@dataclasses.dataclass
class Row:
    """A field on the form's page: how deep it sits, the group or repeat holding it ("" at
    the top), the containers around it, and where else it may be moved to."""

    field: Field
    depth: int
    parent: str
    path: tuple[str, ...]
    destinations: list[tuple[str, str]]


def field_rows(definition: FormDefinition, language: str) -> list[Row]:
    """Every field in order, for the form page's indented list."""
    containers = [f for f in definition.iter_fields() if f.is_container]
    rows = []

    def walk(fields: list[Field], path: tuple[str, ...]) -> None:
        for f in fields:
            parent = path[-1] if path else ""
            inside = {f.name, *(d.name for d in f.iter_fields())}
            destinations = [("", "")] if parent else []
            destinations += [
                (c.name, c.label.get(language))
                for c in containers
                if c.name not in inside and c.name != parent
            ]
            rows.append(Row(f, len(path), parent, path, destinations))
            walk(f.children, (*path, f.name))

    walk(definition.fields, ())
    return rows


def default_from_text(field_type: str, text: str) -> Any:
    """A default typed in the builder as the field's type holds it (read as the XLSForm
    `default` column is). What cannot be read is kept as typed, for check_definition to
    say why it does not fit."""
    text = text.strip()
    if not text:
        return None
    try:
        return parse_default(field_type, text)
    except ValueError:
        return text


def size_text(size: int) -> tuple[decimal.Decimal, str]:
    """A size in bytes as the builder shows it: in megabytes from 1 MB when that takes two
    decimals at most (1.5 MB), else in kilobytes (300 KB)."""
    mb = SIZE_UNITS["MB"]
    unit = "MB" if size >= mb and size * 100 % mb == 0 else "KB"
    number = decimal.Decimal(size) / SIZE_UNITS[unit]
    return number.normalize() if number != number.to_integral() else number.quantize(1), unit


def field_appstruct(f: Field) -> dict:
    values = {key: getattr(f, key) for key in PLAIN_ATTRIBUTES}
    for key in NUMBER_ATTRIBUTES:
        if values[key] is None:
            values[key] = colander.null
    for key in TEXT_ATTRIBUTES:
        text = getattr(f, key)
        values[f"{key}_zh"], values[f"{key}_en"] = text.zh, text.en
    values["default"] = format_default(f.default)
    values["max_size"], values["max_size_unit"] = (
        size_text(f.max_size) if f.max_size is not None else (colander.null, "MB")
    )
    values["accept"] = ", ".join(f.accept)
    return values


def field_from(values: dict, base: Field | None) -> Field:
    """A field from the form's values, keeping what the form does not edit (children).
    Settings that do not apply to the field's type are cleared: their inputs were hidden."""
    field_type = values["type"]
    changes = {key: values[key] for key in PLAIN_ATTRIBUTES}
    for key in ("min", "max"):
        number = changes[key]
        if number is not None:
            changes[key] = int(number) if number == number.to_integral_value() else float(number)
    for key in TEXT_ATTRIBUTES:
        changes[key] = Text(zh=values[f"{key}_zh"], en=values[f"{key}_en"])
    changes["default"] = default_from_text(field_type, values["default"])
    size = values["max_size"]
    changes["max_size"] = None if size is None else int(size * SIZE_UNITS[values["max_size_unit"]])
    changes["accept"] = tuple(t.strip() for t in values["accept"].split(",") if t.strip())
    for key in changes:
        if not applicable(key, field_type):
            changes[key] = FIELD_DEFAULTS[key]
    if base is None:
        return Field(**changes)
    return dataclasses.replace(base, **changes)


def input_attribute(name: str) -> str:
    """The field attribute an input of the field form edits."""
    if name == "max_size_unit":
        return "max_size"
    return re.sub(r"_(zh|en)\Z", "", name)


@functools.cache
def conditional_inputs() -> dict[str, list[str]]:
    """The field form's inputs that apply to some types only, with those types."""
    found = {}
    for node in FieldSchema().children:
        types = [t for t in FIELD_TYPES if applicable(input_attribute(node.name), t)]
        if len(types) < len(FIELD_TYPES):
            found[node.name] = types
    return found


class MoveRefused(Exception):
    """A field cannot go where it was asked to: a reason (a message id), or the problems
    the move would give the definition."""

    def __init__(self, reason=None, problems=()):
        super().__init__(reason or problems)
        self.reason = reason
        self.problems = list(problems)


def problem_keys(definition: FormDefinition) -> dict[tuple, Any]:
    return {(p.field, p.attribute, p.message.render("en")): p for p in check_definition(definition)}


def move(definition: FormDefinition, name: str, parent: str, before: str) -> bool:
    """Move the field called name into the group or repeat `parent` ("" for the form's top
    level), before its field `before` ("" for the end). Whether anything moved; raises
    MoveRefused, the definition left as it was, when the place does not exist or is inside
    the field itself, or when the definition would have problems it did not have
    (expressions that can no longer read a field moved into a repeat, say)."""
    f = definition.get_field(name)
    if parent:
        container = definition.get_field(parent)
        if container is None or not container.is_container:
            raise MoveRefused(
                _("builder_move_no_group", default="Choose a group or a repeat to move it to.")
            )
        if container is f or any(d is container for d in f.iter_fields()):
            raise MoveRefused(
                _(
                    "builder_move_into_itself",
                    default="A group cannot go inside itself or a group within it.",
                )
            )
        siblings = container.children
    else:
        siblings = definition.fields
    if before and (before == name or not any(s.name == before for s in siblings)):
        raise MoveRefused(
            _(
                "builder_move_no_place",
                default="That place is no longer in the form: reload the page.",
            )
        )
    old_container, old_index = locate(definition.fields, name)
    old_next = old_container[old_index + 1].name if old_index + 1 < len(old_container) else ""
    if old_container is siblings and old_next == before:
        return False
    known = problem_keys(definition)
    del old_container[old_index]
    index = next((i for i, s in enumerate(siblings) if s.name == before), len(siblings))
    siblings.insert(index, f)
    new = [p for key, p in problem_keys(definition).items() if key not in known]
    if new:
        del siblings[index]
        old_container.insert(old_index, f)
        raise MoveRefused(problems=new)
    return True


# -- the pages ------------------------------------------------------------------------------
def invalid_at(form: deform.Form, errors: dict, message=None) -> None:
    """Show errors ({node name: message}, and a message above) on a deform form."""
    error = colander.Invalid(form.schema, message)
    for name, text in errors.items():
        error[name] = text
    form.widget.handle_error(form, error)


def audit_edit(request, form: FormResource, action: str, **detail) -> None:
    audit.record(
        request,
        "form.edit",
        target=form.name,
        unit=form.org_scope(),
        detail={"action": action, "version": form.next_number, **detail},
    )


class BuilderBase:
    def __init__(self, context, request):
        self.context = context
        self.request = request
        self.site = request.root_site
        self.language = forms_language(request)

    def deform(self, schema, submit_title, formid, cancel_url, **bindings) -> deform.Form:
        schema = schema.bind(request=self.request, **bindings)
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
            schema, buttons=buttons, formid=formid, renderer=FormRenderer(self.request)
        )

    def page(self, title, form=None, **extra) -> dict:
        html = None
        if form is not None:
            appstruct = extra.pop("appstruct", None)
            html = form.render(appstruct) if appstruct is not None else form.render()
        return {
            "title": title,
            "form": html,
            "active_nav": "forms",
            "forms_url": self.request.resource_url(form_service.forms_folder(self.site)),
            "builder_form": None,
            "field_names": None,
            "warning": None,
            "changes": None,
            "errors": [],
            **extra,
        }


# -- the list of forms, import, new form ----------------------------------------------------
@view_defaults(context=Forms, permission=Permission.FORM_EDIT)
class FormsAdmin(BuilderBase):
    def rows(self) -> list[dict]:
        rows = []
        for form in self.context.values():
            definition = working_definition(form)
            rows.append(
                {
                    "form": form,
                    "title": definition.title.get(self.language),
                    "category": definition.category,
                    "published": form.latest.number if form.latest else None,
                    "draft": form.has_draft,
                }
            )
        return rows

    def import_form(self) -> deform.Form:
        form = self.deform(
            XLSFormImportSchema(),
            _("builder_import_submit", default="Import"),
            "form-import",
            self.request.resource_url(self.context),
        )
        form.action = self.request.resource_url(self.context, "import")
        return form

    def list_page(self, import_form, **extra) -> dict:
        return self.page(
            _("builder_forms_title", default="Forms"),
            rows=self.rows(),
            import_form=import_form.render({}),  # a file input cannot be filled in again
            **extra,
        )

    @view_config(request_method="GET", renderer="portal:templates/builder_list.pt")
    def list(self):
        return self.list_page(self.import_form())

    @view_config(name="import", request_method="POST", renderer="portal:templates/builder_list.pt")
    def import_(self):
        form = self.import_form()
        try:
            values = form.validate(self.request.POST.items())
        except deform.ValidationFailure as failure:
            return self.page(
                _("builder_forms_title", default="Forms"),
                rows=self.rows(),
                import_form=failure.render(),
            )
        upload = values["upload"]
        outcome = form_service.import_xlsform(self.site, upload["fp"], upload["filename"])
        if not outcome.ok:
            # Nothing was saved: the service checks the whole file before storing anything.
            return self.list_page(
                form, errors=[error.render(self.language) for error in outcome.errors]
            )
        imported = outcome.form
        audit.record(
            self.request,
            "form.import",
            target=imported.name,
            unit=self.context.org_scope(),
            detail={"version": imported.next_number, "created": outcome.created},
        )
        flash(
            self.request,
            _(
                "builder_imported",
                default="${name} was imported as a draft.",
                mapping={"name": imported.name},
            ),
        )
        return HTTPSeeOther(self.request.resource_url(imported))

    @view_config(
        name="new", request_method=("GET", "POST"), renderer="portal:templates/builder_page.pt"
    )
    def new(self):
        title = _("builder_new_title", default="New form")
        form = self.deform(
            FormSettingsSchema(),
            _("builder_new_submit", default="Create form"),
            "form-new",
            self.request.resource_url(self.context),
            existing=set(self.context.keys()),
        )
        if "save" not in self.request.POST:
            return self.page(title, form)
        try:
            values = form.validate(self.request.POST.items())
        except deform.ValidationFailure as failure:
            return self.page(title, failure)
        definition = FormDefinition(
            name=values["name"],
            title=Text(zh=values["title_zh"], en=values["title_en"]),
            category=values["category"],
            levels=tuple(values["levels"]),
            period_type=values["period_type"],
        )
        created, _created = form_service.save_draft(self.site, definition)
        audit_edit(self.request, created, "create")
        flash(
            self.request,
            _("builder_created", default="${name} was created.", mapping={"name": created.name}),
        )
        return HTTPSeeOther(self.request.resource_url(created))


# -- one form ------------------------------------------------------------------------------
@view_defaults(context=FormResource, permission=Permission.FORM_EDIT)
class FormAdmin(BuilderBase):
    @property
    def form_url(self) -> str:
        return self.request.resource_url(self.context)

    def save(self, definition: FormDefinition, action: str, **detail) -> None:
        form_service.save_draft(self.site, definition)
        audit_edit(self.request, self.context, action, **detail)

    def title_of(self, definition) -> str:
        return definition.title.get(self.language) or definition.name

    @view_config(request_method="GET", renderer="portal:templates/builder_form.pt")
    def show(self):
        return self.form_page(working_definition(self.context))

    def form_page(self, definition: FormDefinition, move_errors=()) -> dict:
        form = self.context
        problems = check_definition(definition)
        return self.page(
            self.title_of(definition),
            builder_form=form,
            definition=definition,
            rows=field_rows(definition, self.language),
            problems=[(p.field, p.attribute, p.message.render(self.language)) for p in problems],
            move_errors=list(move_errors),
            summary=self.summary(definition),
            review_chain=self.review_text(),
            versions=[
                {
                    "number": version.number,
                    "published": local_time(version.published).strftime("%Y-%m-%d %H:%M"),
                    "published_by": version.published_by or "—",
                    "xlsform_url": self.request.route_url(
                        "api_form_xlsform", name=form.name, _query={"version": version.number}
                    ),
                }
                for version in reversed(form.versions)
            ],
            xlsform_url=(
                self.request.route_url("api_form_xlsform", name=form.name)
                if form.latest is not None
                else None
            ),
        )

    def summary(self, definition: FormDefinition) -> list[str]:
        """Category, levels and period type as words in the user's language."""
        translate = self.request.localizer.translate
        levels = " / ".join(translate(LEVEL_TITLES[level]) for level in definition.levels)
        return [
            definition.category or "—",
            levels or "—",
            translate(PERIOD_TITLES.get(definition.period_type, definition.period_type)),
        ]

    def review_text(self) -> str:
        """The form's review chain in words ("中心 → 区级 → 市级")."""
        translate = self.request.localizer.translate
        return " → ".join(
            translate(REVIEW_LEVEL_TITLES[level]) for level in review.form_chain(self.context)
        )

    @view_config(
        name="settings",
        request_method=("GET", "POST"),
        renderer="portal:templates/builder_page.pt",
    )
    def settings(self):
        """The form's title, category, levels and period (an imported XLSForm may lack them)."""
        definition = working_definition(self.context)
        title = _(
            "builder_settings_title",
            default="Settings of ${name}",
            mapping={"name": self.context.name},
        )
        schema = FormSettingsSchema()
        del schema["name"]
        form = self.deform(schema, _("save", default="Save"), "form-settings", self.form_url)
        if "save" not in self.request.POST:
            appstruct = {
                "title_zh": definition.title.zh,
                "title_en": definition.title.en,
                "category": definition.category or "",
                "levels": set(definition.levels),
                "period_type": definition.period_type,
            }
            return self.page(title, form, builder_form=self.context, appstruct=appstruct)
        try:
            values = form.validate(self.request.POST.items())
        except deform.ValidationFailure as failure:
            return self.page(title, failure, builder_form=self.context)
        definition.title = Text(zh=values["title_zh"], en=values["title_en"])
        definition.category = values["category"]
        definition.levels = tuple(level for level in LEVELS if level in values["levels"])
        definition.period_type = values["period_type"]
        self.save(definition, "edit_settings")
        flash(self.request, _("builder_settings_saved", default="The settings were saved."))
        return HTTPSeeOther(self.form_url)

    @view_config(
        name="review",
        request_method=("GET", "POST"),
        renderer="portal:templates/builder_page.pt",
    )
    def review_chain(self):
        """The form's review chain: which levels approve its records, in order. It applies
        at once (it is not part of a version): records already on their way keep the levels
        that approved them and climb the new chain from there."""
        title = _(
            "builder_review_title",
            default="Review chain of ${name}",
            mapping={"name": self.context.name},
        )
        form = self.deform(
            ReviewChainSchema(), _("save", default="Save"), "form-review", self.form_url
        )
        if "save" not in self.request.POST:
            appstruct = {"chain": set(review.form_chain(self.context))}
            return self.page(title, form, builder_form=self.context, appstruct=appstruct)
        try:
            values = form.validate(self.request.POST.items())
        except deform.ValidationFailure as failure:
            return self.page(title, failure, builder_form=self.context)
        chain = tuple(level for level in review.LEVELS if level in values["chain"])
        before = review.form_chain(self.context)
        self.context.review_chain = chain
        audit.record(
            self.request,
            "form.review_chain",
            target=self.context.name,
            unit=self.context.org_scope(),
            detail={"before": list(before), "after": list(chain)},
        )
        flash(self.request, _("builder_review_saved", default="The review chain was saved."))
        return HTTPSeeOther(self.form_url)

    # fields -------------------------------------------------------------------------------
    def field_form(
        self, definition: FormDefinition, submit_title, field_name: str | None, field_type: str
    ) -> deform.Form:
        """The field form; the inputs that do not apply to `field_type` are hidden (builder.js
        shows and hides them as the type changes)."""
        link_targets = {
            link: [
                (f.name, f"{f.name} {f.label.get(self.language)}".strip())
                for f in definition.iter_fields()
                if f.type == kind and f.name != field_name
            ]
            for link, kind in LINK_TYPES.items()
        }
        form = self.deform(
            FieldSchema(),
            submit_title,
            "form-field",
            self.form_url,
            choice_lists=definition.choice_lists,
            link_targets=link_targets,
        )
        if field_type not in FIELD_TYPES:
            field_type = "text"
        for name, types in conditional_inputs().items():
            widget = copy.copy(form[name].widget)  # the schema's widgets are shared
            hidden = "" if field_type in types else " d-none"
            widget.item_css_class = f"{widget.item_css_class or ''} builder-conditional{hidden}"
            form[name].widget = widget
        return form

    def field_page(self, title, form, definition, field_name=None, **extra):
        names = [n for n in definition.field_names() if n != field_name]
        return self.page(
            title,
            form,
            builder_form=self.context,
            field_names=json.dumps(names),
            conditional_inputs=json.dumps(conditional_inputs()),
            choices_url=self.request.resource_url(self.context, "choices"),
            **extra,
        )

    def submit_field(self, title, form, definition, original: Field | None, parent: str | None):
        """Validate the field form and store the field: a redirect to the form's page, or
        the form again with each problem at its input and everything typed kept."""
        field_name = original.name if original else None
        try:
            values = form.validate(self.request.POST.items())
        except deform.ValidationFailure as failure:
            return self.field_page(title, failure, definition, field_name)
        # The field goes into a copy: the page shown again lists the form as it was.
        changed = copy.deepcopy(definition)
        new_field = field_from(values, original)
        if original is None:
            siblings = changed.get_field(parent).children if parent else changed.fields
            siblings.append(new_field)
        else:
            container, index = locate(changed.fields, original.name)
            container[index] = new_field
        errors = self.field_errors(definition, values, field_name)
        for key, message in self.definition_errors(changed, new_field.name).items():
            errors.setdefault(key, message)
        if errors:
            invalid_at(form, errors)
            return self.field_page(title, form, definition, field_name)
        action = "add_field" if original is None else "edit_field"
        self.save(changed, action, field=values["name"])
        flash(
            self.request,
            _(
                "builder_field_saved",
                default="Field ${name} was saved.",
                mapping={"name": values["name"]},
            ),
        )
        return HTTPSeeOther(self.form_url)

    def field_errors(self, definition, values, field_name) -> dict:
        """Errors in the name and expressions, before the field is put in the form."""
        errors = {}
        names = [n for n in definition.field_names() if n != field_name]
        if values["name"] in names:
            errors["name"] = self.request.localizer.translate(
                _("builder_field_name_taken", default="Another field has this name.")
            )
        known = [*names, values["name"]]
        for attribute in EXPRESSION_ATTRIBUTES:
            text = values[attribute]
            if not text or not applicable(attribute, values["type"]):
                continue
            found = check_expression(text, known, language=self.language)
            if found:
                errors[attribute] = found[0]["message"]
        return errors

    def definition_errors(self, definition, field_name) -> dict:
        """The problems check_definition finds with the field, by the form's input."""
        errors = {}
        inputs = {node.name for node in FieldSchema().children}
        for problem in check_definition(definition):
            if problem.field != field_name:
                continue
            key = problem.attribute or "name"
            if key in TEXT_ATTRIBUTES:
                key = f"{key}_zh"
            if key == "children":
                key = "type"  # a group or repeat that holds fields made another type
            if key not in inputs:
                key = "name"
            errors.setdefault(key, problem.message.render(self.language))
        return errors

    @view_config(
        name="add-field",
        request_method=("GET", "POST"),
        renderer="portal:templates/builder_page.pt",
    )
    def add_field(self):
        definition = working_definition(self.context)
        parent = self.request.params.get("parent") or None
        if parent is not None:
            container = definition.get_field(parent)
            if container is None or container.type not in CONTAINER_TYPES:
                raise HTTPNotFound()
        title = _(
            "builder_add_field_title",
            default="Add a field to ${form}",
            mapping={"form": self.title_of(definition)},
        )
        form = self.field_form(
            definition,
            _("builder_add_field", default="Add field"),
            None,
            self.request.POST.get("type", "text"),
        )
        if parent is not None:
            form.action = self.request.resource_url(
                self.context, "add-field", query={"parent": parent}
            )
        if "save" not in self.request.POST:
            return self.field_page(title, form, definition, appstruct={"type": "text"})
        return self.submit_field(title, form, definition, None, parent)

    def requested_field(self, definition) -> Field:
        f = definition.get_field(self.request.params.get("field", ""))
        if f is None:
            raise HTTPNotFound()
        return f

    @view_config(
        name="edit-field",
        request_method=("GET", "POST"),
        renderer="portal:templates/builder_page.pt",
    )
    def edit_field(self):
        definition = working_definition(self.context)
        original = self.requested_field(definition)
        title = _(
            "builder_edit_field_title", default="Field ${name}", mapping={"name": original.name}
        )
        form = self.field_form(
            definition,
            _("save", default="Save"),
            original.name,
            self.request.POST.get("type", original.type),
        )
        form.action = self.request.resource_url(
            self.context, "edit-field", query={"field": original.name}
        )
        if "save" not in self.request.POST:
            return self.field_page(
                title, form, definition, original.name, appstruct=field_appstruct(original)
            )
        return self.submit_field(title, form, definition, original, None)

    @view_config(
        name="move-field", request_method="POST", renderer="portal:templates/builder_form.pt"
    )
    def move_field(self):
        """Move a field one place up or down among its siblings (`direction`), or into the
        group or repeat `parent` ("" for the top level) before its field `before` ("" for
        the end): the no-JS buttons, the "move to" list and builder.js's drag and drop."""
        definition = working_definition(self.context)
        f = self.requested_field(definition)
        post = self.request.POST
        container, index = locate(definition.fields, f.name)
        parent = next(
            (p.name for p in definition.iter_fields() if any(c is f for c in p.children)), ""
        )
        direction = post.get("direction")
        if direction == "up":
            if index == 0:
                return HTTPSeeOther(self.form_url)
            before = container[index - 1].name
        elif direction == "down":
            if index + 1 == len(container):
                return HTTPSeeOther(self.form_url)
            before = container[index + 2].name if index + 2 < len(container) else ""
        elif "parent" in post:
            parent, before = post["parent"], post.get("before", "")
        else:
            raise HTTPBadRequest()
        try:
            moved = move(definition, f.name, parent, before)
        except MoveRefused as refused:
            if refused.reason is not None:
                messages = [(None, self.request.localizer.translate(refused.reason))]
            else:
                messages = [(p.field, p.message.render(self.language)) for p in refused.problems]
            return self.form_page(definition, move_errors=messages)
        if moved:
            self.save(definition, "move_field", field=f.name, parent=parent, before=before)
            flash(
                self.request,
                _(
                    "builder_field_moved",
                    default="Field ${name} was moved.",
                    mapping={"name": f.name},
                ),
            )
        return HTTPSeeOther(self.form_url)

    @view_config(name="remove-field", request_method="POST")
    def remove_field(self):
        definition = working_definition(self.context)
        f = self.requested_field(definition)
        container, index = locate(definition.fields, f.name)
        del container[index]
        self.save(definition, "remove_field", field=f.name)
        flash(
            self.request,
            _(
                "builder_field_removed",
                default="Field ${name} was removed.",
                mapping={"name": f.name},
            ),
        )
        return HTTPSeeOther(self.form_url)

    # choice lists -------------------------------------------------------------------------
    @view_config(
        name="choices",
        request_method=("GET", "POST"),
        renderer="portal:templates/builder_page.pt",
    )
    def choices(self):
        definition = working_definition(self.context)
        list_name = self.request.params.get("list") or None
        if list_name is not None and list_name not in definition.choice_lists:
            raise HTTPNotFound()
        title = (
            _("builder_choices_title", default="Choice list ${name}", mapping={"name": list_name})
            if list_name
            else _("builder_new_choices_title", default="New choice list")
        )
        form = self.deform(
            ChoiceListSchema(), _("save", default="Save"), "form-choices", self.form_url
        )
        if list_name is not None:
            form.action = self.request.resource_url(
                self.context, "choices", query={"list": list_name}
            )
        if "save" not in self.request.POST:
            appstruct = {"choices": [{}]}
            if list_name is not None:
                appstruct = {
                    "list_name": list_name,
                    "choices": [
                        {
                            "code": c.code,
                            "label_zh": c.label.zh,
                            "label_en": c.label.en,
                            "exclusive": c.exclusive,
                        }
                        for c in definition.choice_lists[list_name]
                    ],
                }
            return self.page(title, form, builder_form=self.context, appstruct=appstruct)
        try:
            values = form.validate(self.request.POST.items())
        except deform.ValidationFailure as failure:
            return self.page(title, failure, builder_form=self.context)
        new_name = values["list_name"]
        if new_name != list_name and new_name in definition.choice_lists:
            invalid_at(
                form,
                {
                    "list_name": self.request.localizer.translate(
                        _("builder_list_name_taken", default="Another choice list has this name.")
                    )
                },
            )
            return self.page(title, form, builder_form=self.context)
        choices = [
            Choice(c["code"], Text(zh=c["label_zh"], en=c["label_en"]), c["exclusive"])
            for c in values["choices"]
        ]
        lists = dict(definition.choice_lists)
        if list_name is not None and new_name != list_name:
            del lists[list_name]
            for f in definition.iter_fields():
                if f.choices == list_name:
                    f.choices = new_name
        lists[new_name] = choices
        definition.choice_lists = lists
        problems = [
            p.message.render(self.language)
            for p in check_definition(definition)
            if p.choice_list == new_name
        ]
        if problems:
            invalid_at(form, {"choices": problems[0]})
            return self.page(title, form, builder_form=self.context)
        self.save(definition, "edit_choices", choice_list=new_name)
        flash(
            self.request,
            _(
                "builder_choices_saved",
                default="Choice list ${name} was saved.",
                mapping={"name": new_name},
            ),
        )
        return HTTPSeeOther(self.form_url)

    # preview ------------------------------------------------------------------------------
    # The form is the one staff fill in, which carries no CSRF token; a preview changes
    # nothing, so there is nothing for a forged request to do.
    @view_config(
        name="preview",
        request_method=("GET", "POST"),
        require_csrf=False,
        renderer="portal:templates/builder_preview.pt",
    )
    def preview(self):
        definition = working_definition(self.context)
        runner = FormRunner(definition, self.language)
        action = self.request.resource_url(self.context, "preview")
        form = runner.form(formid="form-preview", action=action)
        accepted = None
        if self.request.method == "POST":
            accepted, html = runner.validate(self.request.POST.items(), form)
            if accepted is not None:
                # Shown again as the server keeps it (calculated, irrelevant answers dropped),
                # to go on trying.
                html = runner.render(accepted, runner.form(formid="form-preview", action=action))
        else:
            html = runner.render(form=form)
        return self.page(
            _(
                "builder_preview_title",
                default="Preview of ${form}",
                mapping={"form": self.title_of(definition)},
            ),
            builder_form=self.context,
            preview=html,
            accepted=accepted,
        )

    # publish ------------------------------------------------------------------------------
    @view_config(
        name="publish",
        request_method=("GET", "POST"),
        renderer="portal:templates/builder_publish.pt",
    )
    def publish(self):
        form = self.context
        title = _("builder_publish_title", default="Publish ${name}", mapping={"name": form.name})
        if not form.has_draft:
            return self.page(
                title,
                builder_form=form,
                warning=_("builder_no_draft", default="There is no draft to publish."),
            )
        changes = form_service.pending_changes(form)
        losing = data_losing(changes)
        shown = [(c.message.render(self.language), c.data_loss) for c in changes]
        schema = PublishSchema()
        if not losing:
            del schema["confirm"]
        deform_form = self.deform(
            schema,
            _("builder_publish_submit", default="Publish"),
            "form-publish",
            self.form_url,
        )
        extra = {"builder_form": form, "changes": shown, "losing": len(losing)}
        if "save" not in self.request.POST:
            return self.page(title, deform_form, **extra)
        try:
            values = deform_form.validate(self.request.POST.items())
        except deform.ValidationFailure as failure:
            return self.page(title, failure, **extra)
        if losing and not values.get("confirm"):
            invalid_at(
                deform_form,
                {
                    "confirm": self.request.localizer.translate(
                        _(
                            "builder_confirm_needed",
                            default="Some changes lose data: confirm that you mean them.",
                        )
                    )
                },
            )
            return self.page(title, deform_form, **extra)
        try:
            version, changes = form_service.publish(form, self.request.identity.login)
        except form_service.PublishRefused as refused:
            extra["errors"] = [p.message.render(self.language) for p in refused.problems]
            return self.page(title, deform_form, **extra)
        audit.record(
            self.request,
            "form.publish",
            target=form.name,
            unit=form.org_scope(),
            detail={"version": version.number, "changes": len(changes), "data_losing": len(losing)},
        )
        flash(
            self.request,
            _(
                "builder_published",
                default="Version ${version} of ${name} was published.",
                mapping={"version": version.number, "name": form.name},
            ),
        )
        return HTTPSeeOther(self.form_url)
