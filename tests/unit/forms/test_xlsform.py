"""forms.xlsform: XLSForm workbooks in and out, with every problem placed in the workbook."""

import io

import openpyxl
import pytest

from forms.model import Choice, Field, FormDefinition, Text
from forms.xlsform import export_xlsform, import_xlsform
from tests.unit.forms.samples import every_feature_form


@pytest.fixture(autouse=True)
def _expressions():
    # Importing checks every expression with the expression language.
    pytest.importorskip("forms.expressions")


SETTINGS = [["form_id", "category", "levels", "period_type"], ["f1", "预防", "station", "month"]]


def workbook(survey, choices=None, settings=SETTINGS, extra=None):
    """An .xlsx XLSForm written cell by cell, as an admin's spreadsheet would be."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "survey"
    for row in survey:
        sheet.append(row)
    for title, rows in (("choices", choices), ("settings", settings), *(extra or {}).items()):
        if rows is not None:
            other = book.create_sheet(title)
            for row in rows:
                other.append(row)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def refused(*args, **kwargs):
    """The import's errors as (sheet, row, column, message id); it must import nothing."""
    result = import_xlsform(workbook(*args, **kwargs))
    assert result.definition is None
    assert result.errors
    return [(e.sheet, e.row, e.column, e.message.id) for e in result.errors]


# -- round trip -----------------------------------------------------------------------------
def test_export_then_import_gives_an_equal_definition():
    definition = every_feature_form()
    result = import_xlsform(export_xlsform(definition))
    assert result.errors == []
    assert result.definition == definition


def test_round_trip_keeps_awkward_values():
    definition = FormDefinition(
        "awkward",
        title=Text(en="English only"),
        default_language="en",
        category="基线调查",
        levels=("district",),
        period_type="year",
        fields=[
            Field("formula_like", "text", label=Text("=1+1", "=SUM(A1)"), default="=x"),
            Field(
                "spaced",
                "decimal",
                label=Text("间隔"),
                unit="次 / 分",
                min=-1.5,
                max=1e6,
                decimals=3,
                default=0.25,
                constraint=". != 0.5",
            ),
            Field(
                "lots",
                "repeat",
                min_count=1,
                max_count=3,
                relevant="${spaced} > 0",
                children=[
                    Field("id", "resident_id", hint=Text(en="ID"), required_if="${spaced} > 1")
                ],
            ),
            Field(
                "codes",
                "select_multiple",
                label=Text("民族"),
                choices="ethnic",
                default=["01", "02"],
            ),
            Field("flag", "boolean", label=Text("是否"), default=True),
        ],
        choice_lists={
            "ethnic": [
                Choice("01", Text("汉族")),
                Choice("02", Text("蒙古族")),
                Choice("99", Text(en="Other"), exclusive=True),
            ]
        },
    )
    result = import_xlsform(export_xlsform(definition))
    assert result.errors == []
    assert result.definition == definition


def test_the_exported_workbook_is_plain_xlsform():
    book = openpyxl.load_workbook(io.BytesIO(export_xlsform(every_feature_form())))
    assert book.sheetnames == ["survey", "choices", "settings"]
    survey = [[c.value for c in row] for row in book["survey"].iter_rows()]
    assert survey[0][:4] == ["type", "name", "label::中文 (zh)", "label::English (en)"]
    types = [row[0] for row in survey[1:]]
    assert "select_one mode" in types
    assert types.count("begin group") == types.count("end group") == 2
    sbp = next(row for row in survey if row[1] == "sbp")
    assert sbp[survey[0].index("parameters")] == "unit=mmHg min=60 max=300"
    settings = [[c.value for c in row] for row in book["settings"].iter_rows()]
    assert dict(zip(*settings, strict=True))["levels"] == "station centre"


# -- reading ----------------------------------------------------------------------------------
def test_languages_go_to_chinese_and_english_and_others_are_ignored_with_a_warning():
    result = import_xlsform(
        workbook(
            [
                [
                    "type",
                    "name",
                    "label",
                    "label::English (en)",
                    "label::Français (fr)",
                    "hint::zh",
                ],
                ["text", "a", "甲", "A", "Un", "提示"],
            ],
        )
    )
    field = result.definition.get_field("a")
    assert field.label == Text("甲", "A")
    assert field.hint == Text(zh="提示")
    assert [
        (w.column, w.message.id)
        for w in result.warnings
        if w.message.id == "xlsform.ignored_language"
    ] == [("E", "xlsform.ignored_language")]


def test_the_default_language_setting_decides_where_untagged_labels_go():
    result = import_xlsform(
        workbook(
            [["type", "name", "label"], ["text", "a", "Name"]],
            settings=[["form_id", "default_language", "form_title"], ["f1", "English", "Title"]],
        )
    )
    assert result.definition.default_language == "en"
    assert result.definition.get_field("a").label == Text(en="Name")
    assert result.definition.title == Text(en="Title")


def test_our_additions_are_read():
    result = import_xlsform(
        workbook(
            [
                ["type", "name", "label", "pii", "required", "parameters", "relevant", "default"],
                ["select_one gb_sex", "sex", "性别", "", "yes", "", "", ""],
                [
                    "resident_id",
                    "id",
                    "身份证号",
                    "yes",
                    "${sex} != “9”",
                    "sex_field=${sex}",
                    "",
                    "",
                ],
                ["phone", "tel", "电话", "yes", "", "", "", ""],
                ["boolean", "ok", "同意", "", "", "", "", "no"],
                [
                    "image",
                    "photo",
                    "照片",
                    "",
                    "",
                    "max_size=2MB accept=image/jpeg,image/png",
                    "",
                    "",
                ],
                ["decimal", "t", "体温", "", "", "unit=℃ min=34 max=43 decimals=1", "", "36.5"],
                ["begin repeat", "r", "用药", "", "", "min=1 max=4", "${ok}", ""],
                ["text", "drug", "药名", "", "", "", "", ""],
                ["end repeat", "", "", "", "", "", "", ""],
                ["note", "", "说明", "", "", "", "", ""],
            ],
        )
    )
    assert result.errors == []
    definition = result.definition
    assert (definition.category, definition.levels, definition.period_type) == (
        "预防",
        ("station",),
        "month",
    )
    identity = definition.get_field("id")
    assert (identity.pii, identity.required, identity.required_if, identity.sex_field) == (
        True,
        False,
        '${sex} != "9"',
        "sex",
    )
    assert definition.get_field("tel").type == "phone"
    assert definition.get_field("ok").default is False
    photo = definition.get_field("photo")
    assert (photo.max_size, photo.accept) == (2 * 1024 * 1024, ("image/jpeg", "image/png"))
    temperature = definition.get_field("t")
    assert (
        temperature.unit,
        temperature.min,
        temperature.max,
        temperature.decimals,
        temperature.default,
    ) == ("℃", 34, 43, 1, 36.5)
    repeat = definition.get_field("r")
    assert (repeat.min_count, repeat.max_count, repeat.relevant) == (1, 4, "${ok}")
    assert definition.get_field("generated_note_name_11").type == "note"
    # gb_sex is not in the choices sheet: it comes from the standard code sets.
    assert [c.code for c in definition.choice_lists["gb_sex"]] == ["0", "1", "2", "9"]


def test_odk_aliases_of_types_and_columns_are_understood():
    result = import_xlsform(
        workbook(
            [
                ["type", "name", "caption:English", "bind:relevant", "constraint message"],
                ["string", "a", "A", "", ""],
                ["int", "b", "B", "${a} != ''", "too big"],
                ["select one from yn", "c", "C", "", ""],
                ["phone number", "d", "D", "", ""],
                ["begin_group", "g", "G", "", ""],
                ["dateTime", "e", "E", "", ""],
                ["end_group", "", "", "", ""],
            ],
            choices=[["list name", "value", "label"], ["yn", "y", "Yes"], ["yn", "n", "No"]],
        )
    )
    assert result.errors == []
    types = {f.name: f.type for f in result.definition.iter_fields()}
    assert types == {
        "a": "text",
        "b": "integer",
        "c": "select_one",
        "d": "phone",
        "g": "group",
        "e": "datetime",
    }
    assert result.definition.get_field("b").constraint_message == Text(zh="too big")


@pytest.mark.parametrize("kind", ["bytes", "file", "path"])
def test_the_source_may_be_bytes_a_file_or_a_path_whose_name_names_the_form(kind, tmp_path):
    data = workbook([["type", "name", "label"], ["text", "a", "A"]], settings=None)
    path = tmp_path / "my_form.xlsx"
    path.write_bytes(data)
    source = {"bytes": data, "file": io.BytesIO(data), "path": path}[kind]
    result = import_xlsform(source, filename=None if kind == "path" else "my_form.xlsx")
    assert result.definition.name == "my_form"


def test_without_form_id_or_file_name_there_is_no_name():
    result = import_xlsform(workbook([["type", "name"], ["text", "a"]], settings=None))
    assert [e.message.id for e in result.errors] == ["xlsform.no_form_id"]


# -- problems, placed ----------------------------------------------------------------------
def test_a_file_that_is_not_a_workbook_is_refused():
    result = import_xlsform(b"type,name\ntext,a\n")
    assert [e.message.id for e in result.errors] == ["xlsform.unreadable"]
    result = import_xlsform(b"PK\x03\x04 truncated zip")
    assert [e.message.id for e in result.errors] == ["xlsform.unreadable"]


def test_sheets_and_columns_must_be_there():
    book = openpyxl.Workbook()
    book.active.title = "questions"
    book.create_sheet("notes")
    output = io.BytesIO()
    book.save(output)
    assert [e.message.id for e in import_xlsform(output.getvalue()).errors] == ["xlsform.no_survey"]
    assert refused([["name", "label"], ["a", "A"]]) == [
        ("survey", 1, None, "xlsform.missing_column")
    ]


def test_a_column_given_twice_is_refused_at_its_header():
    assert refused([["type", "name", "label", "label"], ["text", "a", "A", "B"]]) == [
        ("survey", 1, "D", "xlsform.duplicate_column")
    ]
    assert refused([["type", "name", "relevant", "bind:relevant"], ["text", "a", "", ""]]) == [
        ("survey", 1, "D", "xlsform.duplicate_column")
    ]


def test_unsupported_odk_features_are_named_with_their_row():
    errors = refused(
        [
            ["type", "name", "label", "calculation", "choice_filter", "repeat_count"],
            ["text", "a", "A", "", "", ""],
            ["geopoint", "where", "Where", "", "", ""],
            ["calculate", "c", "", "pulldata('f', 'x', 'y', ${a})", "", ""],
            ["select_one yn", "s", "S", "", "${a} = 'x'", ""],
            ["select_one yn or_other", "o", "O", "", "", ""],
            ["begin repeat", "r", "R", "", "", "3"],
            ["end repeat", "", "", "", "", ""],
        ],
        choices=[["list_name", "name", "label"], ["yn", "y", "Y"]],
    )
    assert ("survey", 3, "A", "xlsform.unsupported_type") in errors
    assert ("survey", 5, "E", "xlsform.unsupported_column") in errors
    assert ("survey", 6, "A", "xlsform.unsupported_type") in errors
    assert ("survey", 7, "F", "xlsform.unsupported_column") in errors
    result = import_xlsform(
        workbook(
            [["type", "name", "calculation"], ["calculate", "c", "pulldata('f', 'x', 'y', 1)"]]
        )
    )
    [error] = result.errors
    assert (error.row, error.column, error.message.id) == (2, "C", "xlsform.unsupported_function")
    assert error.render("en") == (
        "Sheet “survey”, row 2, column C (calculation): The function pulldata() is an ODK "
        "feature this portal does not support."
    )
    assert error.render("zh") == (
        "工作表“survey”第 2 行 C 列（calculation）：函数 pulldata() 是本系统不支持的 ODK 功能。"
    )


def test_unknown_types_and_unbalanced_groups_are_refused():
    errors = refused(
        [
            ["type", "name", "label"],
            ["magic", "m", "M"],
            ["begin group", "g", "G"],
            ["end repeat", "", ""],
            ["select_one", "s", "S"],
            ["", "orphan", "has no type"],
        ]
    )
    assert errors == [
        ("survey", 2, "A", "xlsform.unknown_type"),
        ("survey", 3, "A", "xlsform.unclosed"),
        ("survey", 4, "A", "xlsform.unmatched_end"),
        ("survey", 5, "A", "definition.no_choice_list"),
        ("survey", 6, "A", "xlsform.missing_type"),
    ]


def test_names_must_be_present_and_unique_across_the_whole_form():
    errors = refused(
        [
            ["type", "name", "label"],
            ["text", "a", "A"],
            ["begin group", "g", "G"],
            ["integer", "a", "again"],
            ["integer", "", "no name"],
            ["end group", "", ""],
        ]
    )
    assert errors == [
        ("survey", 4, "B", "definition.duplicate_name"),
        ("survey", 5, "B", "xlsform.missing_name"),
    ]


def test_definition_problems_are_placed_at_their_row_and_column():
    errors = refused(
        [
            ["type", "name", "label", "relevant", "parameters", "default"],
            ["text", "a", "A", "${nobody} = 1", "", ""],
            ["integer", "b", "B", "", "min=9 max=1", ""],
            ["select_one missing", "c", "C", "", "", ""],
            ["integer", "d", "D", "${a} = (", "", "x"],
            ["text", "1e", "E", "", "", ""],
        ],
    )
    assert errors == [
        ("survey", 5, "F", "xlsform.bad_number"),
    ]
    errors = refused(
        [
            ["type", "name", "label", "relevant", "parameters"],
            ["text", "a", "A", "${nobody} = 1", ""],
            ["integer", "b", "B", "", "min=9 max=1"],
            ["select_one missing", "c", "C", "", ""],
            ["integer", "d", "D", "${a} = (", ""],
            ["text", "1e", "E", "", ""],
        ],
    )
    assert errors == [
        ("survey", 2, "D", "definition.unknown_reference"),
        ("survey", 3, "E", "definition.min_max"),
        ("survey", 4, "A", "definition.unknown_choice_list"),
        ("survey", 5, "D", "definition.expression"),
        ("survey", 6, "B", "definition.field_name"),
    ]


def test_choices_and_settings_problems_are_placed():
    errors = refused(
        [["type", "name", "label"], ["select_multiple s", "a", "A"]],
        choices=[
            ["list_name", "name", "label", "exclusive"],
            ["s", "1", "One", ""],
            ["s", "1", "Again", ""],
            ["s", "", "No code", ""],
            ["", "2", "No list", ""],
            ["s", "3", "Three", "perhaps"],
        ],
        settings=[
            ["form_id", "category", "levels", "period_type", "add_none_option"],
            ["f", "牙科", "town", "week", "yes"],
        ],
    )
    assert errors == [
        ("choices", 3, "B", "definition.duplicate_choice"),
        ("choices", 4, "B", "xlsform.missing_name"),
        ("choices", 5, "A", "xlsform.missing_list_name"),
        ("choices", 6, "D", "xlsform.yes_no"),
        ("settings", 2, "B", "xlsform.bad_setting"),
        ("settings", 2, "C", "xlsform.bad_setting"),
        ("settings", 2, "D", "xlsform.bad_setting"),
        ("settings", 2, "E", "xlsform.unsupported_setting"),
    ]


def test_field_settings_in_cells_are_checked():
    errors = refused(
        [
            ["type", "name", "pii", "parameters", "default"],
            ["text", "a", "maybe", "", ""],
            ["integer", "b", "", "colour=red", ""],
            ["integer", "c", "", "min=low", ""],
            ["date", "d", "", "", "today()"],
            ["text", "e", "", "'unclosed", ""],
        ]
    )
    assert errors == [
        ("survey", 2, "C", "xlsform.yes_no"),
        ("survey", 3, "D", "xlsform.unknown_parameter"),
        ("survey", 4, "D", "xlsform.bad_number"),
        ("survey", 5, "E", "xlsform.dynamic_default"),
        ("survey", 6, "D", "xlsform.parameters"),
    ]


def test_what_only_pyxform_notices_is_reported_with_its_row_and_column():
    result = import_xlsform(workbook([["type", "name", "label"], ["text", "a", "see ${nobody}"]]))
    [error] = result.errors
    assert (error.sheet, error.row, error.column, error.message.id) == (
        "survey",
        2,
        "C",
        "xlsform.pyxform",
    )
    assert "nobody" in error.render("zh")
    assert error.to_dict("en")["text"].startswith("Sheet “survey”, row 2, column C (label)")


def test_unsupported_sheets_with_content_are_refused_and_others_ignored():
    result = import_xlsform(
        workbook(
            [["type", "name"], ["text", "a"]],
            extra={"external_choices": [["list_name", "name"], ["x", "1"]], "notes": [["hello"]]},
        )
    )
    assert [(e.sheet, e.message.id) for e in result.errors] == [
        ("external_choices", "xlsform.unsupported_sheet")
    ]
    assert ("notes", "xlsform.ignored_sheet") in [(w.sheet, w.message.id) for w in result.warnings]


def test_disabled_rows_and_comment_rows_are_skipped():
    result = import_xlsform(
        workbook(
            [
                ["type", "name", "label", "disabled", "notes"],
                ["text", "a", "A", "", ""],
                ["geopoint", "g", "G", "yes", ""],
                ["", "", "", "", "a comment for the admin"],
            ]
        )
    )
    assert result.errors == []
    assert result.definition.field_names() == ["a"]
    assert "xlsform.skipped_row" in [w.message.id for w in result.warnings]
