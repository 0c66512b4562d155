"""Differences between two versions of a form, flagging the changes that lose data: shown to
the admin before a draft is published."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from forms.messages import Message
from forms.model import NO_VALUE_TYPES, SELECT_TYPES, Field, FormDefinition

# Type changes whose earlier answers still read correctly under the new type.
SAFE_TYPE_CHANGES = frozenset({("integer", "decimal"), ("phone", "text"), ("resident_id", "text")})

_TEXT_ATTRIBUTES = ("label", "hint", "required_message", "constraint_message", "unit")
_LOGIC_ATTRIBUTES = (
    "required",
    "required_if",
    "relevant",
    "constraint",
    "calculation",
    "default",
    "read_only",
    "choices",
    "min",
    "max",
    "decimals",
    "min_count",
    "max_count",
    "sex_field",
    "birth_date_field",
    "max_size",
    "accept",
)
_FORM_ATTRIBUTES = ("title", "category", "levels", "period_type", "default_language")


@dataclass(frozen=True)
class Change:
    """One difference; `data_loss` when answers already submitted would no longer fit."""

    kind: str
    field: str | None
    message: Message
    data_loss: bool = False
    before: Any = None
    after: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "field": self.field,
            "data_loss": self.data_loss,
            **self.message.to_dict(),
        }


def _places(definition: FormDefinition) -> dict[str, tuple[str | None, str | None]]:
    """Each field's (parent, innermost enclosing repeat)."""
    places: dict[str, tuple[str | None, str | None]] = {}

    def walk(fields: list[Field], parent: str | None, repeat: str | None) -> None:
        for f in fields:
            places[f.name] = (parent, repeat)
            walk(f.children, f.name, f.name if f.type == "repeat" else repeat)

    walk(definition.fields, None, None)
    return places


def _plain(value: Any) -> Any:
    return value.to_dict() if hasattr(value, "to_dict") else value


def diff(old: FormDefinition, new: FormDefinition) -> list[Change]:
    """What changes from `old` to `new`: the form's settings, then each field in the new
    version's order, then the removed fields."""
    changes: list[Change] = []
    for attribute in _FORM_ATTRIBUTES:
        before, after = getattr(old, attribute), getattr(new, attribute)
        if before != after:
            shown = {"attribute": attribute, "old": _show(before), "new": _show(after)}
            changes.append(
                Change(
                    "form_changed",
                    None,
                    Message("diff.form_changed", shown),
                    before=_plain(before),
                    after=_plain(after),
                )
            )
    old_fields = {f.name: f for f in old.iter_fields()}
    new_fields = {f.name: f for f in new.iter_fields()}
    old_places, new_places = _places(old), _places(new)
    for name, after in new_fields.items():
        before = old_fields.get(name)
        if before is None:
            changes.append(Change("field_added", name, Message("diff.field_added", {"name": name})))
            continue
        changes.extend(_field_changes(old, new, before, after, old_places[name], new_places[name]))
    for name, before in old_fields.items():
        if name not in new_fields:
            changes.append(
                Change(
                    "field_removed",
                    name,
                    Message("diff.field_removed", {"name": name}),
                    data_loss=before.type not in NO_VALUE_TYPES,
                )
            )
    return changes


def data_losing(changes: list[Change]) -> list[Change]:
    """The changes to warn about before publishing."""
    return [change for change in changes if change.data_loss]


def _show(value: Any) -> str:
    if hasattr(value, "to_dict"):
        return " / ".join(v for v in (value.zh, value.en) if v) or "—"
    if isinstance(value, tuple | list):
        return " ".join(value) or "—"
    return "—" if value is None or value == "" else str(value)


def _field_changes(
    old: FormDefinition,
    new: FormDefinition,
    before: Field,
    after: Field,
    old_place: tuple[str | None, str | None],
    new_place: tuple[str | None, str | None],
) -> list[Change]:
    name = after.name
    holds_data = before.type not in NO_VALUE_TYPES
    changes: list[Change] = []
    if before.type != after.type:
        safe = (before.type, after.type) in SAFE_TYPE_CHANGES or not holds_data
        changes.append(
            Change(
                "type_changed",
                name,
                Message(
                    "diff.type_widened" if safe else "diff.type_changed",
                    {"name": name, "old": before.type, "new": after.type},
                ),
                data_loss=not safe,
                before=before.type,
                after=after.type,
            )
        )
    elif after.type in SELECT_TYPES:
        changes.extend(_option_changes(name, old.choice_list(before), new.choice_list(after)))
    (old_parent, old_repeat), (new_parent, new_repeat) = old_place, new_place
    if old_repeat != new_repeat and holds_data:
        repeat: str | None
        if new_repeat is not None:
            kind, repeat = "moved_into_repeat", new_repeat
        else:
            kind, repeat = "moved_out_of_repeat", old_repeat
        changes.append(
            Change(
                kind,
                name,
                Message(f"diff.{kind}", {"name": name, "repeat": repeat}),
                data_loss=True,
                before=old_repeat,
                after=new_repeat,
            )
        )
    elif old_parent != new_parent:
        changes.append(
            Change(
                "moved",
                name,
                Message("diff.moved", {"name": name}),
                before=old_parent,
                after=new_parent,
            )
        )
    texts = [a for a in _TEXT_ATTRIBUTES if getattr(before, a) != getattr(after, a)]
    if texts:
        changes.append(
            Change(
                "label_changed",
                name,
                Message("diff.label_changed", {"name": name, "attributes": ", ".join(texts)}),
            )
        )
    logic = [a for a in _LOGIC_ATTRIBUTES if getattr(before, a) != getattr(after, a)]
    if logic:
        changes.append(
            Change(
                "logic_changed",
                name,
                Message("diff.logic_changed", {"name": name, "attributes": ", ".join(logic)}),
            )
        )
    if before.pii != after.pii:
        kind = "pii_marked" if after.pii else "pii_unmarked"
        changes.append(Change(kind, name, Message(f"diff.{kind}", {"name": name})))
    return changes


def _option_changes(name: str, before: list, after: list) -> list[Change]:
    old = {choice.code: choice for choice in before}
    new = {choice.code: choice for choice in after}
    changes = []
    removed = [code for code in old if code not in new]
    if removed:
        changes.append(
            Change(
                "options_removed",
                name,
                Message("diff.options_removed", {"name": name, "codes": ", ".join(removed)}),
                data_loss=True,
                before=removed,
            )
        )
    added = [code for code in new if code not in old]
    if added:
        changes.append(
            Change(
                "options_added",
                name,
                Message("diff.options_added", {"name": name, "codes": ", ".join(added)}),
                after=added,
            )
        )
    relabelled = [code for code in new if code in old and old[code] != new[code]]
    if relabelled:
        changes.append(
            Change(
                "options_relabelled",
                name,
                Message("diff.options_relabelled", {"name": name, "codes": ", ".join(relabelled)}),
                after=relabelled,
            )
        )
    return changes
