"""The form builder's pages: an admin creates a form, adds fields (a select with its choice
list, a calculation), is refused a bad expression at its field with what was typed kept,
reorders, previews, publishes; a data-losing change needs confirming; others get 403."""

import io
import json
import re

import openpyxl
import pytest
from sqlalchemy import select

from forms.model import FIELD_TYPES
from portal import models
from tests.conftest import csrf_token, login

FORMS = "/forms/"
FORM = FORMS + "bp_check/"


@pytest.fixture
def admin(testapp):
    login(testapp, "admin")
    testapp.set_cookie("_LOCALE_", "en")
    return testapp


def field_error(page, formid, name):
    form = page.html.find("form", id=formid)
    control = form.find(attrs={"name": name})
    item = control.find_parent("div", id=lambda v: v and v.startswith("item-"))
    error = item.find(class_="invalid-feedback")
    return error.get_text(" ", strip=True) if error else None


def field_order(page):
    return [row["data-field"] for row in page.html.select("#fields tr[data-field]")]


def audit_events(testapp, event):
    with testapp.app.registry.dbsession_factory() as s:
        query = select(models.AuditEvent).filter_by(event=event).order_by(models.AuditEvent.id)
        return list(s.scalars(query))


def create_form(admin):
    form = admin.get(FORMS + "new").forms["form-new"]
    form["name"] = "bp_check"
    form["title_zh"] = "血压检查"
    form["title_en"] = "Blood pressure check"
    form["category"] = "医疗"
    form.get("checkbox", index=0).checked = True  # levels: station
    form["period_type"] = "month"
    res = form.submit("save", status=303)
    assert res.location.endswith(FORM)
    page = res.follow()
    # The settings in words of the user's language, not codes.
    summary = page.html.select_one("#summary").get_text(" ", strip=True)
    expected = {"en": "· 医疗 · Station · Month", "zh": "· 医疗 · 站 · 月"}
    assert summary == expected[page.html.html["lang"][:2]]
    return page


def add_field(admin, status=303, parent=None, url=FORM, **values):
    url = url + "add-field" + (f"?parent={parent}" if parent else "")
    form = admin.get(url).forms["form-field"]
    for key, value in values.items():
        if isinstance(value, bool):
            form[key].checked = value
        else:
            form[key] = value
    return form.submit("save", status=status)


def add_choice_list(admin, name, choices):
    page = admin.get(FORM + "choices")
    form = page.forms["form-choices"]
    form["list_name"] = name
    # deform's sequence starts with one (empty) option; the others are posted the same way.
    fields = [(k, v) for k, v in form.submit_fields() if k != "save"]
    start = next(i for i, (k, v) in enumerate(fields) if k == "__start__" and v == "choice:mapping")
    end = start + next(
        i for i, (k, v) in enumerate(fields[start:]) if k == "__end__" and v == "choice:mapping"
    )
    head, tail = fields[:start], fields[end + 1 :]
    body = []
    for code, zh, en, exclusive in choices:
        body += [
            ("__start__", "choice:mapping"),
            ("code", code),
            ("label_zh", zh),
            ("label_en", en),
        ]
        if exclusive:
            body.append(("exclusive", "true"))
        body.append(("__end__", "choice:mapping"))
    return admin.post(FORM + "choices", [*head, *body, *tail, ("save", "save")], status=303)


def build_form(admin):
    create_form(admin)
    add_field(
        admin,
        name="systolic",
        type="integer",
        label_zh="收缩压",
        label_en="Systolic",
        required=True,
        min="50",
        max="300",
        unit="mmHg",
    )
    add_field(
        admin,
        name="diastolic",
        type="integer",
        label_zh="舒张压",
        label_en="Diastolic",
        required=True,
    )
    # Editing a field: its constraint may now name the field added after it.
    form = admin.get(FORM + "edit-field?field=systolic").forms["form-field"]
    assert form["unit"].value == "mmHg"
    form["constraint"] = ". > ${diastolic}"
    form["constraint_message_en"] = "Above diastolic"
    form.submit("save", status=303)
    add_choice_list(
        admin, "symptoms", [("none", "无", "None", True), ("headache", "头痛", "Headache", False)]
    )
    add_field(
        admin,
        name="symptom",
        type="select_multiple",
        label_zh="症状",
        label_en="Symptoms",
        choices="symptoms",
    )
    add_field(
        admin, name="pulse_pressure", type="calculate", calculation="${systolic} - ${diastolic}"
    )


def test_admin_builds_previews_and_publishes_a_form(admin):
    build_form(admin)
    page = admin.get(FORM)
    assert field_order(page) == ["systolic", "diastolic", "symptom", "pulse_pressure"]
    assert "symptoms" in page.html.select_one("#choice-lists").get_text()

    # A bad expression is refused at its field, and everything typed is still there.
    res = add_field(
        admin,
        status=200,
        name="note_bp",
        type="text",
        label_zh="备注",
        label_en="Remark",
        relevant="${systolic} >",
        hint_en="typed hint",
    )
    assert field_error(res, "form-field", "relevant")
    form = res.forms["form-field"]
    assert form["name"].value == "note_bp"
    assert form["relevant"].value == "${systolic} >"
    assert form["hint_en"].value == "typed hint"
    res = add_field(
        admin, status=200, name="note_bp", type="text", label_zh="备注", relevant="${nowhere} > 1"
    )
    assert "nowhere" in field_error(res, "form-field", "relevant")
    assert field_order(admin.get(FORM)) == ["systolic", "diastolic", "symptom", "pulse_pressure"]

    # Reorder: diastolic up, above systolic.
    page = admin.get(FORM)
    move = next(
        f
        for f in page.forms.values()
        if f.action.endswith("move-field") and f["field"].value == "diastolic"
    )
    move.submit("direction", value="up", status=303)
    assert field_order(admin.get(FORM)) == ["diastolic", "systolic", "symptom", "pulse_pressure"]

    # The preview renders the draft as staff see it, validates, and saves nothing.
    preview = admin.get(FORM + "preview")
    form = preview.forms["form-preview"]
    assert form["systolic"].attrs.get("data-constraint") == ". > ${diastolic}"
    form["systolic"] = "80"
    form["diastolic"] = "90"
    res = form.submit("submit", status=200)
    assert "Above diastolic" in res.html.select_one("#preview-form").get_text()
    assert res.forms["form-preview"]["systolic"].value == "80"
    assert not res.html.select("#preview-valid")
    form = res.forms["form-preview"]
    form["systolic"] = "130"
    form["diastolic"] = "85"
    res = form.submit("submit", status=200)
    assert res.html.select("#preview-valid")
    with admin.app.registry.dbsession_factory() as s:
        assert s.scalar(select(models.Submission).filter_by(form_name="bp_check")) is None

    # Publish: the first version has no differences to confirm.
    page = admin.get(FORM + "publish")
    assert "confirm" not in page.forms["form-publish"].fields
    page.forms["form-publish"].submit("save", status=303)
    published = admin.get("/api/v1/forms/bp_check").json
    assert [f["name"] for f in published["fields"]] == [
        "diastolic",
        "systolic",
        "symptom",
        "pulse_pressure",
    ]
    assert published["fields"][3]["calculation"] == "${systolic} - ${diastolic}"
    assert published["choice_lists"]["symptoms"][0] == {
        "code": "none",
        "label": {"zh": "无", "en": "None"},
        "exclusive": True,
    }
    page = admin.get(FORM)
    assert page.html.select_one("#xlsform")["href"].endswith("/api/v1/forms/bp_check/xlsform")
    actions = [e.detail["action"] for e in audit_events(admin, "form.edit")]
    assert actions == [
        "create",
        "add_field",
        "add_field",
        "edit_field",
        "edit_choices",
        "add_field",
        "add_field",
        "move_field",
    ]
    assert [e.detail["version"] for e in audit_events(admin, "form.publish")] == [1]


def test_a_data_losing_change_needs_confirming(admin):
    build_form(admin)
    admin.get(FORM + "publish").forms["form-publish"].submit("save", status=303)
    # Editing the published form starts a new draft; removing a field loses its answers.
    page = admin.get(FORM)
    assert not page.html.select("#publish")
    remove = next(
        f
        for f in page.forms.values()
        if f.action.endswith("remove-field") and f["field"].value == "symptom"
    )
    remove.submit("remove", status=303)
    page = admin.get(FORM + "publish")
    assert page.html.select('#changes [data-loss="yes"]')
    assert "1 change(s) lose data" in page.html.select_one("#data-loss").get_text()
    assert "symptom" in page.html.select_one('#changes [data-loss="yes"]').get_text()
    form = page.forms["form-publish"]
    res = form.submit("save", status=200)
    assert field_error(res, "form-publish", "confirm")
    assert admin.get("/api/v1/forms/bp_check").json["version"] == 1
    form = res.forms["form-publish"]
    form["confirm"].checked = True
    form.submit("save", status=303)
    assert admin.get("/api/v1/forms/bp_check").json["version"] == 2


def test_a_bad_xlsform_is_refused_by_sheet_and_row_and_nothing_is_imported(admin):
    workbook = openpyxl.Workbook()
    survey = workbook.active
    survey.title = "survey"
    survey.append(["type", "name", "label::中文 (zh)"])
    survey.append(["integer", "age", "年龄"])
    survey.append(["select_one nolist", "sex", "性别"])
    settings = workbook.create_sheet("settings")
    settings.append(["form_id", "form_title"])
    settings.append(["bad_import", "坏表"])
    data = io.BytesIO()
    workbook.save(data)
    page = admin.get(FORMS)
    form = page.forms["form-import"]
    form["upload"] = ("bad.xlsx", data.getvalue())
    res = form.submit("save", status=200)
    errors = res.html.select("#import-errors li")
    assert errors and "survey" in errors[0].get_text() and "3" in errors[0].get_text()
    assert "bad_import" not in admin.get(FORMS).text


def test_the_forms_admin_is_for_form_editors_only(testapp):
    login(testapp, "staff")
    assert 'data-nav="forms"' not in testapp.get("/").text
    testapp.get(FORMS, status=403)
    testapp.get(FORMS + "new", status=403)
    testapp.reset()
    login(testapp, "admin")
    assert 'data-nav="forms"' in testapp.get("/").text
    names = [row["data-form"] for row in testapp.get(FORMS).html.select("#forms tr[data-form]")]
    assert len(names) >= 10


def test_editing_a_published_form_starts_a_new_draft(admin):
    forms = admin.get(FORMS)
    row = forms.html.select("#forms tr[data-form]")[0]
    name = row["data-form"]
    assert not row.select(".badge")  # published, no draft
    url = f"{FORMS}{name}/"
    published = admin.get(f"/api/v1/forms/{name}").json
    form = admin.get(url + "settings").forms["form-settings"]
    form["title_en"] = "Renamed in the builder"
    form.submit("save", status=303)
    # A group with a field inside it, shown indented below the group.
    add_field(
        admin,
        status=303,
        url=url,
        name="extra_group",
        type="group",
        label_zh="附加",
        label_en="Extra",
    )
    add_field(
        admin,
        status=303,
        url=url,
        parent="extra_group",
        name="extra_note",
        type="text",
        label_zh="附注",
    )
    page = admin.get(url)
    assert page.html.select_one("#status").get_text().count(str(published["version"] + 1))
    inner = page.html.select_one('#fields tr[data-field="extra_note"] td')["style"]
    outer = page.html.select_one('#fields tr[data-field="extra_group"] td')["style"]
    assert inner != outer
    # The published version is untouched until the draft is published.
    assert admin.get(f"/api/v1/forms/{name}").json == published
    assert admin.get(FORMS).html.select_one(f'tr[data-form="{name}"] .badge')


# -- per-field settings ------------------------------------------------------------------------
def item_of(page, formid, name):
    """The deform item (label, input, error) of an input."""
    form = page.html.find("form", id=formid)
    return form.find(attrs={"name": name}).find_parent(
        "div", id=lambda v: v and v.startswith("item-")
    )


def shown(page, name):
    return "d-none" not in item_of(page, "form-field", name)["class"]


def field_values(admin, name):
    """What the edit form shows of a field's settings."""
    form = admin.get(FORM + f"edit-field?field={name}").forms["form-field"]
    return {key: form[key].value for key in form.fields if key not in ("csrf_token", "save")}


def add_record_fields(admin):
    """Fields for a resident ID number to agree with, and a repeat."""
    add_choice_list(admin, "sex", [("1", "男", "Male", False), ("2", "女", "Female", False)])
    add_field(admin, name="sex", type="select_one", label_zh="性别", choices="sex")
    add_field(admin, name="dob", type="date", label_zh="出生日期")
    add_field(admin, name="meds", type="group", label_zh="用药")


def test_each_setting_of_a_field_is_saved_and_shown_again(admin):
    create_form(admin)
    add_record_fields(admin)
    add_field(
        admin,
        name="idno",
        type="resident_id",
        label_zh="身份证号",
        sex_field="sex",
        birth_date_field="dob",
        required_if="${dob} != ''",
        required_message_zh="请填写身份证号",
        required_message_en="Enter the ID number",
    )
    add_field(
        admin, name="visits", type="integer", label_zh="次数", default="3", read_only=True, max="9"
    )
    add_field(
        admin, name="ok", type="boolean", label_zh="同意", default="是"
    )  # Chinese yes is read as yes
    add_field(admin, name="entries", type="repeat", label_zh="记录", min_count="1", max_count="5")
    add_field(
        admin,
        parent="entries",
        name="photo",
        type="image",
        label_zh="照片",
        max_size="1.5",
        max_size_unit="MB",
        accept="image/jpeg , image/png",
    )
    add_field(
        admin,
        parent="entries",
        name="scan",
        type="file",
        label_zh="扫描件",
        max_size="300",
        max_size_unit="KB",
    )

    values = field_values(admin, "idno")
    assert (values["sex_field"], values["birth_date_field"]) == ("sex", "dob")
    assert values["required_if"] == "${dob} != ''"
    assert values["required_message_en"] == "Enter the ID number"
    values = field_values(admin, "visits")
    assert (values["default"], values["read_only"], values["max"]) == ("3", "true", "9")
    assert field_values(admin, "ok")["default"] == "yes"
    values = field_values(admin, "entries")
    assert (values["min_count"], values["max_count"]) == ("1", "5")
    values = field_values(admin, "photo")
    assert (values["max_size"], values["max_size_unit"]) == ("1.5", "MB")
    assert values["accept"] == "image/jpeg, image/png"
    values = field_values(admin, "scan")
    assert (values["max_size"], values["max_size_unit"]) == ("300", "KB")

    admin.get(FORM + "settings")  # the draft is complete enough to publish
    admin.get(FORM + "publish").forms["form-publish"].submit("save", status=303)
    fields = {}
    for f in admin.get("/api/v1/forms/bp_check").json["fields"]:
        fields[f["name"]] = f
        for child in f.get("children", []):
            fields[child["name"]] = child
    assert fields["idno"]["sex_field"] == "sex"
    assert fields["idno"]["required_message"] == {
        "zh": "请填写身份证号",
        "en": "Enter the ID number",
    }
    assert fields["visits"]["default"] == 3 and fields["visits"]["read_only"] is True
    assert fields["ok"]["default"] is True
    assert (fields["entries"]["min_count"], fields["entries"]["max_count"]) == (1, 5)
    assert fields["photo"]["max_size"] == 1536 * 1024
    assert fields["photo"]["accept"] == ["image/jpeg", "image/png"]
    assert fields["scan"]["max_size"] == 300 * 1024


def test_only_the_settings_of_the_fields_type_are_shown(admin):
    create_form(admin)
    add_record_fields(admin)
    page = admin.get(FORM + "add-field")
    assert shown(page, "default") and shown(page, "required_if") and shown(page, "read_only")
    for name in ("min", "decimals", "choices", "min_count", "sex_field", "max_size", "accept"):
        assert not shown(page, name), name
    # The page says which inputs go with which types, for builder.js to follow the type.
    conditional = json.loads(page.html.select_one("#builder-form")["data-conditional"])
    assert conditional["min_count"] == ["repeat"]
    assert conditional["max_size_unit"] == ["file", "image"]
    assert "label_zh" not in conditional and "relevant" not in conditional
    page = admin.get(FORM + "edit-field?field=meds")  # a group
    assert not shown(page, "default") and not shown(page, "required")
    assert shown(page, "relevant")
    # A resident ID number links to select_one fields for sex, date fields for birth dates.
    res = add_field(admin, status=200, name="idno", type="resident_id", label_zh="", sex_field="")
    assert shown(res, "sex_field") and shown(res, "birth_date_field") and not shown(res, "min")
    form = res.forms["form-field"]
    assert [value for value, *_ in form["sex_field"].options] == ["", "sex"]
    assert [value for value, *_ in form["birth_date_field"].options] == ["", "dob"]


def test_settings_left_from_another_type_are_cleared(admin):
    create_form(admin)
    add_field(admin, name="weight", type="decimal", label_zh="体重", min="1", decimals="1")
    form = admin.get(FORM + "edit-field?field=weight").forms["form-field"]
    form["type"] = "text"  # min and decimals are hidden now, but still sent
    form.submit("save", status=303)
    values = field_values(admin, "weight")
    assert (values["type"], values["min"], values["decimals"]) == ("text", "", "")


@pytest.mark.parametrize(
    ("values", "at", "expected"),
    [
        ({"type": "integer", "default": "abc"}, "default", "whole number"),
        ({"type": "integer", "default": "12", "max": "10"}, "default", "10"),
        ({"type": "decimal", "default": "1.234", "decimals": "2"}, "default", "2"),
        ({"type": "select_one", "choices": "sex", "default": "3"}, "default", "3"),
        ({"type": "select_multiple", "choices": "sex", "default": "1 9"}, "default", "9"),
        ({"type": "boolean", "default": "maybe"}, "default", None),
        ({"type": "date", "default": "2026-02-30"}, "default", None),
        ({"type": "text", "required_if": "${nowhere} = 1"}, "required_if", "nowhere"),
        ({"type": "repeat", "min_count": "3", "max_count": "2"}, "min_count", None),
        ({"type": "repeat", "min_count": "-1"}, "min_count", None),
        ({"type": "image", "max_size": "0"}, "max_size", None),
        ({"type": "image", "max_size": "many"}, "max_size", None),
        ({"type": "file", "accept": "pdf"}, "accept", "pdf"),
        ({"type": "resident_id", "sex_field": "dob"}, "sex_field", "dob"),
    ],
)
def test_a_bad_setting_is_refused_at_its_input_with_everything_kept(admin, values, at, expected):
    create_form(admin)
    add_record_fields(admin)
    page = admin.get(FORM + "add-field")
    form = page.forms["form-field"]
    if "sex_field" in values:  # not an option of the list: post it as a tampered page would
        form["sex_field"].force_value(values.pop("sex_field"))
    for key, value in {"name": "checked", "label_zh": "检查", "hint_en": "typed", **values}.items():
        form[key] = value
    res = form.submit("save", status=200)
    error = field_error(res, "form-field", at)
    assert error, res.html.select_one("#builder-form").get_text(" ", strip=True)
    if expected:
        assert expected in error
    kept = res.forms["form-field"]
    for key, value in {"name": "checked", "hint_en": "typed", **values}.items():
        assert kept[key].value == value, key
    assert shown(res, at)
    assert "checked" not in [r["data-field"] for r in admin.get(FORM).html.select("tr[data-field]")]


def test_errors_are_in_the_users_language(testapp):
    login(testapp, "admin")  # Chinese, the default
    create_form(testapp)
    res = add_field(testapp, status=200, name="n", type="integer", label_zh="数", default="abc")
    assert "整数" in field_error(res, "form-field", "default")
    res = add_field(testapp, status=200, name="f", type="image", label_zh="图", max_size="x")
    error = field_error(res, "form-field", "max_size")
    assert error and not re.search("[A-Za-z]{3}", error.replace("x", "")), error


# -- moving fields ----------------------------------------------------------------------------
def move_form(page, name):
    """The "move to" form of a field's row."""
    return next(
        f
        for f in page.forms.values()
        if "parent" in f.fields and f.fields.get("move") and f["field"].value == name
    )


def post_move(admin, status=303, **values):
    data = {"csrf_token": csrf_token(admin), **values}
    return admin.post(FORM + "move-field", data, status=status)


def build_grouped_form(admin):
    create_form(admin)
    add_field(admin, name="a", type="integer", label_zh="甲")
    add_field(admin, name="b", type="integer", label_zh="乙")
    add_field(admin, name="g", type="group", label_zh="组")
    add_field(admin, name="r", type="repeat", label_zh="重复")
    add_field(admin, name="c", type="integer", label_zh="丙")


def test_a_field_moves_into_and_out_of_a_group(admin):
    build_grouped_form(admin)
    page = admin.get(FORM)
    # Without scripts: the "move to" list of a top-level field offers the groups only.
    form = move_form(page, "a")
    assert [value for value, *_ in form["parent"].options] == ["g", "r"]
    form["parent"] = "g"
    form.submit("move", status=303)
    page = admin.get(FORM)
    assert field_order(page) == ["b", "g", "a", "r", "c"]
    assert page.html.select_one('tr[data-field="a"]')["data-parent"] == "g"
    # A group's own list leaves out itself; a field in a group may go back to the top.
    assert "g" not in [v for v, *_ in move_form(page, "g")["parent"].options]
    assert [v for v, *_ in move_form(page, "a")["parent"].options] == ["", "r"]
    # As builder.js sends a drop: before a given field of the group, or at the top level.
    post_move(admin, field="c", parent="g", before="a")
    assert field_order(admin.get(FORM)) == ["b", "g", "c", "a", "r"]
    post_move(admin, field="a", parent="", before="b")
    assert field_order(admin.get(FORM)) == ["a", "b", "g", "c", "r"]
    # The whole group moves, with what is inside it, into the repeat.
    post_move(admin, field="g", parent="r", before="")
    page = admin.get(FORM)
    assert field_order(page) == ["a", "b", "r", "g", "c"]
    assert page.html.select_one('tr[data-field="c"]')["data-path"] == "r g"
    # Up and down stay among the siblings.
    page = admin.get(FORM)
    up = next(
        f for f in page.forms.values()
        if f.action.endswith("move-field") and "direction" in f.fields and f["field"].value == "b"
    )  # fmt: skip
    up.submit("direction", value="up", status=303)
    assert field_order(admin.get(FORM)) == ["b", "a", "r", "g", "c"]
    actions = [
        e.detail for e in audit_events(admin, "form.edit") if e.detail["action"] == "move_field"
    ]
    assert actions[0] == {
        "action": "move_field", "version": 1, "field": "a", "parent": "g", "before": ""
    }  # fmt: skip
    assert len(actions) == 5


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"field": "g", "parent": "g"}, "inside itself"),
        ({"field": "a", "parent": "b"}, "group or a repeat"),
        ({"field": "a", "parent": "nowhere"}, "group or a repeat"),
        ({"field": "a", "parent": "g", "before": "b"}, "no longer"),
    ],
)
def test_an_impossible_move_is_refused(admin, values, expected):
    build_grouped_form(admin)
    post_move(admin, field="r", parent="g")  # g holds r
    before = field_order(admin.get(FORM))
    if values["field"] == "g":
        values["parent"] = "r"  # into a repeat inside it
    res = post_move(admin, status=200, **values)
    assert expected in res.html.select_one("#move-errors").get_text()
    assert field_order(admin.get(FORM)) == before


def test_a_move_that_breaks_an_expression_is_refused_with_its_problem(admin):
    build_grouped_form(admin)
    form = admin.get(FORM + "edit-field?field=c").forms["form-field"]
    form["relevant"] = "${a} > 1"
    form.submit("save", status=303)
    # Into the repeat, a has a value in each entry: c, outside, can no longer read it.
    res = post_move(admin, status=200, field="a", parent="r")
    errors = res.html.select_one("#move-errors").get_text(" ", strip=True)
    assert "c" in errors and "“a”" in errors and "“r”" in errors
    assert field_order(admin.get(FORM)) == ["a", "b", "g", "r", "c"]
    # c moves in with it: both in the same repeat, that works.
    post_move(admin, field="c", parent="r")
    post_move(admin, field="a", parent="r", before="c")
    assert field_order(admin.get(FORM)) == ["b", "g", "r", "a", "c"]


def test_moving_needs_the_csrf_token_and_the_right(admin, testapp):
    build_grouped_form(admin)
    admin.post(FORM + "move-field", {"field": "a", "parent": "g"}, status=400)
    admin.post(
        FORM + "move-field", {"field": "a", "parent": "g", "csrf_token": "forged"}, status=400
    )
    assert field_order(admin.get(FORM)) == ["a", "b", "g", "r", "c"]
    post_move(admin, status=400, field="a")  # neither a direction nor a place
    testapp.reset()
    login(testapp, "staff")
    token = csrf_token(testapp)
    testapp.post(
        FORM + "move-field", {"field": "a", "parent": "g", "csrf_token": token}, status=403
    )


def test_the_preview_fills_defaults_fixes_read_only_fields_and_carries_required_if(admin):
    create_form(admin)
    add_field(admin, name="weight", type="decimal", label_zh="体重", default="60.5")
    add_field(admin, name="height", type="integer", label_zh="身高", default="170", read_only=True)
    add_field(admin, name="smoker", type="boolean", label_zh="吸烟", default="no")
    add_field(
        admin, name="cigarettes", type="integer", label_zh="日吸烟量", required_if="${smoker}"
    )
    preview = admin.get(FORM + "preview")
    form = preview.forms["form-preview"]
    assert form["weight"].value == "60.5"
    assert form["height"].value == "170" and "readonly" in form["height"].attrs
    smoker = preview.html.select_one("[data-field='smoker']")["name"]  # radios: deform's id
    assert form[smoker].value == "false"
    assert form["cigarettes"].attrs["data-required-if"] == "${smoker}"
    res = form.submit("submit", status=200)
    assert res.html.select("#preview-valid")
    # The accepted answers are shown again, to go on trying: a smoker must say how many.
    form = res.forms["form-preview"]
    assert form["height"].value == "170"
    form[smoker] = "true"
    res = form.submit("submit", status=200)
    assert not res.html.select("#preview-valid")
    assert field_error(res, "form-preview", "cigarettes")


def test_field_types_are_offered_in_words_with_their_xlsform_codes(testapp):
    login(testapp, "admin")
    page = testapp.get("/forms/personal_info/add-field")
    offered = {o["value"]: o.get_text() for o in page.html.select('select[name="type"] option')}
    assert offered["image"] == "图片（image）"
    assert offered["resident_id"] == "居民身份证号（resident_id）"
    assert len(offered) == len(FIELD_TYPES)
    testapp.set_cookie("_LOCALE_", "en")
    page = testapp.get("/forms/personal_info/add-field")
    offered = {o["value"]: o.get_text() for o in page.html.select('select[name="type"] option')}
    assert offered["select_multiple"] == "Several choices (select_multiple)"


def test_every_published_version_can_be_downloaded_as_xlsform(admin, tokens):
    page = admin.get("/forms/hypertension_followup/")
    links = [a["href"] for a in page.html.select("#versions a")]
    assert len(links) == 1 and links[0].endswith("/xlsform?version=1")
    book = openpyxl.load_workbook(io.BytesIO(admin.get(links[0]).body))
    assert {"survey", "choices", "settings"} <= set(book.sheetnames)
    # A second version (the same file imported again and published): both are listed,
    # newest first, each its own file.
    upload = [("file", "h.xlsx", admin.get(links[0]).body)]
    admin.post("/api/v1/forms", upload_files=upload, headers=tokens["admin"], status=201)
    admin.post("/api/v1/forms/hypertension_followup/publish", headers=tokens["admin"])
    page = admin.get("/forms/hypertension_followup/")
    links = [a["href"] for a in page.html.select("#versions a")]
    assert [link.rsplit("=", 1)[1] for link in links] == ["2", "1"]
    assert admin.get(links[1]).headers["Content-Disposition"].endswith('-v1.xlsx"')
