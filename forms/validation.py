"""Validating submitted data against a form definition, and a definition against itself.

`validate(definition, data)` is what the server runs on every submission: values of fields
that are not relevant are dropped, calculations are recomputed (never taken from the client),
read-only fields keep their default whatever was sent, then required, type, range, choice,
identifier and constraint rules are checked. Errors are keyed by field name, inside repeats
by `repeat.index.field`.
"""

from __future__ import annotations

import datetime
import decimal
import heapq
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from forms.identifiers import InvalidIdentifier, normalise_phone, parse_resident_id
from forms.messages import Message
from forms.model import (
    ATTACHMENT_TYPES,
    CONTAINER_TYPES,
    FIELD_DEFAULTS,
    FIELD_NAME_RE,
    FIELD_TYPES,
    FORM_NAME_RE,
    NO_VALUE_TYPES,
    NUMBER_TYPES,
    SELECT_TYPES,
    Choice,
    Field,
    FormDefinition,
)

# GB/T 2261.1 sex codes, the ones a resident ID number can be checked against.
SEX_CODES = {"1": "male", "2": "female"}

EXPRESSION_ATTRIBUTES = ("relevant", "calculation", "constraint", "required_if")


@dataclass(frozen=True)
class Problem:
    """Something wrong with a form definition, and where: a field and its attribute, or an
    option of a choice list."""

    message: Message
    field: str | None = None
    attribute: str | None = None
    choice_list: str | None = None
    code: str | None = None


class DefinitionError(ValueError):
    """The definition is inconsistent, so data cannot be validated against it."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.message.default for p in problems))
        self.problems = problems


class _Invalid(Exception):
    def __init__(self, message: Message):
        super().__init__(message.id)
        self.message = message


def _expressions():
    # Imported late: forms without expressions need no expression engine.
    from forms import expressions

    return expressions


def _is_empty(value: Any) -> bool:
    return (
        value is None
        or value == ""
        or value == []
        or (isinstance(value, str) and not value.strip())
    )


# -- values --------------------------------------------------------------------------------
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_DATETIME_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?\Z"
)


def _number(value: Any, message_id: str) -> int | float:
    if isinstance(value, bool):
        raise _Invalid(Message(message_id))
    if isinstance(value, decimal.Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise _Invalid(Message(message_id))


def _code(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Invalid(Message("validation.not_a_list"))
    return str(value)


# What a text value may not hold: lone surrogates (not text at all), control characters
# other than tab and line breaks, and the bidirectional embedding, override and isolate
# controls that make text read other than it is stored.
_FORBIDDEN_TEXT = re.compile(
    "[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def clean_text(value: str) -> str:
    """A text value as kept: NFC-normalised; _Invalid if it holds a forbidden character."""
    if _FORBIDDEN_TEXT.search(value):
        raise _Invalid(Message("validation.text_characters"))
    return unicodedata.normalize("NFC", value)


def coerce(field_: Field, value: Any, today: datetime.date | None = None) -> Any:
    """The clean value of a non-empty `value` for the field's type; raise _Invalid."""
    kind = field_.type
    if kind == "text":
        if not isinstance(value, str):
            raise _Invalid(Message("validation.not_text"))
        return clean_text(value)
    if kind in ATTACHMENT_TYPES:
        # The portal stores the upload and puts its reference here.
        if not isinstance(value, str):
            raise _Invalid(Message("validation.not_an_attachment"))
        return value
    if kind == "integer":
        number = _number(value, "validation.not_integer")
        if isinstance(number, float):
            if not number.is_integer():
                raise _Invalid(Message("validation.not_integer"))
            number = int(number)
        return number
    if kind == "decimal":
        return _number(value, "validation.not_number")
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _Invalid(Message("validation.not_boolean"))
        return value
    if kind == "date":
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            return value.isoformat()
        if not isinstance(value, str) or not _DATE_RE.match(value):
            raise _Invalid(Message("validation.not_date"))
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            raise _Invalid(Message("validation.not_date")) from None
        return value
    if kind == "datetime":
        if isinstance(value, datetime.datetime):
            return value.isoformat()
        if not isinstance(value, str) or not _DATETIME_RE.match(value):
            raise _Invalid(Message("validation.not_datetime"))
        try:
            datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _Invalid(Message("validation.not_datetime")) from None
        return value
    if kind == "select_one":
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise _Invalid(Message("validation.not_text"))
        return str(value)
    if kind == "select_multiple":
        if not isinstance(value, list | tuple):
            raise _Invalid(Message("validation.not_a_list"))
        return [_code(v) for v in value]
    if kind == "resident_id":
        if not isinstance(value, str):
            raise _Invalid(Message("validation.resident_id.format"))
        try:
            return parse_resident_id(value, today).number
        except InvalidIdentifier as error:
            raise _Invalid(error.message) from None
    if kind == "phone":
        if not isinstance(value, str):
            raise _Invalid(Message("validation.phone"))
        try:
            return normalise_phone(value)
        except InvalidIdentifier as error:
            raise _Invalid(error.message) from None
    if kind == "calculate":
        return value
    raise _Invalid(Message("validation.unknown_field", {"name": field_.name}))


def _decimal_places(number: int | float) -> int:
    if isinstance(number, int):
        return 0
    exponent = decimal.Decimal(repr(number)).as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _check_value(field_: Field, value: Any, choices: list[Choice]) -> Message | None:
    """The rules of the field's own settings (range, decimals, options) for a clean value."""
    if field_.type in NUMBER_TYPES:
        if field_.min is not None and value < field_.min:
            return Message("validation.too_small", {"min": field_.min})
        if field_.max is not None and value > field_.max:
            return Message("validation.too_large", {"max": field_.max})
        if field_.decimals is not None and _decimal_places(value) > field_.decimals:
            return Message("validation.too_many_decimals", {"decimals": field_.decimals})
    elif field_.type in SELECT_TYPES:
        by_code = {choice.code: choice for choice in choices}
        chosen = [value] if field_.type == "select_one" else value
        seen: set[str] = set()
        for code in chosen:
            if code not in by_code:
                return Message("validation.not_a_choice", {"code": code})
            if code in seen:
                return Message("validation.duplicate_choice", {"code": code})
            seen.add(code)
        if len(chosen) > 1:
            for code in chosen:
                choice = by_code[code]
                if choice.exclusive:
                    # Name the option as the person saw it (无症状), not by its code.
                    label = choice.label.to_dict() if choice.label else {}
                    return Message("validation.exclusive_choice", {"code": label or code})
    return None


def _from_calculation(field_: Field, result: Any, today: datetime.date | None) -> Any:
    """A calculation's result as a JSON value of the field's type, or None."""
    if isinstance(result, datetime.datetime | datetime.date):
        result = result.isoformat()
    elif isinstance(result, decimal.Decimal):
        result = float(result)
    if isinstance(result, float) and not math.isfinite(result):
        return None
    if _is_empty(result):
        return None
    if field_.type == "calculate":
        return result if isinstance(result, str | int | float | bool | list) else str(result)
    try:
        if field_.type == "integer" and isinstance(result, float):
            result = round(result)
        elif field_.type == "decimal" and isinstance(result, float) and field_.decimals is not None:
            result = round(result, field_.decimals)
        elif field_.type in ("text", "select_one", "phone", "resident_id") and not isinstance(
            result, str
        ):
            result = str(result)
        return coerce(field_, result, today)
    except _Invalid:
        return None


# -- compiling a definition ---------------------------------------------------------------
@dataclass
class _Scope:
    """The fields whose values sit side by side in one object: the form's top level or one
    entry of a repeat. Groups are flattened into it; nested repeats are single nodes."""

    fields: list[Field]
    group_of: dict[str, str | None]
    order: list[Field] = field(default_factory=list)
    repeats: dict[str, _Scope] = field(default_factory=dict)
    by_name: dict[str, Field] = field(default_factory=dict)
    cycles: list[list[str]] = field(default_factory=list)


def _flatten(fields: list[Field], group: str | None) -> Iterator[tuple[Field, str | None]]:
    for f in fields:
        yield f, group
        if f.type == "group":
            yield from _flatten(f.children, f.name)


class FormValidator:
    """A definition compiled for validating data: parse once per immutable version, then call
    `validate` for each submission."""

    def __init__(self, definition: FormDefinition):
        self.definition = definition
        self.problems: list[Problem] = []
        self._expressions: dict[tuple[str, str], Any] = {}
        self._references: dict[str, set[str]] = {}
        self._compile_expressions()
        self.scope = self._build_scope(definition.fields)

    # expressions
    def _compile_expressions(self) -> None:
        known = self.definition.field_names()
        for f in self.definition.iter_fields():
            references: set[str] = set()
            for attribute in EXPRESSION_ATTRIBUTES:
                text = getattr(f, attribute)
                if not text:
                    continue
                engine = _expressions()
                allow_current = attribute == "constraint"
                found = engine.check(text, known, allow_current=allow_current)
                if found:
                    in_chinese = engine.check(text, known, allow_current, language="zh")
                    for english, chinese in zip(found, in_chinese, strict=True):
                        self.problems.append(
                            Problem(_expression_message(english, chinese), f.name, attribute)
                        )
                    continue
                expression = engine.parse(text)
                self._expressions[(f.name, attribute)] = expression
                if attribute in ("relevant", "calculation"):
                    references |= expression.references()
            self._references[f.name] = references

    def _evaluate(
        self,
        f: Field,
        attribute: str,
        values: Mapping[str, Any],
        current: Any,
        today: datetime.date,
    ) -> Any:
        return self._expressions[(f.name, attribute)].evaluate(values, current, today)

    def _test(
        self,
        f: Field,
        attribute: str,
        values: Mapping[str, Any],
        current: Any,
        today: datetime.date,
    ) -> bool:
        return _expressions().truthy(self._evaluate(f, attribute, values, current, today))

    # evaluation order
    def _build_scope(self, fields: list[Field]) -> _Scope:
        pairs = list(_flatten(fields, None))
        scope = _Scope(fields=[f for f, _ in pairs], group_of={f.name: g for f, g in pairs})
        scope.by_name = {f.name: f for f in scope.fields}
        node_of: dict[str, str] = {f.name: f.name for f in scope.fields}
        depends: dict[str, set[str]] = {}
        for f in scope.fields:
            references = set(self._references.get(f.name, ()))
            if f.type == "repeat":
                scope.repeats[f.name] = self._build_scope(f.children)
                inside = {d.name for d in f.iter_fields()}
                for d in f.iter_fields():
                    node_of[d.name] = f.name
                    references |= self._references.get(d.name, set()) - inside
            group = scope.group_of[f.name]
            if group:
                references.add(group)
            depends[f.name] = references
        edges = {
            f.name: {node_of[r] for r in depends[f.name] if r in node_of} - {f.name}
            for f in scope.fields
        }
        scope.order, scope.cycles = _topological(scope.fields, edges)
        return scope

    # validation
    def validate(
        self, data: Any, today: datetime.date | None = None
    ) -> tuple[dict[str, Any], dict[str, Message]]:
        if self.problems:
            raise DefinitionError(self.problems)
        errors: dict[str, Message] = {}
        if not isinstance(data, Mapping):
            return {}, {"": Message("validation.not_an_object")}
        clean = self._validate_scope(
            self.scope, data, {}, "", errors, today or datetime.date.today()
        )
        return clean, errors

    def _validate_scope(
        self,
        scope: _Scope,
        raw: Mapping[str, Any],
        outer: Mapping[str, Any],
        prefix: str,
        errors: dict[str, Message],
        today: datetime.date,
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        pending: dict[str, Message] = {}
        rows: dict[str, list] = {}
        for key, value in raw.items():
            f = scope.by_name.get(key) if isinstance(key, str) else None
            if f is None or f.type == "group":
                errors[f"{prefix}{key}"] = Message("validation.unknown_field", {"name": key})
                continue
            if f.type in ("note", "calculate") or f.calculation or _is_empty(value):
                continue  # display only, or recomputed below
            if f.read_only and f.type not in CONTAINER_TYPES:
                continue  # nobody can change it: its default stands (below)
            if f.type == "repeat":
                if isinstance(value, list):
                    rows[key] = value
                else:
                    pending[key] = Message("validation.not_a_list")
                continue
            try:
                values[key] = coerce(f, value, today)
            except _Invalid as invalid:
                pending[key] = invalid.message

        for f in scope.fields:
            if f.read_only and f.default is not None and not f.calculation:
                if f.type not in CONTAINER_TYPES | NO_VALUE_TYPES:
                    try:
                        values[f.name] = coerce(f, f.default, today)
                    except _Invalid as invalid:  # publishing refuses such a default
                        pending[f.name] = invalid.message
        context = {**outer, **values}
        relevant: dict[str, bool] = {}
        for f in scope.order:
            group = scope.group_of[f.name]
            shown = relevant[group] if group else True
            if shown and f.relevant:
                shown = self._test(f, "relevant", context, None, today)
            relevant[f.name] = shown
            if not shown:
                values.pop(f.name, None)
                context.pop(f.name, None)
                continue
            if f.type == "repeat":
                entries: list = []
                for index, row in enumerate(rows.get(f.name, [])):
                    where = f"{prefix}{f.name}.{index}"
                    if not isinstance(row, Mapping):
                        errors[where] = Message("validation.not_a_row")
                        entries.append({})
                        continue
                    entries.append(
                        self._validate_scope(
                            scope.repeats[f.name], row, context, f"{where}.", errors, today
                        )
                    )
                if entries:
                    values[f.name] = context[f.name] = entries
            elif f.calculation:
                result = _from_calculation(
                    f, self._evaluate(f, "calculation", context, None, today), today
                )
                if result is None:
                    values.pop(f.name, None)
                    context.pop(f.name, None)
                else:
                    values[f.name] = context[f.name] = result

        for f in scope.fields:
            if not relevant[f.name] or f.type in NO_VALUE_TYPES:
                continue
            key = f"{prefix}{f.name}"
            if f.name in pending:
                errors[key] = pending[f.name]
                continue
            value = values.get(f.name)
            if f.type == "repeat":
                count = len(value or ())
                if f.min_count is not None and count < f.min_count:
                    errors[key] = Message("validation.too_few_rows", {"min": f.min_count})
                elif f.max_count is not None and count > f.max_count:
                    errors[key] = Message("validation.too_many_rows", {"max": f.max_count})
                continue
            if value is None:
                if f.required or (
                    f.required_if and self._test(f, "required_if", context, None, today)
                ):
                    errors[key] = Message(
                        "validation.required", texts=f.required_message.to_dict() or None
                    )
                continue
            message = _check_value(f, value, self.definition.choice_list(f))
            if message is None and f.type == "resident_id":
                message = _check_resident_links(f, value, context)
            if (
                message is None
                and f.constraint
                and not self._test(f, "constraint", context, value, today)
            ):
                message = Message(
                    "validation.constraint", texts=f.constraint_message.to_dict() or None
                )
            if message is not None:
                errors[key] = message
        return {f.name: values[f.name] for f in scope.fields if f.name in values}


def _expression_message(english: dict, chinese: dict) -> Message:
    if english["code"] == "unknown_field":
        return Message("definition.unknown_reference", {"name": english["name"]})
    return Message(
        "definition.expression",
        {
            **{k: v for k, v in english.items() if k not in ("message", "pos")},
            "detail": {"en": english["message"], "zh": chinese["message"]},
        },
    )


def _check_resident_links(f: Field, number: str, context: Mapping[str, Any]) -> Message | None:
    if f.sex_field:
        sex = SEX_CODES.get(str(context.get(f.sex_field)))
        id_sex = "male" if int(number[16]) % 2 else "female"
        if sex is not None and sex != id_sex:
            return Message(f"validation.resident_id.sex_{id_sex}")
    if f.birth_date_field:
        birth_date = context.get(f.birth_date_field)
        id_birth_date = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
        if isinstance(birth_date, str) and birth_date and birth_date != id_birth_date:
            return Message(
                "validation.resident_id.birth_date_mismatch", {"id_birth_date": id_birth_date}
            )
    return None


def _topological(
    fields: list[Field], edges: dict[str, set[str]]
) -> tuple[list[Field], list[list[str]]]:
    """Fields ordered so that each comes after what it depends on, else in document order;
    with the cycles found (whose fields are then taken in document order)."""
    position = {f.name: i for i, f in enumerate(fields)}
    by_name = {f.name: f for f in fields}
    waiting = {name: len(deps) for name, deps in edges.items()}
    dependants: dict[str, list[str]] = {name: [] for name in edges}
    for name, deps in edges.items():
        for dep in deps:
            dependants[dep].append(name)
    ready = [(position[n], n) for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[Field] = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(by_name[name])
        for dependant in dependants[name]:
            waiting[dependant] -= 1
            if waiting[dependant] == 0:
                heapq.heappush(ready, (position[dependant], dependant))
    left = [f for f in fields if waiting[f.name] > 0]
    cycles = _find_cycles({f.name for f in left}, edges) if left else []
    return order + left, cycles


def _find_cycles(names: set[str], edges: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    done: set[str] = set()
    for start in sorted(names):
        if start in done:
            continue
        path = [start]
        on_path = {start}
        while True:
            following = sorted(n for n in edges[path[-1]] if n in names)
            nxt = next((n for n in following if n in on_path), None)
            if nxt is not None:
                cycle = path[path.index(nxt) :] + [nxt]
                if not done & set(cycle):
                    cycles.append(cycle)
                done.update(path)
                break
            nxt = next((n for n in following if n not in done), None)
            if nxt is None:
                done.update(path)
                break
            path.append(nxt)
            on_path.add(nxt)
    return cycles


def validate(
    definition: FormDefinition, data: Any, today: datetime.date | None = None
) -> tuple[dict[str, Any], dict[str, Message]]:
    """Validate submitted `data` (see the module's docstring): the clean data and the errors.

    Compiles the definition each time; keep a FormValidator per published version instead
    when validating many submissions.
    """
    return FormValidator(definition).validate(data, today)


# -- checking a definition -----------------------------------------------------------------
# Types whose fields hold a value of their own.
_VALUE_TYPES = frozenset(FIELD_TYPES) - CONTAINER_TYPES - {"note"}
_APPLIES_TO: dict[str, frozenset[str]] = {
    "required": _VALUE_TYPES - {"calculate"},
    "required_if": _VALUE_TYPES - {"calculate"},
    "required_message": _VALUE_TYPES - {"calculate"},
    "default": _VALUE_TYPES - {"calculate", "file", "image"},
    "read_only": _VALUE_TYPES,
    "constraint": _VALUE_TYPES,
    "constraint_message": _VALUE_TYPES,
    "calculation": _VALUE_TYPES - ATTACHMENT_TYPES,
    "pii": _VALUE_TYPES,
    "choices": SELECT_TYPES,
    "unit": NUMBER_TYPES,
    "min": NUMBER_TYPES,
    "max": NUMBER_TYPES,
    "decimals": frozenset({"decimal"}),
    "min_count": frozenset({"repeat"}),
    "max_count": frozenset({"repeat"}),
    "sex_field": frozenset({"resident_id"}),
    "birth_date_field": frozenset({"resident_id"}),
    "max_size": ATTACHMENT_TYPES,
    "accept": ATTACHMENT_TYPES,
}


def applicable(attribute: str, field_type: str) -> bool:
    """Whether a field's attribute means anything for a field of `field_type` (check_definition
    reports one set where it does not). Attributes such as label and relevant fit every type."""
    types = _APPLIES_TO.get(attribute)
    return types is None or field_type in types


# Fields people see, which need a label or a hint to be understood.
_SHOWN_TYPES = _VALUE_TYPES - {"calculate"} | {"note"}
_MEDIA_TYPE_RE = re.compile(r"[\w.+-]+/[\w.+*-]+\Z")


def check_definition(definition: FormDefinition) -> list[Problem]:
    """Everything inconsistent in a definition: names, choice lists, settings that don't fit a
    field's type, defaults, expressions (syntax, references, circular dependencies)."""
    problems: list[Problem] = []
    add = problems.append
    if not FORM_NAME_RE.match(definition.name):
        add(Problem(Message("definition.form_name", {"name": definition.name}), attribute="name"))
    if (
        isinstance(definition.version, bool)
        or not isinstance(definition.version, int)
        or (definition.version < 1)
    ):
        add(Problem(Message("definition.version"), attribute="version"))
    by_name: dict[str, Field] = {}
    for f in definition.iter_fields():
        if not FIELD_NAME_RE.match(f.name):
            add(Problem(Message("definition.field_name", {"name": f.name}), f.name, "name"))
        if f.name in by_name:
            add(Problem(Message("definition.duplicate_name", {"name": f.name}), f.name, "name"))
        by_name.setdefault(f.name, f)
    for f in definition.iter_fields():
        problems.extend(_check_field(definition, f, by_name))
    used = {f.choices for f in definition.iter_fields() if f.type in SELECT_TYPES}
    for list_name, choices in definition.choice_lists.items():
        if not choices and list_name in used:
            add(
                Problem(
                    Message("definition.empty_choice_list", {"list": list_name}),
                    choice_list=list_name,
                )
            )
        seen: set[str] = set()
        for choice in choices:
            if not choice.code or re.search(r"\s", choice.code):
                add(
                    Problem(
                        Message("definition.choice_code", {"code": choice.code}),
                        choice_list=list_name,
                        code=choice.code,
                    )
                )
            elif choice.code in seen:
                add(
                    Problem(
                        Message(
                            "definition.duplicate_choice", {"code": choice.code, "list": list_name}
                        ),
                        choice_list=list_name,
                        code=choice.code,
                    )
                )
            seen.add(choice.code)
    validator = FormValidator(definition)
    problems.extend(validator.problems)
    problems.extend(_repeat_references(definition, validator))
    for scope in _scopes(validator.scope):
        for cycle in scope.cycles:
            add(
                Problem(
                    Message("definition.cycle", {"name": cycle[0], "path": " → ".join(cycle)}),
                    cycle[0],
                    "calculation" if by_name[cycle[0]].calculation else "relevant",
                )
            )
    return problems


def _repeat_chains(
    fields: list[Field], chain: tuple[str, ...] = ()
) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(name, the repeats around the field, outermost first) for every field."""
    for f in fields:
        yield f.name, chain
        yield from _repeat_chains(f.children, (*chain, f.name) if f.type == "repeat" else chain)


def _repeat_references(definition: FormDefinition, validator: FormValidator) -> list[Problem]:
    """Expressions that read a field inside a repeat from outside it, where the field has no
    one value (a repeat's own expressions are outside it: they decide on the whole list)."""
    chains = dict(_repeat_chains(definition.fields))
    problems = []
    for (name, attribute), expression in validator._expressions.items():
        around = chains.get(name, ())
        for reference in sorted(expression.references()):
            inside = chains.get(reference, ())
            if around[: len(inside)] == inside:
                continue  # every repeat around the reference is around the field too
            repeat = next(
                r for depth, r in enumerate(inside) if depth >= len(around) or around[depth] != r
            )
            message = Message("definition.repeat_reference", {"name": reference, "repeat": repeat})
            problems.append(Problem(message, name, attribute))
    return problems


def _scopes(scope: _Scope) -> Iterator[_Scope]:
    yield scope
    for nested in scope.repeats.values():
        yield from _scopes(nested)


def _check_field(
    definition: FormDefinition, f: Field, by_name: dict[str, Field]
) -> Iterator[Problem]:
    def problem(message_id: str, attribute: str, /, **mapping: Any) -> Problem:
        return Problem(Message(message_id, mapping), f.name, attribute)

    for attribute, types in _APPLIES_TO.items():
        if f.type not in types and getattr(f, attribute) != FIELD_DEFAULTS[attribute]:
            yield problem("definition.not_applicable", attribute, attribute=attribute, type=f.type)
    if f.children and f.type not in CONTAINER_TYPES:
        yield problem("definition.children", "children")
    if f.type in SELECT_TYPES:
        if not f.choices:
            yield problem("definition.no_choice_list", "choices", type=f.type)
        elif f.choices not in definition.choice_lists:
            yield problem("definition.unknown_choice_list", "choices", list=f.choices)
    if f.type in _SHOWN_TYPES and not (f.label or f.hint):
        yield problem("definition.no_label", "label")
    if f.type == "calculate" and not f.calculation:
        yield problem("definition.no_calculation", "calculation")
    if f.min is not None and f.max is not None and f.min > f.max:
        yield problem("definition.min_max", "min", min=f.min, max=f.max)
    if f.decimals is not None and not 0 <= f.decimals <= 10:
        yield problem("definition.decimals", "decimals")
    for attribute in ("min_count", "max_count"):
        count = getattr(f, attribute)
        if count is not None and count < 0:
            yield problem("definition.count", attribute)
    if f.min_count is not None and f.max_count is not None and f.min_count > f.max_count:
        yield problem("definition.min_max", "min_count", min=f.min_count, max=f.max_count)
    if f.max_size is not None and f.max_size <= 0:
        yield problem("definition.max_size", "max_size")
    for media_type in f.accept:
        if not _MEDIA_TYPE_RE.match(media_type):
            yield problem("definition.media_type", "accept", media_type=media_type)
    for attribute, expected in (("sex_field", "select_one"), ("birth_date_field", "date")):
        target = getattr(f, attribute)
        if target and (target not in by_name or by_name[target].type != expected):
            yield problem("definition.link", attribute, target=target, expected=expected)
    if f.default is not None and f.type in _APPLIES_TO["default"]:
        try:
            value = coerce(f, f.default)
            message = _check_value(f, value, definition.choice_list(f))
        except _Invalid as invalid:
            message = invalid.message
        if message is not None:
            yield Problem(message, f.name, "default")


def publish_problems(definition: FormDefinition) -> list[Problem]:
    """What must be right before a definition can be published: consistency, and the settings
    an imported XLSForm may leave out (title, category, levels)."""
    problems = check_definition(definition)
    if not definition.title:
        problems.append(Problem(Message("definition.title_missing"), attribute="title"))
    if definition.category is None:
        problems.append(Problem(Message("definition.category_missing"), attribute="category"))
    if not definition.levels:
        problems.append(Problem(Message("definition.levels_missing"), attribute="levels"))
    if not any(f.holds_value for f in definition.iter_fields()):
        problems.append(Problem(Message("definition.no_fields"), attribute="fields"))
    return problems
