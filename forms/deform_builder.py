"""A form definition compiled into a colander schema and a deform form that staff fill in.

The schema only coerces what the browser sends into the JSON values of the API's `data`
(numbers, booleans, ISO date strings, lists of codes); it never refuses a value. Whatever does
not parse is passed on as typed, and FormValidator (forms.validation), the one set of rules
the API also applies, refuses it in its own words; `apply_errors` then puts each of its
messages on the field it names, and the form is rendered again from what was typed.

Groups are rendered as sections (mapping nodes drawn as fieldsets) but do not nest the data:
`flatten` and `unflatten` convert between deform's nested appstruct and the flat dict keyed by
field name. Repeats are sequences of mappings with deform's add and remove buttons.

Every widget carries the `data-*` attributes that forms/static/runtime.js reads to run skip
logic, calculations and checks in the browser with forms/static/expressions.js.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import gettext
import json
import os
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from string import Template
from typing import Any

import colander
import deform
from markupsafe import Markup
from translationstring import TranslationString

from forms.attachments import IMAGE_TYPES, SNIFF_BYTES, attachment_values, check_attachment
from forms.expressions import format_number
from forms.messages import Message
from forms.model import ATTACHMENT_TYPES, NUMBER_TYPES, Field, FormDefinition
from forms.validation import FormValidator

__all__ = [
    "FormRunner",
    "MemoryTmpStore",
    "UploadRefused",
    "apply_errors",
    "build_schema",
    "default_renderer",
    "flatten",
    "take_uploads",
    "unflatten",
]

# A select_one with at most this many options is drawn as radio buttons, a longer one as a
# drop-down list.
RADIO_MAX_CHOICES = 5

# The widgets' own words, (English, Chinese) as in forms.messages.TEXTS, which is where they
# belong once that table has a `form.` section (forms.messages is not this module's to edit).
_WORDS: dict[str, tuple[str, str]] = {
    "yes": ("Yes", "是"),
    "no": ("No", "否"),
    "choose": ("Choose…", "请选择"),
    "submit": ("Submit", "提交"),
    "current_file": ("Current file: ${filename}", "当前文件：${filename}"),
}


def _word(key: str, language: str, **mapping: Any) -> str:
    english, chinese = _WORDS[key]
    return Template(chinese if language == "zh" else english).safe_substitute(mapping)


# -- schema types: coercion only ----------------------------------------------------------
def _blank(cstruct: Any) -> bool:
    return (
        cstruct is colander.null
        or cstruct is None
        or (isinstance(cstruct, str) and not cstruct.strip())
    )


class _Value(colander.SchemaType):
    """Text as typed. The base of the other types: they parse what they can and leave the
    rest as typed, for FormValidator to refuse with its own message."""

    def serialize(self, node: colander.SchemaNode, appstruct: Any) -> Any:
        if appstruct is colander.null or appstruct is None:
            return colander.null
        return self.to_text(appstruct)

    def deserialize(self, node: colander.SchemaNode, cstruct: Any) -> Any:
        if _blank(cstruct):
            return colander.null
        return self.parse(cstruct)

    def to_text(self, value: Any) -> Any:
        if isinstance(value, datetime.date):  # datetime.datetime too
            return value.isoformat()
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return format_number(value)
        if isinstance(value, list | tuple):
            return " ".join(str(v) for v in value)
        return str(value)

    def parse(self, text: Any) -> Any:
        return text


# What a number input may hold: forms/static/runtime.js reads numbers with the same pattern.
_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\Z")


class _Number(_Value):
    """integer and decimal: a whole number becomes an int (`170.0` too, as in JavaScript,
    whose numbers runtime.js checks the same way), any other a float."""

    def parse(self, text: Any) -> Any:
        if not isinstance(text, str):
            return text
        compact = unicodedata.normalize("NFKC", text).strip()
        if not _NUMBER_RE.match(compact):
            return text
        number = decimal.Decimal(compact)
        if number == number.to_integral_value():
            return int(number)
        return float(number)


class _Boolean(_Value):
    def parse(self, text: Any) -> Any:
        return {"true": True, "false": False}.get(text, text)


class _DateTime(_Value):
    def to_text(self, value: Any) -> Any:
        # An <input type="datetime-local"> shows `YYYY-MM-DDTHH:MM`, never a blank separator.
        return super().to_text(value).replace(" ", "T", 1)


class _Codes(_Value):
    """select_multiple: the checked codes, in the order of the options."""

    def serialize(self, node: colander.SchemaNode, appstruct: Any) -> Any:
        if appstruct is colander.null or appstruct is None:
            return ()
        if isinstance(appstruct, str):
            return tuple(appstruct.split())
        return tuple(str(code) for code in appstruct)

    def deserialize(self, node: colander.SchemaNode, cstruct: Any) -> Any:
        if cstruct is colander.null or cstruct is None or len(cstruct) == 0:
            return colander.null
        if isinstance(cstruct, str):
            return [cstruct]
        return list(cstruct)


class _Upload(deform.FileData):
    """file, image: deform's upload dict; a stored attachment's reference (a string) is shown
    as an upload already made, whose uid is the reference, named as the tmpstore bound to
    the schema knows it (`tmpstore.get(reference)`), else by the reference itself."""

    def serialize(self, node: colander.SchemaNode, value: Any) -> Any:
        if value is None:
            return colander.null
        if isinstance(value, str):
            store = (getattr(node, "bindings", None) or {}).get("tmpstore")
            known = store.get(value) if store is not None else None
            value = known or {"uid": value, "filename": value}
        return super().serialize(node, value)


def _schema_type(f: Field) -> colander.SchemaType:
    if f.calculation:
        # Recomputed on the server, whatever the browser shows.
        return _Value()
    if f.type in NUMBER_TYPES:
        return _Number()
    if f.type == "boolean":
        return _Boolean()
    if f.type == "datetime":
        return _DateTime()
    if f.type == "select_multiple":
        return _Codes()
    return _Value()


# -- widgets --------------------------------------------------------------------------------
def _html_attributes(attributes: Mapping[str, str]) -> Markup:
    return Markup("").join(
        Markup(' {}="{}"').format(name, value) for name, value in attributes.items()
    )


def _render(field: deform.Field, template: str) -> Markup:
    return Markup(field.render_template(template))  # noqa: S704 - deform's escaped HTML


def _hint(text: str) -> Markup:
    return Markup('<p class="form-text form-hint">{}</p>').format(text) if text else Markup()


class _SectionWidget(deform.widget.MappingWidget):
    """A group drawn as a fieldset titled by its label, its data attributes on the fieldset;
    without attributes, one entry of a repeat."""

    def __init__(self, legend: str = "", hint: str = "", attributes=None, **kw):
        super().__init__(legend=legend, hint=hint, attributes=attributes or {}, **kw)

    def serialize(self, field, cstruct, **kw):
        if kw.get("readonly", self.readonly):
            return super().serialize(field, cstruct, **kw)
        children = Markup("").join(_render(child, self.item_template) for child in field.children)
        body = field.start_mapping() + children + field.end_mapping()
        if not self.attributes:
            return Markup('<div class="form-entry">{}</div>').format(body)
        legend = Markup("<legend>{}</legend>").format(self.legend) if self.legend else Markup()
        return Markup('<fieldset class="form-item form-section"{}>{}{}{}</fieldset>').format(
            _html_attributes(self.attributes), legend, _hint(self.hint), body
        )


class _RepeatWidget(deform.widget.SequenceWidget):
    """A repeat: deform's sequence with add and remove, inside an element that carries the
    repeat's data attributes (deform would put them on a hidden input)."""

    category = "structural"

    def __init__(self, hint: str = "", attributes=None, **kw):
        super().__init__(hint=hint, outer_attributes=attributes or {}, **kw)

    def serialize(self, field, cstruct, **kw):
        validated = getattr(field, "sequence_fields", None)
        if validated and self.min_len and len(validated) < self.min_len:
            # After a validation with fewer entries than the fewest, deform pads the values
            # with empty entries but not the entries' fields, then asserts they are as many.
            validated.extend(
                field.children[0].clone() for _ in range(self.min_len - len(validated))
            )
        html = Markup(super().serialize(field, cstruct, **kw))  # noqa: S704 - deform's HTML
        if kw.get("readonly", self.readonly):
            return html
        return Markup('<div class="form-item form-repeat"{}>{}{}</div>').format(
            _html_attributes(self.outer_attributes), _hint(self.hint), html
        )


class _NoteWidget(deform.widget.Widget):
    """A note: text to read, no input and no data."""

    category = "structural"

    def __init__(self, text: str = "", hint: str = "", attributes=None, **kw):
        super().__init__(text=text, hint=hint, attributes=attributes or {}, **kw)

    def serialize(self, field, cstruct, **kw):
        return Markup(
            '<div class="form-item form-note"{}><p class="form-note-text">{}</p>{}</div>'
        ).format(_html_attributes(self.attributes), self.text, _hint(self.hint))

    def deserialize(self, field, pstruct):
        return colander.null


class UploadRefused(Exception):
    """Raised by a tmpstore that will not keep an upload (empty, or over a size limit of its
    own): the message (a str, or a Message rendered in the form's language) is shown at the
    field, which is left empty for another file."""

    def __init__(self, message: Message | str):
        super().__init__(str(message))
        self.message = message


class _FileWidget(deform.widget.FileUploadWidget):
    """deform's upload input, with the name of the file already uploaded shown beside it.

    Every new file gets a new uid, unguessable (a UUID's hex), never the uid the page sent:
    the page is the user's to tamper with, and deform would otherwise store the new file
    under whatever uid came with it."""

    def __init__(self, tmpstore, language: str = "zh", **kw):
        super().__init__(tmpstore, language=language, **kw)

    def random_id(self) -> str:
        return uuid.uuid4().hex

    def deserialize(self, field, pstruct):
        if isinstance(pstruct, Mapping) and hasattr(pstruct.get("upload"), "file"):
            pstruct = {key: value for key, value in pstruct.items() if key != "uid"}
        try:
            return super().deserialize(field, pstruct)
        except UploadRefused as refused:
            message = refused.message
            text = message.render(self.language) if isinstance(message, Message) else message
            raise colander.Invalid(field.schema, text, colander.null) from None

    def serialize(self, field, cstruct, **kw):
        html = Markup(super().serialize(field, cstruct, **kw))  # noqa: S704 - deform's HTML
        filename = cstruct.get("filename") if isinstance(cstruct, Mapping) else None
        if not filename:
            return html
        current = _word("current_file", self.language, filename=filename)
        return html + Markup('<p class="form-text form-file-current">{}</p>').format(current)


class _Choices:
    """deform's radio and checkbox templates write `autofocus="False"` on every option but
    the first, which browsers read as autofocus: leave it out."""

    def serialize(self, field, cstruct, **kw):
        html = super().serialize(field, cstruct, **kw)  # type: ignore[misc]
        return Markup(html.replace(' autofocus="False"', ""))  # noqa: S704 - deform's HTML


class _RadioWidget(_Choices, deform.widget.RadioChoiceWidget):
    pass


class _CheckboxesWidget(_Choices, deform.widget.CheckboxChoiceWidget):
    pass


class MemoryTmpStore(dict):
    """deform's FileUploadTempStore in a dict: uploads live as long as the store object.
    Enough for tests and previews; the portal passes one that keeps each upload in its
    database at once, so that a file survives a failed validation (and a saved draft) and is
    not uploaded twice, whichever process serves the next request."""

    def preview_url(self, uid: str) -> None:
        return None


def _messages(f: Field, language: str) -> dict[str, str]:
    """The messages runtime.js shows, rendered as FormValidator renders them."""
    messages = {
        "required": Message("validation.required", texts=f.required_message.to_dict() or None)
    }
    if f.type in NUMBER_TYPES:
        messages["not_number"] = Message(
            "validation.not_integer" if f.type == "integer" else "validation.not_number"
        )
        if f.min is not None:
            messages["too_small"] = Message("validation.too_small", {"min": f.min})
        if f.max is not None:
            messages["too_large"] = Message("validation.too_large", {"max": f.max})
        if f.decimals is not None:
            messages["too_many_decimals"] = Message(
                "validation.too_many_decimals", {"decimals": f.decimals}
            )
    return {key: m.render(language) if isinstance(m, Message) else m for key, m in messages.items()}


def _data_attributes(definition: FormDefinition, f: Field, language: str = "zh") -> dict[str, str]:
    """What runtime.js needs to know about a field, as `data-*` attributes of its widget."""
    attributes = {"data-field": f.name, "data-type": f.type}
    if f.relevant:
        attributes["data-relevant"] = f.relevant
    if f.calculation:
        attributes["data-calculation"] = f.calculation
    if f.constraint:
        attributes["data-constraint"] = f.constraint
        attributes["data-constraint-msg"] = Message(
            "validation.constraint", texts=f.constraint_message.to_dict() or None
        ).render(language)
    if not f.holds_value or f.type in ("group", "repeat"):
        return attributes
    if f.required:
        attributes["data-required"] = "true"
    if f.required_if:
        attributes["data-required-if"] = f.required_if
    if f.type in NUMBER_TYPES:
        if f.min is not None:
            attributes["data-min"] = format_number(f.min)
        if f.max is not None:
            attributes["data-max"] = format_number(f.max)
        if f.decimals is not None:
            attributes["data-decimals"] = str(f.decimals)
    if f.type == "select_multiple":
        exclusive = [c.code for c in definition.choice_list(f) if c.exclusive]
        if exclusive:
            attributes["data-exclusive"] = " ".join(exclusive)
    if not f.calculation:
        attributes["data-messages"] = json.dumps(_messages(f, language), ensure_ascii=False)
    return attributes


def _item_class(f: Field, *extra: str) -> str:
    return " ".join(("form-item", f"form-item-{f.type}", *extra))


def _choice_values(definition: FormDefinition, f: Field, language: str) -> list[tuple[str, str]]:
    return [(c.code, c.label.get(language) or c.code) for c in definition.choice_list(f)]


def _step(f: Field) -> str:
    if f.type == "integer":
        return "1"
    if f.decimals is None:
        return "any"
    return format(decimal.Decimal(1).scaleb(-f.decimals), "f")


def _widget(definition: FormDefinition, f: Field, language: str, tmpstore) -> Any:
    attributes = _data_attributes(definition, f, language)
    if f.read_only or f.calculation:
        attributes["readonly"] = "readonly"
    if f.pii:
        attributes["autocomplete"] = "off"
    kind = f.type
    item = _item_class(f)
    if kind == "note":
        return _NoteWidget(f.label.get(language), f.hint.get(language), attributes)
    if kind in ATTACHMENT_TYPES:
        accept = ",".join(f.accept or (IMAGE_TYPES if kind == "image" else ())) or None

        def upload_widget(store):
            # A store that checks a field's own limits before keeping a file gets the field.
            for_field = getattr(store, "for_field", None)
            return _FileWidget(
                for_field(f) if for_field is not None else store,
                language,
                accept=accept,
                attributes=attributes,
                item_css_class=item,
            )

        if tmpstore is not None:
            return upload_widget(tmpstore)
        # Bound per request: `schema.bind(tmpstore=...)`, the store usually in the session.
        return colander.deferred(lambda node, kw: upload_widget(kw["tmpstore"]))
    if kind == "select_one" and not f.calculation:
        values = _choice_values(definition, f, language)
        if len(values) <= RADIO_MAX_CHOICES:
            return _RadioWidget(
                values=values, inline=True, attributes=attributes, item_css_class=item
            )
        return deform.widget.SelectWidget(
            values=[("", _word("choose", language)), *values],
            attributes=attributes,
            item_css_class=item,
        )
    if kind == "select_multiple" and not f.calculation:
        return _CheckboxesWidget(
            values=_choice_values(definition, f, language),
            inline=True,
            attributes=attributes,
            item_css_class=item,
        )
    if kind == "boolean" and not f.calculation:
        values = [("true", _word("yes", language)), ("false", _word("no", language))]
        return _RadioWidget(values=values, inline=True, attributes=attributes, item_css_class=item)
    input_append = None
    if kind in NUMBER_TYPES:
        attributes.update(type="number", step=_step(f))
        attributes["inputmode"] = "numeric" if kind == "integer" else "decimal"
        if f.min is not None:
            attributes["min"] = format_number(f.min)
        if f.max is not None:
            attributes["max"] = format_number(f.max)
        input_append = f.unit or None
    elif kind == "date":
        attributes["type"] = "date"
    elif kind == "datetime":
        attributes["type"] = "datetime-local"
    elif kind == "phone":
        attributes.update(type="tel", inputmode="tel", maxlength="20")
    elif kind == "resident_id":
        attributes.update(maxlength="18", spellcheck="false")
        attributes["autocomplete"] = "off"
    elif kind == "calculate":
        if not (f.label or f.hint):
            # Computed for other fields' use, nothing for staff to read.
            attributes["type"] = "hidden"
            item = _item_class(f, "form-item-hidden")
    return deform.widget.TextInputWidget(
        attributes=attributes, input_append=input_append, item_css_class=item
    )


def _default(f: Field) -> Any:
    return colander.null if f.default is None else f.default


def _nodes(
    definition: FormDefinition, fields: Iterable[Field], language: str, tmpstore
) -> Iterator[colander.SchemaNode]:
    for f in fields:
        label = f.label.get(language)
        hint = f.hint.get(language)
        if f.type == "group":
            yield colander.SchemaNode(
                colander.Mapping(unknown="ignore"),
                *_nodes(definition, f.children, language, tmpstore),
                name=f.name,
                title=label,
                widget=_SectionWidget(label, hint, _data_attributes(definition, f, language)),
            )
        elif f.type == "repeat":
            entry = colander.SchemaNode(
                colander.Mapping(unknown="ignore"),
                *_nodes(definition, f.children, language, tmpstore),
                name="entry",
                title=label,
                widget=_SectionWidget(),
            )
            yield colander.SchemaNode(
                colander.Sequence(),
                entry,
                name=f.name,
                title=label,
                missing=colander.null,
                widget=_RepeatWidget(
                    hint,
                    _data_attributes(definition, f, language),
                    min_len=f.min_count or None,
                    max_len=f.max_count,
                ),
            )
        else:
            yield colander.SchemaNode(
                _Upload() if f.type in ATTACHMENT_TYPES else _schema_type(f),
                name=f.name,
                title="" if f.type == "note" else label,
                description="" if f.type == "note" else hint,
                missing=colander.null,
                default=_default(f),
                widget=_widget(definition, f, language, tmpstore),
            )


def build_schema(
    definition: FormDefinition, language: str = "zh", tmpstore: Any = None
) -> colander.SchemaNode:
    """The colander schema of a form, its widgets set up for deform, labels and hints in
    `language`. Without a `tmpstore` the upload widgets of file and image fields are
    deferred: bind one per request with `schema.bind(tmpstore=...)`."""
    return colander.SchemaNode(
        colander.Mapping(unknown="ignore"),
        *_nodes(definition, definition.fields, language, tmpstore),
        name=definition.name,
        title=definition.title.get(language),
        # The browser must not refuse anything itself: runtime.js shows our messages.
        widget=deform.widget.FormWidget(
            css_class="deform form-runtime", attributes={"novalidate": "novalidate"}
        ),
    )


# -- flat data --------------------------------------------------------------------------
def _absent(value: Any) -> bool:
    return value is colander.null or value is None


def _flatten(fields: Iterable[Field], appstruct: Mapping, out: dict[str, Any]) -> dict:
    for f in fields:
        value = appstruct.get(f.name, colander.null)
        if f.type == "group":
            _flatten(f.children, value if isinstance(value, Mapping) else {}, out)
        elif f.type == "note" or _absent(value):
            continue
        elif f.type == "repeat":
            # Every entry stays, blank ones too: an error's index must name the entry shown.
            entries = [
                _flatten(f.children, row if isinstance(row, Mapping) else {}, {}) for row in value
            ]
            if entries:
                out[f.name] = entries
        else:
            out[f.name] = value
    return out


def flatten(definition: FormDefinition, appstruct: Mapping) -> dict[str, Any]:
    """deform's appstruct (groups nested) as the API's flat data keyed by field name; empty
    values left out. A new upload stays deform's upload dict (uid, filename, mimetype, size,
    fp) until it is stored: see `take_uploads` and FormRunner.validate."""
    return _flatten(definition.fields, appstruct, {})


def _unflatten(fields: Iterable[Field], flat: Mapping) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        if f.type == "group":
            out[f.name] = _unflatten(f.children, flat)
        elif f.type == "repeat":
            rows = flat.get(f.name) or []
            out[f.name] = [
                _unflatten(f.children, row if isinstance(row, Mapping) else {}) for row in rows
            ]
        elif f.holds_value:
            # None, not missing: a field left empty stays empty instead of taking its default.
            out[f.name] = flat.get(f.name)
    return out


def unflatten(definition: FormDefinition, flat_data: Mapping[str, Any]) -> dict[str, Any]:
    """The API's flat data as deform's appstruct for rendering: groups nested, every field
    present (an absent one is empty, not its default)."""
    return _unflatten(definition.fields, flat_data)


# -- errors ---------------------------------------------------------------------------------
def _child(field: deform.Field, name: str) -> deform.Field | None:
    """The field called `name` inside `field`, looking into groups but not into repeats."""
    for child in field.children:
        if child.name == name:
            return child
        if isinstance(child.schema.typ, colander.Mapping):
            found = _child(child, name)
            if found is not None:
                return found
    return None


def _error_field(form: deform.Field, key: str) -> deform.Field | None:
    """The field an error key such as `sbp`, `meds` or `meds.0.dose` is about: the repeat
    itself when the entry is not (or no longer) there."""
    parts = key.split(".")
    field = _child(form, parts[0])
    while field is not None and len(parts) >= 3:
        entries = getattr(field, "sequence_fields", None) or []
        try:
            entry = entries[int(parts[1])]
        except (ValueError, IndexError):
            return field
        inner = _child(entry, parts[2])
        if inner is None:
            return field
        field, parts = inner, parts[2:]
    return field


def apply_errors(
    form: deform.Form, errors: Mapping[str, Message | str], language: str = "zh"
) -> None:
    """Put FormValidator's errors (keys like `sbp` or `meds.0.dose`) on the fields of a form
    that has just validated the controls, so that rendering it again shows each message at
    its field, beside what was typed. Messages no field can show go to the top of the form."""
    unplaced: list[str] = []
    for key, message in errors.items():
        text = message.render(language) if isinstance(message, Message) else str(message)
        field = _error_field(form, key) if key else None
        if field is None:
            unplaced.append(text)
            continue
        previous = field.error.messages() if field.error is not None else []
        field.error = colander.Invalid(field.schema, [*previous, text])
    form.error = colander.Invalid(form.schema, " ".join(unplaced) or None)


# -- rendering --------------------------------------------------------------------------
_LOCALE_DIRS = {
    domain: os.path.join(os.path.dirname(module.__file__), "locale")
    for domain, module in (("deform", deform), ("colander", colander))
}
# deform's and colander's catalogues for our languages (English needs none).
_CATALOG_LANGUAGES = {"zh": {"deform": "zh_CN", "colander": "zh_Hans"}}


@functools.cache
def default_renderer(language: str = "zh") -> deform.ZPTRendererFactory:
    """deform's templates, its own words (Add, Remove, the error banner) in `language`."""
    catalogs = {
        domain: gettext.translation(domain, _LOCALE_DIRS[domain], [locale], fallback=True)
        for domain, locale in _CATALOG_LANGUAGES.get(language, {}).items()
    }

    def translate(term: Any) -> str:
        if not isinstance(term, TranslationString):
            term = TranslationString(term)
        catalog = catalogs.get(term.domain)
        translated = catalog.gettext(str(term)) if catalog else None
        if translated == str(term):
            translated = None
        return term.interpolate(translated)

    return deform.ZPTRendererFactory(
        (deform.template.default_dir,), auto_reload=False, translator=translate
    )


def take_uploads(definition: FormDefinition, data: dict) -> dict[str, tuple[Field, Mapping]]:
    """Replace every upload in flat data (deform's dicts, see `flatten`) by its uid, the
    reference FormValidator reads; return the new uploads (those with a file to read) by
    error key (`photo`, `visits.0.photo`) with their fields."""
    uploads = {}
    for key, f, holder, value in attachment_values(definition, data):
        if isinstance(value, Mapping):
            if value.get("fp") is not None:  # else a stored attachment, shown again
                uploads[key] = (f, value)
            holder[f.name] = value["uid"]
    return uploads


def _locate(data: dict, key: str) -> tuple[dict, str]:
    """The object holding an error key's value, and the name it has there ({} if gone)."""
    *path, name = key.split(".")
    for repeat, index in zip(path[::2], path[1::2], strict=True):
        rows = data.get(repeat) or []
        data = rows[int(index)] if int(index) < len(rows) else {}
    return data, name


def _size_and_head(upload: Mapping) -> tuple[int, bytes]:
    """An upload's size and first bytes, read from its file without loading it."""
    fp = upload["fp"]
    fp.seek(0)
    head = fp.read(SNIFF_BYTES)
    size = fp.seek(0, os.SEEK_END)
    fp.seek(0)
    return size, head


class FormRunner:
    """A form definition ready for data entry: renders its deform form and validates what
    comes back with FormValidator. Cheap to make per request when given the version's
    compiled `validator` (and the user's `tmpstore`).

    `store_upload(field, upload) -> reference` keeps a new upload (deform's dict; read
    `upload["fp"]` as a stream) once the whole submission is valid and returns the reference
    the data then holds; without it the reference is the upload's uid in the tmpstore.
    """

    def __init__(
        self,
        definition: FormDefinition,
        language: str = "zh",
        *,
        tmpstore: Any = None,
        store_upload: Callable[[Field, Mapping], str] | None = None,
        validator: FormValidator | None = None,
    ):
        self.definition = definition
        self.language = language
        self.tmpstore = MemoryTmpStore() if tmpstore is None else tmpstore
        self.store_upload = store_upload
        self.validator = validator or FormValidator(definition)
        self.schema = build_schema(definition, language)

    def form(
        self,
        buttons: Iterable[deform.Button | str] | None = None,
        formid: str = "deform",
        renderer: Callable | None = None,
        **kw: Any,
    ) -> deform.Form:
        """A deform form for one request (deform forms keep state: make one each time)."""
        if buttons is None:
            buttons = (deform.Button("submit", _word("submit", self.language)),)
        return deform.Form(
            self.schema.bind(tmpstore=self.tmpstore),
            buttons=tuple(buttons),
            formid=formid,
            renderer=renderer or default_renderer(self.language),
            **kw,
        )

    def render(self, flat_data: Mapping[str, Any] | None = None, form=None) -> str:
        """The form's HTML: empty but for the defaults, or showing `flat_data`."""
        form = form or self.form()
        if flat_data is None:
            return form.render()
        return form.render(unflatten(self.definition, flat_data))

    def validate(
        self, controls: Iterable[tuple[str, Any]], form=None, today: datetime.date | None = None
    ) -> tuple[dict[str, Any] | None, str | None]:
        """`(clean flat data, None)`, or `(None, the form's HTML with the errors at their
        fields and everything typed still there)`. `controls` are the POST's items."""
        form = form or self.form()
        try:
            appstruct = form.validate(list(controls))
        except deform.ValidationFailure as failure:
            # Only controls that are not this form's, or an upload the tmpstore refused, get
            # here: the types refuse nothing.
            return None, failure.render()
        data = flatten(self.definition, appstruct)
        uploads = take_uploads(self.definition, data)
        clean, errors = self.validator.validate(data, today)
        for key, (f, upload) in uploads.items():
            size, head = _size_and_head(upload)
            problem = check_attachment(f, head, size)
            if problem is not None and key not in errors:
                errors[key] = problem
        if errors:
            apply_errors(form, errors, self.language)
            return None, form.render()
        if self.store_upload is not None:
            for key, (f, upload) in uploads.items():
                container, name = _locate(clean, key)
                if name in container:  # else dropped, as not relevant
                    container[name] = self.store_upload(f, upload)
        return clean, None
