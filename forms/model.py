"""Form definitions as plain data: a form, its fields and its choice lists, with lossless
conversion to and from JSON-able dicts (the portal stores them; this module never does)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

CATEGORIES = ("预防", "医疗", "保健", "康复", "健康教育", "计划生育", "基线调查")
LEVELS = ("station", "centre", "district")
PERIOD_TYPES = ("none", "month", "quarter", "year")
LANGUAGES = ("zh", "en")

FIELD_TYPES = (
    "text",
    "integer",
    "decimal",
    "date",
    "datetime",
    "select_one",
    "select_multiple",
    "boolean",
    "resident_id",
    "phone",
    "note",
    "calculate",
    "group",
    "repeat",
    "file",
    "image",
)
CONTAINER_TYPES = frozenset({"group", "repeat"})
SELECT_TYPES = frozenset({"select_one", "select_multiple"})
NUMBER_TYPES = frozenset({"integer", "decimal"})
ATTACHMENT_TYPES = frozenset({"file", "image"})
# Types whose name never appears as a key of the submitted data.
NO_VALUE_TYPES = frozenset({"group", "note"})

# A field name is a key of the flat data, appears in `meds.0.dose` error keys (so no dots) and
# in expressions as `${name}` (which read ASCII names).
FIELD_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}\Z")
# A form name appears in URLs.
FORM_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}\Z")


@dataclass(frozen=True)
class Text:
    """A text in Chinese and English."""

    zh: str = ""
    en: str = ""

    def get(self, language: str = "zh") -> str:
        """The text in `language`, or in the other one when it has none."""
        first = self.en if language == "en" else self.zh
        return first or self.zh or self.en

    def __bool__(self) -> bool:
        return bool(self.zh or self.en)

    def to_dict(self) -> dict[str, str]:
        return {
            language: getattr(self, language) for language in LANGUAGES if getattr(self, language)
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, str] | None) -> Text:
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ValueError(f"a text must be an object with zh and en, not {data!r}")
        unknown = set(data) - set(LANGUAGES)
        if unknown:
            raise ValueError(f"unknown languages {sorted(unknown)} in a text")
        for value in data.values():
            if not isinstance(value, str):
                raise ValueError(f"a text must be a string, not {value!r}")
        return cls(**data)


@dataclass(frozen=True)
class Choice:
    """One option of a choice list; `code` is what the data holds."""

    code: str
    label: Text = Text()
    # Chosen, it must be the only choice of a select_multiple (such as 无).
    exclusive: bool = False

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"code": self.code}
        if self.label:
            result["label"] = self.label.to_dict()
        if self.exclusive:
            result["exclusive"] = True
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Choice:
        _check_keys(data, {"code", "label", "exclusive"}, "choice")
        return cls(
            code=_typed(data, "code", str, required=True),
            label=Text.from_dict(data.get("label")),
            exclusive=_typed(data, "exclusive", bool, default=False),
        )


def _check_keys(data: Any, allowed: Iterable[str], what: str) -> None:
    if not isinstance(data, Mapping):
        raise ValueError(f"a {what} must be an object, not {data!r}")
    unknown = set(data) - set(allowed)
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)} in a {what}")


def _typed(
    data: Mapping, key: str, kind: type | tuple, *, default: Any = None, required: bool = False
) -> Any:
    if key not in data:
        if required:
            raise ValueError(f"{key!r} is required")
        return default
    value = data[key]
    if value is None and not required:
        return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise ValueError(f"{key!r} must not be a boolean")
    if not isinstance(value, kinds):
        raise ValueError(f"{key!r} has the wrong type: {value!r}")
    return value


_NUMBER = (int, float)


@dataclass(eq=True)
class Field:
    """A field of a form. Attributes that do not apply to the field's type keep their defaults;
    `forms.validation.check_definition` says when they don't."""

    name: str
    type: str
    label: Text = Text()
    hint: Text = Text()
    required: bool = False
    # An expression: when true, the field is required (XLSForm's `required` column may hold one).
    required_if: str = ""
    required_message: Text = Text()
    # A JSON value of the field's type: "text", 3, 36.5, ["a", "b"], True, "2024-01-31".
    default: Any = None
    read_only: bool = False
    constraint: str = ""
    constraint_message: Text = Text()
    relevant: str = ""
    calculation: str = ""
    pii: bool = False
    # select_one, select_multiple: the name of a choice list of the form
    choices: str = ""
    # integer, decimal
    unit: str = ""
    min: int | float | None = None
    max: int | float | None = None
    # decimal: the most decimal places a value may have
    decimals: int | None = None
    # repeat: the fewest and most entries
    min_count: int | None = None
    max_count: int | None = None
    # resident_id: fields the ID number's sex and birth date must agree with
    sex_field: str = ""
    birth_date_field: str = ""
    # file, image: limits checked against the content
    max_size: int | None = None
    accept: tuple[str, ...] = ()
    # group, repeat
    children: list[Field] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"unknown field type {self.type!r}")
        self.accept = tuple(self.accept)

    @property
    def is_container(self) -> bool:
        return self.type in CONTAINER_TYPES

    @property
    def holds_value(self) -> bool:
        """Whether the submitted data has a key for this field."""
        return self.type not in NO_VALUE_TYPES

    def iter_fields(self) -> Iterator[Field]:
        """The fields inside this one, depth first, in order."""
        for child in self.children:
            yield child
            yield from child.iter_fields()

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"name": self.name, "type": self.type}
        for attribute in dataclasses.fields(self):
            key = attribute.name
            if key in ("name", "type", "children"):
                continue
            value = getattr(self, key)
            if value == FIELD_DEFAULTS[key]:
                continue
            if isinstance(value, Text):
                value = value.to_dict()
            elif isinstance(value, tuple | list):
                value = list(value)
            result[key] = value
        if self.is_container or self.children:
            result["children"] = [child.to_dict() for child in self.children]
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Field:
        _check_keys(data, _FIELD_KINDS, "field")
        if "name" not in data or "type" not in data:
            raise ValueError("a field needs a name and a type")
        kwargs: dict[str, Any] = {}
        for key, kind in _FIELD_KINDS.items():
            if key not in data:
                continue
            if kind is Text:
                kwargs[key] = Text.from_dict(data[key])
            elif key == "children":
                children = _typed(data, key, list, default=[])
                kwargs[key] = [cls.from_dict(child) for child in children]
            elif key == "accept":
                values = _typed(data, key, list, default=[])
                if not all(isinstance(v, str) for v in values):
                    raise ValueError("'accept' must be a list of media types")
                kwargs[key] = tuple(values)
            elif key == "default":
                kwargs[key] = _json_value(data[key])
            else:
                required = key in ("name", "type")
                default = FIELD_DEFAULTS.get(key)
                kwargs[key] = _typed(data, key, kind, default=default, required=required)
        return cls(**kwargs)


# The JSON type of each attribute (Text, default, accept and children are read specially).
_FIELD_KINDS: dict[str, Any] = {
    "name": str,
    "type": str,
    "label": Text,
    "hint": Text,
    "required": bool,
    "required_if": str,
    "required_message": Text,
    "default": object,
    "read_only": bool,
    "constraint": str,
    "constraint_message": Text,
    "relevant": str,
    "calculation": str,
    "pii": bool,
    "choices": str,
    "unit": str,
    "min": _NUMBER,
    "max": _NUMBER,
    "decimals": int,
    "min_count": int,
    "max_count": int,
    "sex_field": str,
    "birth_date_field": str,
    "max_size": int,
    "accept": tuple,
    "children": list,
}
# The value each attribute has when it is not set.
FIELD_DEFAULTS: dict[str, Any] = {
    f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[operator]
    for f in dataclasses.fields(Field)
    if f.name not in ("name", "type")
}


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError(f"a default must be a JSON scalar or a list of codes, not {value!r}")


@dataclass(eq=True)
class FormDefinition:
    """A form: its stable `name` is its id; `version` counts published versions."""

    name: str
    title: Text = Text()
    category: str | None = None
    levels: tuple[str, ...] = ()
    period_type: str = "none"
    fields: list[Field] = field(default_factory=list)
    # Choice lists by name; fields refer to them, several fields may share one.
    choice_lists: dict[str, list[Choice]] = field(default_factory=dict)
    version: int = 1
    default_language: str = "zh"

    def __post_init__(self) -> None:
        if self.category is not None and self.category not in CATEGORIES:
            raise ValueError(f"unknown category {self.category!r}")
        unknown = set(self.levels) - set(LEVELS)
        if unknown:
            raise ValueError(f"unknown levels {sorted(unknown)}")
        # One order for levels, so equal definitions compare equal.
        self.levels = tuple(level for level in LEVELS if level in self.levels)
        if self.period_type not in PERIOD_TYPES:
            raise ValueError(f"unknown period type {self.period_type!r}")
        if self.default_language not in LANGUAGES:
            raise ValueError(f"unknown language {self.default_language!r}")

    def iter_fields(self) -> Iterator[Field]:
        """Every field, groups and repeats included, depth first, in order."""
        for top in self.fields:
            yield top
            yield from top.iter_fields()

    def get_field(self, name: str) -> Field | None:
        """The field called `name`, wherever it is, or None."""
        return next((f for f in self.iter_fields() if f.name == name), None)

    def field_names(self) -> list[str]:
        return [f.name for f in self.iter_fields()]

    def enclosing_repeat(self, name: str) -> Field | None:
        """The innermost repeat that contains the field called `name`, or None."""

        def search(fields: list[Field], repeat: Field | None) -> Field | None | bool:
            for f in fields:
                if f.name == name:
                    return repeat
                if f.children:
                    found = search(f.children, f if f.type == "repeat" else repeat)
                    if found is not False:
                        return found
            return False

        found = search(self.fields, None)
        return None if found is False or found is True else found

    def choice_list(self, field_: Field) -> list[Choice]:
        """The options of a select field (empty if its list is missing)."""
        return self.choice_lists.get(field_.choices, [])

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "name": self.name,
            "title": self.title.to_dict(),
            "category": self.category,
            "levels": list(self.levels),
            "period_type": self.period_type,
            "version": self.version,
            "default_language": self.default_language,
            "fields": [f.to_dict() for f in self.fields],
            "choice_lists": {
                name: [choice.to_dict() for choice in choices]
                for name, choices in self.choice_lists.items()
            },
        }
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FormDefinition:
        _check_keys(
            data,
            {
                "name",
                "title",
                "category",
                "levels",
                "period_type",
                "version",
                "default_language",
                "fields",
                "choice_lists",
            },
            "form definition",
        )
        levels = _typed(data, "levels", list, default=[])
        lists = _typed(data, "choice_lists", Mapping, default={})
        for name, choices in lists.items():
            if not isinstance(choices, list):
                raise ValueError(f"choice list {name!r} must be a list")
        return cls(
            name=_typed(data, "name", str, required=True),
            title=Text.from_dict(data.get("title")),
            category=_typed(data, "category", str),
            levels=tuple(levels),
            period_type=_typed(data, "period_type", str, default="none"),
            version=_typed(data, "version", int, default=1),
            default_language=_typed(data, "default_language", str, default="zh"),
            fields=[Field.from_dict(f) for f in _typed(data, "fields", list, default=[])],
            choice_lists={
                name: [Choice.from_dict(choice) for choice in choices]
                for name, choices in lists.items()
            },
        )
