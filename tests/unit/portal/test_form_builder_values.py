"""The form builder's conversions between what an admin types and what a field holds: defaults
by type, file sizes in MB or KB, and moves checked against the definition."""

import decimal

import pytest

from forms.model import Field, FormDefinition, Text
from portal.views.form_builder import (
    MoveRefused,
    default_from_text,
    field_appstruct,
    move,
    size_text,
)


@pytest.mark.parametrize(
    ("field_type", "text", "expected"),
    [
        ("integer", " 12 ", 12),
        ("integer", "１２", 12),  # full-width digits, as a Chinese keyboard may type them
        ("decimal", "36.5", 36.5),
        ("decimal", "-.5", -0.5),
        ("integer", "abc", "abc"),  # kept, for check_definition to refuse
        ("boolean", "yes", True),
        ("boolean", "否", False),
        ("boolean", "maybe", "maybe"),
        ("boolean", "TRUE", True),  # as XLSForm's default column reads it
        ("decimal", "nan", "nan"),
        ("select_multiple", "1  3", ["1", "3"]),
        ("select_one", "2", "2"),
        ("date", "2026-01-31", "2026-01-31"),
        ("text", "  ", None),
    ],
)
def test_a_typed_default_is_read_as_the_fields_type(field_type, text, expected):
    assert default_from_text(field_type, text) == expected


@pytest.mark.parametrize(
    ("size", "shown"),
    [(5 * 1024 * 1024, ("5", "MB")), (1536 * 1024, ("1.5", "MB")), (300 * 1024, ("300", "KB")),
     (512 * 1024, ("512", "KB")), (1000, ("0.9765625", "KB"))],
)  # fmt: skip
def test_a_size_is_shown_in_mb_or_kb(size, shown):
    number, unit = size_text(size)
    assert (str(number), unit) == shown
    assert int(decimal.Decimal(shown[0]) * {"MB": 1024 * 1024, "KB": 1024}[unit]) == size


def test_the_edit_form_shows_what_the_field_holds():
    f = Field("kinds", "select_multiple", choices="k", default=["a", "b"], read_only=True)
    values = field_appstruct(f)
    assert (values["default"], values["read_only"], values["accept"]) == ("a b", True, "")
    photo = Field("photo", "image", max_size=2 * 1024 * 1024, accept=("image/png", "image/jpeg"))
    values = field_appstruct(photo)
    assert (str(values["max_size"]), values["max_size_unit"]) == ("2", "MB")
    assert values["accept"] == "image/png, image/jpeg"


def sample():
    return FormDefinition(
        "f",
        fields=[
            Field("a", "integer", label=Text("a")),
            Field("g", "group", label=Text("g"), children=[Field("b", "text", label=Text("b"))]),
            Field("r", "repeat", label=Text("r")),
            Field("c", "calculate", calculation="${a} * 2"),
        ],
    )


def names(fields):
    return [(f.name, names(f.children)) if f.children else f.name for f in fields]


def test_moves_keep_the_tree_and_say_whether_anything_moved():
    definition = sample()
    assert move(definition, "a", "g", "b")
    assert names(definition.fields) == [("g", ["a", "b"]), "r", "c"]
    assert not move(definition, "a", "g", "b")  # already there
    # The group takes a along into the repeat, where c can no longer read it: refused.
    with pytest.raises(MoveRefused):
        move(definition, "g", "r", "")
    assert move(definition, "a", "", "g")
    assert move(definition, "g", "r", "")
    assert names(definition.fields) == ["a", ("r", [("g", ["b"])]), "c"]
    with pytest.raises(MoveRefused) as refused:
        move(definition, "r", "g", "")
    assert refused.value.reason is not None and not refused.value.problems


def test_a_move_that_hides_a_field_from_an_expression_is_refused():
    definition = sample()
    with pytest.raises(MoveRefused) as refused:
        move(definition, "a", "r", "")
    (problem,) = refused.value.problems
    assert (problem.field, problem.attribute) == ("c", "calculation")
    assert problem.message.id == "definition.repeat_reference"
