"""forms.validation: submitted data against a definition, and a definition against itself."""

import datetime
import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forms.identifiers import check_character
from forms.model import Choice, Field, FormDefinition, Text
from forms.validation import (
    DefinitionError,
    FormValidator,
    applicable,
    check_definition,
    publish_problems,
    validate,
)
from tests.unit.forms.samples import every_feature_form, valid_data

TODAY = datetime.date(2026, 6, 1)


@pytest.fixture(autouse=True)
def _expressions():
    # Relevance, calculations and constraints need the expression language.
    pytest.importorskip("forms.expressions")


def one_field(field, **lists):
    return FormDefinition("f", fields=[field], choice_lists=lists)


def check(field, value, **lists):
    """The clean value and the error id of one field given one value."""
    clean, errors = validate(one_field(field, **lists), {field.name: value}, TODAY)
    return clean.get(field.name), errors[field.name].id if field.name in errors else None


# -- the whole sample -------------------------------------------------------------------
def test_valid_data_passes_and_calculations_are_computed_on_the_server():
    data = valid_data()
    data["bmi"] = 99.9  # never trusted
    data["risk"] = "low"
    clean, errors = validate(every_feature_form(), data, TODAY)
    assert errors == {}
    assert clean["bmi"] == 23.6
    assert clean["risk"] == "high"
    assert clean["meds"][1] == {"drug": "氢氯噻嗪", "dose": 12.5}
    assert "note_diet" not in clean


def test_values_of_fields_that_are_not_relevant_are_dropped_without_errors():
    data = valid_data()
    data["smokes"] = False
    data["cigarettes"] = -5  # would be too small, but the question is not asked
    clean, errors = validate(every_feature_form(), data, TODAY)
    assert errors == {}
    assert "cigarettes" not in clean


def test_errors_inside_repeats_are_keyed_by_repeat_index_and_field():
    data = valid_data()
    data["meds"] = [{"drug": "氨氯地平", "dose": -1}, {"dose": 5}, "x"]
    _, errors = validate(every_feature_form(), data, TODAY)
    assert errors["meds.0.dose"].id == "validation.too_small"
    assert errors["meds.1.drug"].id == "validation.required"
    assert errors["meds.2"].id == "validation.not_a_row"


def test_repeat_counts_are_checked_on_the_repeat():
    data = valid_data()
    data["meds"] = [{"drug": str(i)} for i in range(6)]
    _, errors = validate(every_feature_form(), data, TODAY)
    assert errors["meds"].id == "validation.too_many_rows"
    assert errors["meds"].mapping == {"max": 5}
    definition = every_feature_form()
    definition.get_field("meds").min_count = 1
    data["meds"] = []
    assert validate(definition, data, TODAY)[1]["meds"].id == "validation.too_few_rows"
    data["meds"] = {"drug": "x"}
    assert validate(definition, data, TODAY)[1]["meds"].id == "validation.not_a_list"


def test_unknown_fields_and_fields_of_other_scopes_are_refused():
    data = valid_data()
    data["colour"] = "red"
    data["drug"] = "at the top level"
    data["meds"][0]["sbp"] = 120
    _, errors = validate(every_feature_form(), data, TODAY)
    assert {"colour", "drug", "meds.0.sbp"} <= set(errors)
    assert errors["colour"].render("en") == "There is no field named “colour” in this form."


def test_data_that_is_not_an_object_is_refused():
    clean, errors = validate(every_feature_form(), ["x"], TODAY)
    assert clean == {}
    assert errors[""].id == "validation.not_an_object"


def test_required_uses_the_authors_message():
    data = valid_data()
    del data["name"]
    _, errors = validate(every_feature_form(), data, TODAY)
    assert errors["name"].render("zh") == "请填写姓名"
    assert errors["name"].render("en") == "Enter the name"
    del data["sbp"]
    _, errors = validate(every_feature_form(), data, TODAY)
    assert errors["sbp"].render("zh") == "此项为必填项。"


def test_required_if_depends_on_other_answers():
    data = valid_data()
    del data["id_number"]
    assert validate(every_feature_form(), data, TODAY)[1]["id_number"].id == "validation.required"
    data["sex"] = "9"
    assert "id_number" not in validate(every_feature_form(), data, TODAY)[1]


def test_constraints_read_the_value_and_other_fields_and_give_the_authors_message():
    data = valid_data()
    data["dbp"] = 160
    _, errors = validate(every_feature_form(), data, TODAY)
    assert errors["dbp"].id == "validation.constraint"
    assert errors["dbp"].render("zh") == "舒张压应低于收缩压"
    field = Field("n", "integer", constraint=". mod 2 = 0")
    assert check(field, 3) == (3, "validation.constraint")
    assert check(field, 4) == (4, None)
    assert validate(one_field(field), {"n": 3})[1]["n"].render("en") == "This value is not allowed."


def test_evaluation_order_follows_dependencies_not_document_order():
    definition = FormDefinition(
        "f",
        fields=[
            Field("total", "calculate", calculation="${a} + ${b}"),
            Field("b", "calculate", calculation="${a} * 2"),
            Field("shown", "text", relevant="${total} > 5"),
            Field("a", "integer"),
        ],
    )
    clean, errors = validate(definition, {"a": 3, "shown": "yes"}, TODAY)
    assert errors == {}
    assert clean == {"total": 9, "b": 6, "shown": "yes", "a": 3}


def test_repeat_entries_see_their_own_and_the_forms_values():
    definition = FormDefinition(
        "f",
        fields=[
            Field("limit", "integer"),
            Field(
                "items",
                "repeat",
                children=[
                    Field("qty", "integer"),
                    Field("over", "calculate", calculation="${qty} > ${limit}"),
                    Field("why", "text", relevant="${over}", required=True),
                ],
            ),
        ],
    )
    clean, errors = validate(
        definition, {"limit": 5, "items": [{"qty": 3}, {"qty": 9}, {"qty": 7, "why": "ok"}]}, TODAY
    )
    assert clean["items"][0] == {"qty": 3, "over": False}
    assert errors == {"items.1.why": errors["items.1.why"]}
    assert errors["items.1.why"].id == "validation.required"


def test_a_group_that_is_not_relevant_drops_everything_inside():
    definition = FormDefinition(
        "f",
        fields=[
            Field("drinks", "boolean"),
            Field(
                "g",
                "group",
                relevant="${drinks}",
                children=[
                    Field("inner", "group", children=[Field("amount", "integer", required=True)]),
                    Field("kinds", "repeat", children=[Field("kind", "text")]),
                ],
            ),
        ],
    )
    clean, errors = validate(definition, {"drinks": False, "amount": 3, "kinds": [{"kind": "x"}]})
    assert (clean, errors) == ({"drinks": False}, {})
    _, errors = validate(definition, {"drinks": True})
    assert errors["amount"].id == "validation.required"


# -- field types ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (Field("x", "text"), "你好", ("你好", None)),
        (Field("x", "text"), 12, (None, "validation.not_text")),
        (Field("x", "integer"), 12, (12, None)),
        (Field("x", "integer"), 12.0, (12, None)),
        (Field("x", "integer"), 12.5, (None, "validation.not_integer")),
        (Field("x", "integer"), "12", (None, "validation.not_integer")),
        (Field("x", "integer"), True, (None, "validation.not_integer")),
        (Field("x", "integer", min=0, max=10), 11, (11, "validation.too_large")),
        (Field("x", "integer", min=0, max=10), -1, (-1, "validation.too_small")),
        (Field("x", "decimal"), 36.5, (36.5, None)),
        (Field("x", "decimal"), float("nan"), (None, "validation.not_number")),
        (Field("x", "decimal"), "36.5", (None, "validation.not_number")),
        (Field("x", "decimal", decimals=1), 36.55, (36.55, "validation.too_many_decimals")),
        (Field("x", "decimal", decimals=1), 36.5, (36.5, None)),
        (Field("x", "decimal", decimals=0), 36, (36, None)),
        (Field("x", "decimal", min=34, max=43), 43.1, (43.1, "validation.too_large")),
        (Field("x", "date"), "2026-02-28", ("2026-02-28", None)),
        (Field("x", "date"), "2026-02-30", (None, "validation.not_date")),
        (Field("x", "date"), "2026/02/28", (None, "validation.not_date")),
        (Field("x", "date"), datetime.date(2026, 2, 1), ("2026-02-01", None)),
        (Field("x", "datetime"), "2026-02-28T08:30", ("2026-02-28T08:30", None)),
        (Field("x", "datetime"), "2026-02-28T08:30:15+08:00", ("2026-02-28T08:30:15+08:00", None)),
        (Field("x", "datetime"), "2026-02-28T25:30", (None, "validation.not_datetime")),
        (Field("x", "datetime"), "2026-02-28", (None, "validation.not_datetime")),
        (Field("x", "boolean"), False, (False, None)),
        (Field("x", "boolean"), "yes", (None, "validation.not_boolean")),
        (Field("x", "resident_id"), "11010519491231002x", ("11010519491231002X", None)),
        (Field("x", "resident_id"), "110105491231002", ("11010519491231002X", None)),
        (
            Field("x", "resident_id"),
            "110105194912310021",
            (None, "validation.resident_id.check_digit"),
        ),
        (Field("x", "resident_id"), 110105, (None, "validation.resident_id.format")),
        (Field("x", "phone"), "138 1234 5678", ("13812345678", None)),
        (Field("x", "phone"), "1234", (None, "validation.phone")),
        (Field("x", "file"), "attachment-7", ("attachment-7", None)),
        (Field("x", "image"), {"name": "a.jpg"}, (None, "validation.not_an_attachment")),
        (Field("x", "note"), "anything", (None, None)),
    ],
)
def test_each_type_takes_its_json_values(field, value, expected):
    assert check(field, value) == expected


def test_empty_values_count_as_missing():
    for value in (None, "", "  ", []):
        assert check(Field("x", "text", required=True), value) == (None, "validation.required")
    assert check(Field("x", "text"), "") == (None, None)


SYMPTOMS = [Choice("0", Text("无"), exclusive=True), Choice("1"), Choice("2")]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (Field("x", "select_one", choices="s"), "1", ("1", None)),
        (Field("x", "select_one", choices="s"), 1, ("1", None)),
        (Field("x", "select_one", choices="s"), "7", ("7", "validation.not_a_choice")),
        (Field("x", "select_one", choices="s"), ["1"], (None, "validation.not_text")),
        (Field("x", "select_multiple", choices="s"), ["1", "2"], (["1", "2"], None)),
        (Field("x", "select_multiple", choices="s"), ["0"], (["0"], None)),
        (
            Field("x", "select_multiple", choices="s"),
            ["0", "1"],
            (["0", "1"], "validation.exclusive_choice"),
        ),
        (
            Field("x", "select_multiple", choices="s"),
            ["1", "1"],
            (["1", "1"], "validation.duplicate_choice"),
        ),
        (
            Field("x", "select_multiple", choices="s"),
            ["1", "8"],
            (["1", "8"], "validation.not_a_choice"),
        ),
        (Field("x", "select_multiple", choices="s"), "1 2", (None, "validation.not_a_list")),
        (Field("x", "select_multiple", choices="s"), [None], (None, "validation.not_a_list")),
    ],
)
def test_selects_take_codes_from_their_list(field, value, expected):
    assert check(field, value, s=SYMPTOMS) == expected


def test_an_exclusive_option_is_named_in_the_message():
    _, errors = validate(
        one_field(Field("x", "select_multiple", choices="s"), s=SYMPTOMS), {"x": ["1", "0"]}
    )
    # By its label, as the person saw it; by its code when it has none.
    assert errors["x"].render("zh") == "选择“无”时不能再选择其他选项。"
    unlabelled = [Choice("0", exclusive=True), Choice("1")]
    _, errors = validate(
        one_field(Field("x", "select_multiple", choices="s"), s=unlabelled), {"x": ["1", "0"]}
    )
    assert errors["x"].render("en") == "“0” cannot be combined with other options."


def test_resident_id_agrees_with_the_linked_sex_and_birth_date():
    data = valid_data()
    data["sex"] = "1"
    _, errors = validate(every_feature_form(), data, TODAY)
    assert errors["id_number"].id == "validation.resident_id.sex_female"
    data["sex"] = "0"  # unknown: nothing to compare
    data["dob"] = "1949-12-30"
    _, errors = validate(every_feature_form(), data, TODAY)
    assert errors["id_number"].id == "validation.resident_id.birth_date_mismatch"
    assert "1949-12-31" in errors["id_number"].render("zh")


def test_a_resident_id_born_after_today_is_refused():
    first17 = "11010520260602001"
    number = first17 + check_character(first17)
    assert check(Field("x", "resident_id"), number) == (None, "validation.resident_id.future")


def test_calculated_values_take_the_fields_type():
    definition = FormDefinition(
        "f",
        fields=[
            Field("w", "decimal"),
            Field("rounded", "decimal", decimals=1, calculation="${w} div 3"),
            Field("whole", "integer", calculation="${w} div 3"),
            Field("label", "text", calculation="${w} * 2"),
            Field("due", "date", calculation="date(${lmp} + 280)"),
            Field("lmp", "date"),
            Field("empty", "calculate", calculation="${missing_value}"),
            Field("missing_value", "text"),
        ],
    )
    clean, errors = validate(definition, {"w": 10, "lmp": "2026-01-01"}, TODAY)
    assert errors == {}
    assert clean["rounded"] == 3.3
    assert clean["whole"] == 3
    assert clean["label"] == "20"
    assert clean["due"] == "2026-10-08"
    assert "empty" not in clean


def test_read_only_fields_keep_their_default_whatever_is_sent():
    definition = FormDefinition(
        "f",
        fields=[
            Field("code", "text", default="A1", read_only=True),
            Field("mode", "select_one", choices="m", default="2", read_only=True),
            Field("kinds", "select_multiple", choices="m", default=["1"], read_only=True),
            Field("shown", "integer", read_only=True),  # no default: stays empty
            Field("free", "text"),
        ],
        choice_lists={"m": [Choice("1", Text("一")), Choice("2", Text("二"))]},
    )
    sent = {"code": "B2", "mode": "1", "kinds": ["1", "2"], "shown": 7, "free": "x"}
    clean, errors = validate(definition, sent, TODAY)
    assert errors == {}
    assert clean == {"code": "A1", "mode": "2", "kinds": ["1"], "free": "x"}
    # Nothing sent: the defaults are the values all the same.
    clean, errors = validate(definition, {}, TODAY)
    assert clean == {"code": "A1", "mode": "2", "kinds": ["1"]}


def test_a_validator_compiles_once_and_refuses_a_broken_definition():
    validator = FormValidator(every_feature_form())
    assert validator.validate(valid_data(), TODAY)[1] == {}
    broken = FormDefinition("f", fields=[Field("a", "text", relevant="${a} = (")])
    with pytest.raises(DefinitionError):
        validate(broken, {})


# -- definitions ------------------------------------------------------------------------------
def test_the_sample_definition_is_consistent_and_publishable():
    assert check_definition(every_feature_form()) == []
    assert publish_problems(every_feature_form()) == []


def problems(*fields, **lists):
    definition = FormDefinition("f", fields=list(fields), choice_lists=lists)
    return [(p.field, p.attribute, p.message.id) for p in check_definition(definition)]


@pytest.mark.parametrize(
    ("fields", "lists", "expected"),
    [
        ([Field("1st", "text")], {}, ("1st", "name", "definition.field_name")),
        ([Field("a.b", "text")], {}, ("a.b", "name", "definition.field_name")),
        (
            [Field("a", "text"), Field("g", "group", children=[Field("a", "integer")])],
            {},
            ("a", "name", "definition.duplicate_name"),
        ),
        (
            [Field("a", "text", children=[Field("b", "text")])],
            {},
            ("a", "children", "definition.children"),
        ),
        ([Field("a", "select_one")], {}, ("a", "choices", "definition.no_choice_list")),
        (
            [Field("a", "select_one", choices="x")],
            {},
            ("a", "choices", "definition.unknown_choice_list"),
        ),
        ([Field("a", "calculate")], {}, ("a", "calculation", "definition.no_calculation")),
        ([Field("a", "text", min=3)], {}, ("a", "min", "definition.not_applicable")),
        ([Field("a", "integer", decimals=2)], {}, ("a", "decimals", "definition.not_applicable")),
        ([Field("a", "note", required=True)], {}, ("a", "required", "definition.not_applicable")),
        ([Field("a", "integer", min=5, max=1)], {}, ("a", "min", "definition.min_max")),
        ([Field("a", "decimal", decimals=11)], {}, ("a", "decimals", "definition.decimals")),
        ([Field("a", "repeat", min_count=-1)], {}, ("a", "min_count", "definition.count")),
        (
            [Field("a", "repeat", min_count=3, max_count=2)],
            {},
            ("a", "min_count", "definition.min_max"),
        ),
        ([Field("a", "image", max_size=0)], {}, ("a", "max_size", "definition.max_size")),
        ([Field("a", "file", accept=("pdf",))], {}, ("a", "accept", "definition.media_type")),
        ([Field("a", "resident_id", sex_field="nope")], {}, ("a", "sex_field", "definition.link")),
        (
            [Field("d", "text"), Field("a", "resident_id", birth_date_field="d")],
            {},
            ("a", "birth_date_field", "definition.link"),
        ),
        ([Field("a", "integer", default="x")], {}, ("a", "default", "validation.not_integer")),
        ([Field("a", "integer", max=3, default=4)], {}, ("a", "default", "validation.too_large")),
        (
            [Field("a", "select_one", choices="s", default="z")],
            {"s": [Choice("1")]},
            ("a", "default", "validation.not_a_choice"),
        ),
        ([Field("a", "text", relevant="${a} = (")], {}, ("a", "relevant", "definition.expression")),
        (
            [Field("a", "text", relevant="${nobody} = 1")],
            {},
            ("a", "relevant", "definition.unknown_reference"),
        ),
        ([Field("a", "text", relevant=". = 1")], {}, ("a", "relevant", "definition.expression")),
        (
            [
                Field("a", "calculate", calculation="${b} + 1"),
                Field("b", "calculate", calculation="${a} + 1"),
            ],
            {},
            ("a", "calculation", "definition.cycle"),
        ),
    ],
)
def test_inconsistent_definitions_are_described(fields, lists, expected):
    assert expected in problems(*fields, **lists)


def test_a_field_inside_a_repeat_is_used_only_inside_it():
    def meds(*children):
        return Field("meds", "repeat", label=Text("药"), children=[*children])

    dose = Field("dose", "integer", label=Text("剂量"))
    # Inside the repeat, and from a repeat nested in it, the entry's fields are there.
    inner = Field("again", "repeat", label=Text("x"), children=[
        Field("more", "integer", label=Text("y"), constraint=". > ${dose}"),
    ])  # fmt: skip
    assert problems(meds(dose, Field("twice", "calculate", calculation="${dose} * 2"), inner)) == []
    # The repeat itself (its entries) may be counted from outside.
    assert problems(meds(dose), Field("n", "calculate", calculation="count(${meds})")) == []
    # From outside, from the repeat's own skip logic, or from another repeat: no one value.
    found = problems(
        meds(dose),
        Field("total", "calculate", calculation="${dose} + 1"),
        Field("other", "repeat", label=Text("o"), relevant="${dose} > 1", children=[
            Field("o", "integer", label=Text("o"), required_if="${dose} > 2"),
        ]),
    )  # fmt: skip
    assert found == [
        ("total", "calculation", "definition.repeat_reference"),
        ("other", "relevant", "definition.repeat_reference"),
        ("o", "required_if", "definition.repeat_reference"),
    ]


@pytest.mark.parametrize(
    ("attribute", "field_type", "expected"),
    [
        ("min", "integer", True),
        ("min", "text", False),
        ("min_count", "repeat", True),
        ("default", "image", False),
        ("sex_field", "resident_id", True),
        ("required", "group", False),
        ("relevant", "group", True),
        ("label", "note", True),
    ],
)
def test_which_attributes_apply_to_which_types(attribute, field_type, expected):
    assert applicable(attribute, field_type) is expected


def test_choice_list_problems_name_the_list_and_code():
    definition = FormDefinition(
        "f",
        fields=[Field("a", "select_one", choices="s"), Field("b", "select_one", choices="e")],
        choice_lists={"s": [Choice("1"), Choice("1"), Choice("a b")], "e": []},
    )
    found = {
        (p.choice_list, p.code, p.message.id) for p in check_definition(definition) if p.choice_list
    }
    assert found == {
        ("s", "1", "definition.duplicate_choice"),
        ("s", "a b", "definition.choice_code"),
        ("e", None, "definition.empty_choice_list"),
    }


def test_a_cycle_message_shows_the_path():
    definition = FormDefinition(
        "f",
        fields=[
            Field(
                "g", "group", relevant="${x} = 1", children=[Field("x", "integer", hint=Text("X"))]
            ),
        ],
    )
    [problem] = check_definition(definition)
    assert problem.message.id == "definition.cycle"
    assert problem.message.mapping["path"] in ("g → x → g", "x → g → x")


def test_expression_problems_are_told_in_both_languages():
    [problem] = check_definition(
        one_field(Field("a", "text", label=Text("A"), relevant="pulldata('x', 1)"))
    )
    assert problem.message.mapping["code"] == "unknown_function"
    assert "pulldata" in problem.message.render("en")
    assert "pulldata" in problem.message.render("zh")
    assert problem.message.render("en") != problem.message.render("zh")


def test_bad_form_names_and_versions_are_described():
    found = check_definition(FormDefinition("高血压", version=0))
    assert [p.message.id for p in found] == ["definition.form_name", "definition.version"]


def test_publishing_needs_title_category_levels_and_a_field():
    found = publish_problems(FormDefinition("f", fields=[Field("n", "note", hint=Text("!"))]))
    assert [p.attribute for p in found] == ["title", "category", "levels", "fields"]


NAMES = every_feature_form().field_names()


@functools.cache
def _sample_validator():
    return FormValidator(every_feature_form())


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(NAMES + ["x"]), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(NAMES + ["x"]), _json, max_size=12))
def test_any_json_data_gives_errors_never_an_exception(data):
    clean, errors = _sample_validator().validate(data, TODAY)
    assert set(clean) <= set(NAMES)
    for message in errors.values():
        assert message.render("zh") and message.render("en")
