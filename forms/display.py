"""Submitted data as people read it: labels instead of field names, option labels instead of
codes, units beside numbers, sections and repeat entries kept, and nothing that was not
answered.

`present(definition, data, language)` returns a list of items (`Value`, `Section`,
`Repeat`) that a template lays out; it never produces HTML, so every string in it is still
to be escaped. The data is the stored, flat data (see `forms.validation`), possibly masked
(`forms.identifiers.mask_pii`): a masked value is shown as it is.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from forms.model import ATTACHMENT_TYPES, Field, FormDefinition

_WORDS = {
    "zh": {"yes": "是", "no": "否", "separator": "、"},
    "en": {"yes": "Yes", "no": "No", "separator": ", "},
}


@dataclass(frozen=True)
class Value:
    """One answered field. `href` is set for an attachment the reader may open."""

    name: str
    label: str
    text: str
    unit: str = ""
    pii: bool = False
    href: str | None = None
    kind: str = "value"


@dataclass
class Section:
    """A group with at least one answered field."""

    name: str
    label: str
    items: list[Value | Section | Repeat] = field(default_factory=list)
    kind: str = "section"


@dataclass
class Repeat:
    """A repeat with its entries, each a list of items; entries with nothing answered are
    left out, so `entries` may be shorter than the stored list."""

    name: str
    label: str
    entries: list[list[Value | Section | Repeat]] = field(default_factory=list)
    kind: str = "repeat"


# (field, stored value) -> the address of the attachment, or None when it can't be opened.
AttachmentLink = Callable[[Field, Any], str | None]


def present(
    definition: FormDefinition,
    data: Mapping[str, Any],
    language: str = "zh",
    attachment_link: AttachmentLink | None = None,
) -> list[Value | Section | Repeat]:
    """The answered fields of `data`, in the form's order, as items to lay out."""
    return _items(definition, definition.fields, data, language, attachment_link)


def format_value(definition: FormDefinition, f: Field, value: Any, language: str = "zh") -> str:
    """One stored value as text: option labels for codes, yes/no, numbers without a
    trailing `.0` unless the field keeps decimals, dates as stored. A value that is not what
    the type expects (masked, or from an older version) is shown as it is."""
    words = _WORDS.get(language, _WORDS["zh"])
    if f.type in ("select_one", "select_multiple"):
        labels = {c.code: c.label.get(language) or c.code for c in definition.choice_list(f)}
        codes = value if isinstance(value, list) else [value]
        return words["separator"].join(labels.get(str(code), str(code)) for code in codes)
    if f.type == "boolean" and isinstance(value, bool):
        return words["yes"] if value else words["no"]
    if isinstance(value, float) and value.is_integer() and not f.decimals:
        return str(int(value))
    if f.type == "datetime" and isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    if isinstance(value, list):
        return words["separator"].join(str(v) for v in value)
    return str(value)


def _answered(value: Any) -> bool:
    return value is not None and value != "" and value != []


def _items(
    definition: FormDefinition,
    fields: list[Field],
    data: Mapping[str, Any],
    language: str,
    attachment_link: AttachmentLink | None,
) -> list[Value | Section | Repeat]:
    items: list[Value | Section | Repeat] = []
    for f in fields:
        label = f.label.get(language) or f.name
        if f.type == "group":
            inner = _items(definition, f.children, data, language, attachment_link)
            if inner:
                items.append(Section(f.name, label, inner))
        elif f.type == "repeat":
            entries = [
                inner
                for row in data.get(f.name) or []
                if isinstance(row, Mapping)
                and (inner := _items(definition, f.children, row, language, attachment_link))
            ]
            if entries:
                items.append(Repeat(f.name, label, entries))
        elif f.holds_value and _answered(data.get(f.name)):
            value = data[f.name]
            href = None
            if f.type in ATTACHMENT_TYPES and attachment_link is not None:
                href = attachment_link(f, value)
            items.append(
                Value(
                    f.name,
                    label,
                    format_value(definition, f, value, language),
                    unit=f.unit,
                    pii=f.pii,
                    href=href,
                )
            )
    return items


_SURROGATE = re.compile("[\ud800-\udfff]")


def readable(value: Any) -> Any:
    """`value` (stored values: dicts, lists, strings) with any lone surrogate, which cannot be
    written out as UTF-8, shown as U+FFFD: a page renders whatever is stored."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {k: readable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [readable(v) for v in value]
    return value
