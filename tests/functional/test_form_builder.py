"""The form builder's pages: an admin creates a form, adds fields (a select with its choice
list, a calculation), is refused a bad expression at its field with what was typed kept,
reorders, previews, publishes; a data-losing change needs confirming; others get 403."""

import io

import openpyxl
import pytest
from sqlalchemy import select

from portal import models
from tests.conftest import login

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
    return res.follow()


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
