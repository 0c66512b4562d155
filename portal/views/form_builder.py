"""The form builder: admin pages to create a form, import an XLSForm, edit fields and choice
lists, preview the draft as staff will see it, and publish it.

Every change works on the draft (editing a published form starts a new draft from its latest
version) and is audited as `form.edit`; publishing is audited as `form.publish`. The rules
are the forms library's (forms.validation, forms.expressions, forms.versions); storing and
publishing are portal.services.forms, which the JSON API uses too.
"""

import dataclasses
import json

import colander
import deform
from pyramid.httpexceptions import HTTPBadRequest, HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults

from forms.deform_builder import FormRunner
from forms.expressions import check as check_expression
from forms.model import CONTAINER_TYPES, LEVELS, Choice, Field, FormDefinition, Text
from forms.validation import check_definition
from forms.versions import data_losing
from portal import audit
from portal.i18n import _, forms_language
from portal.resources import FormResource, Forms
from portal.schemas_forms import (
    EXPRESSION_ATTRIBUTES,
    ChoiceListSchema,
    FieldSchema,
    FormSettingsSchema,
    PublishSchema,
    XLSFormImportSchema,
)
from portal.security import Permission
from portal.services import forms as form_service
from portal.views.common import FormRenderer, flash

# Field attributes that are texts in two languages, edited as `<attribute>_zh`/`_en`.
TEXT_ATTRIBUTES = ("label", "hint", "constraint_message")
PLAIN_ATTRIBUTES = (
    "name", "type", "required", "relevant", "constraint", "calculation",
    "min", "max", "unit", "decimals", "choices", "pii",
)  # fmt: skip


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


def field_rows(fields: list[Field], depth: int = 0):
    """(field, depth) for every field in order, for the form page's indented list."""
    for f in fields:
        yield f, depth
        yield from field_rows(f.children, depth + 1)


def field_appstruct(f: Field) -> dict:
    values = {key: getattr(f, key) for key in PLAIN_ATTRIBUTES}
    for key in ("min", "max", "decimals"):
        if values[key] is None:
            values[key] = colander.null
    for key in TEXT_ATTRIBUTES:
        text = getattr(f, key)
        values[f"{key}_zh"], values[f"{key}_en"] = text.zh, text.en
    return values


def field_from(values: dict, base: Field | None) -> Field:
    """A field from the form's values, keeping what the form does not edit (children, …)."""
    changes = {key: values[key] for key in PLAIN_ATTRIBUTES}
    for key in ("min", "max"):
        number = changes[key]
        if number is not None and float(number).is_integer():
            changes[key] = int(number)
    for key in TEXT_ATTRIBUTES:
        changes[key] = Text(zh=values[f"{key}_zh"], en=values[f"{key}_en"])
    if base is None:
        return Field(**changes)
    return dataclasses.replace(base, **changes)


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
        form = self.context
        definition = working_definition(form)
        problems = check_definition(definition)
        return self.page(
            self.title_of(definition),
            builder_form=form,
            definition=definition,
            rows=list(field_rows(definition.fields)),
            problems=[(p.field, p.attribute, p.message.render(self.language)) for p in problems],
            xlsform_url=(
                self.request.route_url("api_form_xlsform", name=form.name)
                if form.latest is not None
                else None
            ),
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

    # fields -------------------------------------------------------------------------------
    def field_form(self, definition: FormDefinition, submit_title) -> deform.Form:
        return self.deform(
            FieldSchema(),
            submit_title,
            "form-field",
            self.form_url,
            choice_lists=definition.choice_lists,
        )

    def field_page(self, title, form, definition, field_name=None, **extra):
        names = [n for n in definition.field_names() if n != field_name]
        return self.page(
            title,
            form,
            builder_form=self.context,
            field_names=json.dumps(names),
            choices_url=self.request.resource_url(self.context, "choices"),
            **extra,
        )

    def submit_field(self, title, form, definition, original: Field | None, parent: str | None):
        """Validate the field form and store the field: a redirect to the form's page, or
        the form again with each problem at its input and everything typed kept."""
        try:
            values = form.validate(self.request.POST.items())
        except deform.ValidationFailure as failure:
            name = original.name if original else None
            return self.field_page(title, failure, definition, name)
        field_name = original.name if original else None
        errors = self.field_errors(definition, values, field_name)
        if not errors:
            new_field = field_from(values, original)
            if original is None:
                siblings = definition.get_field(parent).children if parent else definition.fields
                siblings.append(new_field)
            else:
                container, index = locate(definition.fields, original.name)
                container[index] = new_field
            errors = self.definition_errors(definition, new_field.name)
        if errors:
            invalid_at(form, errors)
            return self.field_page(title, form, definition, field_name)
        action = "add_field" if original is None else "edit_field"
        self.save(definition, action, field=values["name"])
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
            found = check_expression(text, known, language=self.language) if text else []
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
        form = self.field_form(definition, _("builder_add_field", default="Add field"))
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
        form = self.field_form(definition, _("save", default="Save"))
        form.action = self.request.resource_url(
            self.context, "edit-field", query={"field": original.name}
        )
        if "save" not in self.request.POST:
            return self.field_page(
                title, form, definition, original.name, appstruct=field_appstruct(original)
            )
        return self.submit_field(title, form, definition, original, None)

    @view_config(name="move-field", request_method="POST")
    def move_field(self):
        definition = working_definition(self.context)
        f = self.requested_field(definition)
        step = {"up": -1, "down": 1}.get(self.request.POST.get("direction"))
        if step is None:
            raise HTTPBadRequest()
        container, index = locate(definition.fields, f.name)
        other = index + step
        if 0 <= other < len(container):
            container[index], container[other] = container[other], container[index]
            self.save(
                definition, "move_field", field=f.name, direction=self.request.POST["direction"]
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
        form = runner.form(
            formid="form-preview", action=self.request.resource_url(self.context, "preview")
        )
        accepted = None
        if self.request.method == "POST":
            accepted, html = runner.validate(self.request.POST.items(), form)
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
