"""forms.model: definitions as plain data, lossless to and from JSON."""

import json

import pytest

from forms.model import FIELD_TYPES, Choice, Field, FormDefinition, Text
from tests.unit.forms.samples import every_feature_form


def test_the_sample_uses_every_field_type():
    assert {f.type for f in every_feature_form().iter_fields()} == set(FIELD_TYPES)


def test_to_dict_is_json_and_from_dict_gives_an_equal_definition():
    definition = every_feature_form()
    data = json.loads(json.dumps(definition.to_dict(), ensure_ascii=False))
    assert FormDefinition.from_dict(data) == definition
    assert FormDefinition.from_dict(data).to_dict() == data


def test_to_dict_leaves_out_unset_attributes():
    data = Field("age", "integer", min=0).to_dict()
    assert data == {"name": "age", "type": "integer", "min": 0}
    assert Field("g", "group").to_dict() == {"name": "g", "type": "group", "children": []}


def test_iteration_finds_fields_inside_groups_and_repeats():
    definition = every_feature_form()
    names = definition.field_names()
    assert names.index("vitals") < names.index("sbp") < names.index("smokes")
    assert definition.get_field("dose").unit == "mg"
    assert definition.get_field("nothing") is None
    assert definition.enclosing_repeat("dose").name == "meds"
    assert definition.enclosing_repeat("sbp") is None
    assert definition.enclosing_repeat("nothing") is None
    assert [c.code for c in definition.choice_list(definition.get_field("mode"))] == ["1", "2", "3"]


def test_levels_take_one_order_so_equal_forms_compare_equal():
    assert FormDefinition("f", levels=("district", "station")).levels == ("station", "district")


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"category": "牙科"}, "category"),
        ({"levels": ("town",)}, "levels"),
        ({"period_type": "week"}, "period"),
        ({"default_language": "fr"}, "language"),
    ],
)
def test_definitions_refuse_values_outside_their_sets(kwargs, word):
    with pytest.raises(ValueError, match=word):
        FormDefinition("f", **kwargs)


def test_fields_refuse_unknown_types():
    with pytest.raises(ValueError, match="unknown field type"):
        Field("x", "geopoint")


@pytest.mark.parametrize(
    "data",
    [
        {"name": "x", "type": "text", "colour": "red"},  # unknown key
        {"name": "x", "type": "text", "required": "yes"},  # not a boolean
        {"name": "x", "type": "integer", "min": True},  # a boolean is not a number
        {"name": "x", "type": "text", "label": "just a string"},
        {"name": "x", "type": "text", "label": {"fr": "bonjour"}},
        {"name": "x", "type": "text", "default": {"a": 1}},
        {"name": "x", "type": "image", "accept": [1]},
        {"type": "text"},  # no name
    ],
)
def test_from_dict_refuses_malformed_fields(data):
    with pytest.raises(ValueError):
        Field.from_dict(data)


def test_from_dict_refuses_malformed_definitions():
    with pytest.raises(ValueError):
        FormDefinition.from_dict({"name": "f", "pages": []})
    with pytest.raises(ValueError):
        FormDefinition.from_dict({"name": "f", "choice_lists": {"a": "x"}})
    with pytest.raises(ValueError):
        FormDefinition.from_dict({"name": "f", "choice_lists": {"a": [{"code": "1", "x": 1}]}})


def test_text_falls_back_to_the_other_language():
    assert Text("男", "Male").get("en") == "Male"
    assert Text(zh="男").get("en") == "男"
    assert Text(en="Male").get("zh") == "Male"
    assert not Text()
    assert Text.from_dict(None) == Text()


def test_choices_serialise_compactly():
    assert Choice("0", Text("无"), exclusive=True).to_dict() == {
        "code": "0",
        "label": {"zh": "无"},
        "exclusive": True,
    }
    assert Choice.from_dict({"code": "1"}) == Choice("1")
