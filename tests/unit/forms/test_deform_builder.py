"""forms.deform_builder: definitions as colander schemas and deform forms; what a browser sends
back checked by FormValidator, its errors shown at their fields with what was typed."""

import datetime
import io
import json
from types import SimpleNamespace

import bs4
import colander
import deform
import pytest
from webtest.forms import File, Form

from forms.deform_builder import (
    RADIO_MAX_CHOICES,
    FormRunner,
    MemoryTmpStore,
    UploadRefused,
    apply_errors,
    build_schema,
    flatten,
    unflatten,
)
from forms.messages import Message
from forms.model import Choice, Field, FormDefinition, Text
from forms.validation import FormValidator
from tests.unit.forms.samples import every_feature_form, valid_data

TODAY = datetime.date(2026, 6, 1)
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
PDF = b"%PDF-1.7\n" + b"x" * 100


# -- helpers ----------------------------------------------------------------------------
def one_field(field, *others, **lists):
    return FormDefinition("f", fields=[field, *others], choice_lists=lists)


def node(schema, name):
    """The schema node of a field, looking into groups and repeats."""
    for child in schema.children:
        if child.name == name:
            return child
        found = node(child, name)
        if found is not None:
            return found
    return None


def widget(definition, name, language="zh"):
    return node(build_schema(definition, language, MemoryTmpStore()), name).widget


def soup(html):
    return bs4.BeautifulSoup(html, "html.parser")


def item(html, name):
    """The item (label, input, messages) of the field whose control has data-field=name."""
    control = soup(html).find(attrs={"data-field": name})
    return (
        control
        if "form-item" in control.get("class", [])
        else control.find_parent(class_="form-item")
    )


def controls(html, uploads=None):
    """What a browser sends for the rendered form as it stands (webtest reads it like one); a
    file input sends nothing unless `uploads` gives (filename, content) for its field."""
    page = soup(html)
    form = Form(SimpleNamespace(html=page), html)
    uploads = uploads or {}
    result = []
    for name, value in form.submit_fields("submit"):
        if isinstance(value, File):
            control = page.find(id=value.id)
            upload = uploads.get(control["data-field"])
            # An empty file input: webob gives b"" for its part.
            value = b"" if upload is None else _field_storage(*upload)
        result.append((name, value))
    return result


def _field_storage(filename, content):
    # What webob hands deform for an uploaded file: a cgi.FieldStorage look-alike.
    return SimpleNamespace(
        file=io.BytesIO(content), filename=filename, type="application/octet-stream", length=-1
    )


def submit(runner, data, uploads=None):
    """Render `data` as typed (strings are shown as they are), send it back, validate."""
    return runner.validate(controls(runner.render(data), uploads), today=TODAY)


@pytest.fixture
def runner():
    return FormRunner(every_feature_form(), "zh")


def sample_without_attachments():
    data = valid_data()
    del data["photo"]
    return data


# -- schema and widgets, type by type ---------------------------------------------------
def test_labels_and_hints_in_the_language():
    definition = every_feature_form()
    for language, label, hint in (
        ("zh", "姓名", "与身份证一致"),
        ("en", "Name", "As on the ID card"),
    ):
        name = node(build_schema(definition, language), "name")
        assert (name.title, name.description) == (label, hint)
    html = FormRunner(definition, "en").render()
    assert "Vital signs" in html and "体征" not in html


def test_every_widget_carries_what_the_runtime_needs():
    html = FormRunner(every_feature_form()).render(valid_data())  # with entries in the repeat
    page = soup(html)
    definition = every_feature_form()
    for f in definition.iter_fields():
        found = page.find_all(attrs={"data-field": f.name})
        assert found, f.name
        assert {e["data-type"] for e in found} == {f.type}
    dbp = page.find(attrs={"data-field": "dbp"})
    assert dbp["data-constraint"] == ". < ${sbp}"
    assert dbp["data-constraint-msg"] == "舒张压应低于收缩压"
    assert dbp["data-required"] == "true"
    assert page.find(attrs={"data-field": "smoking"})["data-relevant"] == "${smokes}"
    assert page.find(attrs={"data-field": "bmi"})["data-calculation"].startswith("round(")
    assert page.find(attrs={"data-field": "id_number"})["data-required-if"] == "${sex} != '9'"
    # The server's own texts, for the browser to show.
    messages = json.loads(page.find(attrs={"data-field": "sbp"})["data-messages"])
    assert messages["too_large"] == Message("validation.too_large", {"max": 300}).render("zh")
    assert messages["required"] == "此项为必填项。"
    assert json.loads(page.find(attrs={"data-field": "name"})["data-messages"]) == {
        "required": "请填写姓名"
    }


def test_text():
    w = widget(every_feature_form(), "name")
    assert isinstance(w, deform.widget.TextInputWidget)
    assert w.attributes["autocomplete"] == "off"  # personal information


@pytest.mark.parametrize(
    ("name", "step", "inputmode", "unit", "low", "high"),
    [
        ("sbp", "1", "numeric", "mmHg", "60", "300"),
        ("weight", "0.1", "decimal", "kg", "20", "250.5"),
        ("dose", "any", "decimal", "mg", "0", None),
    ],
)
def test_numbers(name, step, inputmode, unit, low, high):
    w = widget(every_feature_form(), name)
    a = w.attributes
    assert (a["type"], a["step"], a["inputmode"]) == ("number", step, inputmode)
    assert (a.get("min"), a.get("max")) == (low, high)
    assert (a.get("data-min"), a.get("data-max")) == (low, high)
    assert w.input_append == unit
    html = FormRunner(every_feature_form()).render()
    assert item(html, "sbp").find(class_="input-group-text").text == "mmHg"


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("120", 120),
        ("120.0", 120),  # whole, as JavaScript sees it
        ("12.5", 12.5),
        (" ７０ ", 70),  # full-width digits from a Chinese input method
        ("1e3", 1000),
        ("-3", -3),
        ("abc", "abc"),  # left for FormValidator to refuse
        ("", colander.null),
        ("  ", colander.null),
    ],
)
def test_numbers_are_coerced_not_refused(typed, value):
    sbp = node(build_schema(every_feature_form()), "sbp")
    assert sbp.deserialize(typed) == value
    assert type(sbp.deserialize(typed)) is type(value)


def test_dates_are_iso_inputs():
    definition = every_feature_form()
    assert widget(definition, "visit_date").attributes["type"] == "date"
    assert widget(definition, "visited_at").attributes["type"] == "datetime-local"
    schema = build_schema(definition)
    assert node(schema, "visit_date").serialize(datetime.date(2026, 3, 1)) == "2026-03-01"
    assert node(schema, "visited_at").serialize("2026-03-01 09:30") == "2026-03-01T09:30"
    assert node(schema, "visit_date").deserialize("2026-03-01") == "2026-03-01"


def test_select_one_radio_when_short_select_when_long():
    short = [Choice(str(i), Text(f"选项{i}")) for i in range(RADIO_MAX_CHOICES)]
    long = [*short, Choice("x", Text("其他"))]
    definition = FormDefinition(
        "f",
        fields=[
            Field("a", "select_one", label=Text("甲"), choices="short"),
            Field("b", "select_one", label=Text("乙"), choices="long"),
        ],
        choice_lists={"short": short, "long": long},
    )
    assert isinstance(widget(definition, "a"), deform.widget.RadioChoiceWidget)
    select = widget(definition, "b")
    assert isinstance(select, deform.widget.SelectWidget)
    assert select.values[0] == ("", "请选择")
    assert select.values[-1] == ("x", "其他")
    html = FormRunner(definition).render()
    assert len(soup(html).find_all("input", attrs={"data-field": "a", "type": "radio"})) == 5
    # deform writes autofocus="False" on options, which browsers read as autofocus.
    assert 'autofocus="False"' not in html


def test_select_multiple_checkboxes_know_the_exclusive_options():
    w = widget(every_feature_form(), "symptoms")
    assert isinstance(w, deform.widget.CheckboxChoiceWidget)
    assert w.values == [("0", "无症状"), ("1", "头痛头晕"), ("2", "恶心呕吐")]
    assert w.attributes["data-exclusive"] == "0"
    symptoms = node(build_schema(every_feature_form()), "symptoms")
    assert symptoms.deserialize(("1", "2")) == ["1", "2"]
    assert symptoms.deserialize(()) is colander.null


def test_exclusive_option_with_others_is_refused_at_the_field(runner):
    data = {**sample_without_attachments(), "symptoms": ["0", "1"]}
    clean, html = submit(runner, data)
    assert clean is None
    symptoms = item(html, "symptoms")
    assert "选择“无症状”时不能再选择其他选项。" in symptoms.text  # named by its label
    assert [box["value"] for box in symptoms.find_all("input", checked=True)] == ["0", "1"]


@pytest.mark.parametrize(("language", "yes", "no"), [("zh", "是", "否"), ("en", "Yes", "No")])
def test_boolean_is_yes_or_no(language, yes, no):
    w = widget(every_feature_form(), "smokes", language)
    assert w.values == [("true", yes), ("false", no)]
    smokes = node(build_schema(every_feature_form()), "smokes")
    assert (smokes.deserialize("true"), smokes.deserialize("false")) == (True, False)
    assert smokes.serialize(False) == "false"


def test_resident_id_and_phone():
    definition = every_feature_form()
    id_number = widget(definition, "id_number").attributes
    assert (id_number["maxlength"], id_number["autocomplete"]) == ("18", "off")
    phone = widget(definition, "phone").attributes
    assert (phone["type"], phone["inputmode"]) == ("tel", "tel")


def test_note_shows_text_and_holds_no_data(runner):
    note = item(runner.render(), "note_diet")
    assert note.text.strip() == "请指导低盐饮食"
    assert note.find("input") is None
    clean, _ = submit(runner, sample_without_attachments())
    assert "note_diet" not in clean


def test_calculations_are_read_only_and_recomputed(runner):
    bmi = widget(every_feature_form(), "bmi").attributes
    assert bmi["readonly"] == "readonly"
    risk = item(runner.render(), "risk")
    assert "form-item-hidden" in risk["class"]  # a calculate without a label: nothing to read
    assert risk.find("input")["type"] == "hidden"
    labelled = one_field(
        Field("total", "calculate", label=Text("总分"), calculation="1 + 2"),
    )
    shown = item(FormRunner(labelled).render(), "total")
    assert shown.find("input")["readonly"] == "readonly"
    assert "form-item-hidden" not in shown["class"]
    # What the browser computed is never trusted.
    data = {**sample_without_attachments(), "bmi": "99", "risk": "low"}
    clean, _ = submit(runner, data)
    assert (clean["bmi"], clean["risk"]) == (23.6, "high")


def test_uploads_need_a_tmpstore_bound_per_request():
    schema = build_schema(every_feature_form())
    photo = node(schema, "photo")
    assert isinstance(photo.widget, colander.deferred)
    store = MemoryTmpStore()
    bound = node(schema.bind(tmpstore=store), "photo").widget
    assert isinstance(bound, deform.widget.FileUploadWidget)
    assert bound.tmpstore is store
    assert bound.accept == "image/jpeg,image/png"
    image_any = one_field(Field("p", "image", label=Text("照片")))
    image_widget = node(build_schema(image_any, tmpstore=store), "p").widget
    assert image_widget.accept == "image/jpeg,image/png,image/gif,image/webp"


def test_uploads_checked_by_content_then_stored(runner):
    stored = []

    def store_upload(field, upload):
        stored.append((field.name, upload["filename"], upload["fp"].read()))
        return "blob-1"

    runner = FormRunner(every_feature_form(), store_upload=store_upload)
    data = sample_without_attachments()
    # A PDF is not an image, whatever its name says.
    clean, html = submit(runner, data, {"photo": ("photo.png", PDF)})
    assert clean is None
    assert "此文件不是图片，请选择 JPEG、PNG、GIF 或 WebP 格式的图片。" in item(html, "photo").text
    # A picture is not a PDF either.
    clean, html = submit(runner, data, {"report": ("r.pdf", PNG)})
    refused = item(html, "report").text
    assert "此处不接受 image/png 类型的文件（可接受：application/pdf）。" in refused
    assert stored == []
    clean, html = submit(runner, data, {"photo": ("photo.png", PNG), "report": ("r.pdf", PDF)})
    assert html is None, html
    assert (clean["photo"], clean["report"]) == ("blob-1", "blob-1")
    assert stored == [("photo", "photo.png", PNG), ("report", "r.pdf", PDF)]


def test_upload_too_large():
    definition = one_field(Field("p", "file", label=Text("文件"), max_size=1024))
    clean, html = submit(FormRunner(definition), {}, {"p": ("a.bin", b"x" * 1536)})
    assert "文件大小为 1.5 KB，此处最大允许 1 KB。" in item(html, "p").text


def test_an_upload_kept_through_a_failed_validation_is_not_sent_again(runner):
    data = {**sample_without_attachments(), "sbp": "350"}
    clean, html = submit(runner, data, {"photo": ("photo.png", PNG)})
    assert clean is None
    photo = item(html, "photo")
    assert "当前文件：photo.png" in photo.text
    uid = photo.find("input", attrs={"name": "uid"})["value"]
    # The browser sends the uid only (the file input is empty); the tmpstore holds the file.
    sent = [(name, "151" if name == "sbp" else value) for name, value in controls(html)]
    clean, html = runner.validate(sent, today=TODAY)
    assert html is None, html
    assert clean["photo"] == uid


def test_a_new_file_gets_a_new_unguessable_uid_whatever_the_page_sent(runner):
    data = {**sample_without_attachments(), "sbp": "350"}
    store = MemoryTmpStore(victim={"uid": "victim", "filename": "theirs.png", "fp": None})
    runner = FormRunner(every_feature_form(), tmpstore=store)
    sent = []
    for name, value in controls(runner.render(data), {"photo": ("mine.png", PNG)}):
        sent.append((name, value))
        if getattr(value, "filename", None) == "mine.png":
            sent.append(("uid", "victim"))  # a tampered page names someone else's upload
    clean, html = runner.validate(sent, today=TODAY)
    uid = item(html, "photo").find("input", attrs={"name": "uid"})["value"]
    assert uid != "victim" and len(uid) == 32 and int(uid, 16) >= 0
    assert store["victim"]["filename"] == "theirs.png"  # not replaced
    assert store[uid]["filename"] == "mine.png"


class RefusingStore(MemoryTmpStore):
    def __setitem__(self, uid, value):
        raise UploadRefused(Message("validation.not_an_image"))


def test_a_file_the_store_refuses_is_reported_at_its_field_and_not_kept():
    runner = FormRunner(every_feature_form(), "en", tmpstore=RefusingStore())
    data = sample_without_attachments()
    clean, html = submit(runner, data, {"photo": ("a.png", PNG)})
    assert clean is None
    photo = item(html, "photo")
    assert "This file is not a picture" in photo.text
    assert photo.find("input", attrs={"name": "uid"}) is None
    # What was typed elsewhere is still there.
    assert soup(html).find(attrs={"data-field": "sbp"})["value"] == str(data["sbp"])


def test_a_reference_is_named_as_the_tmpstore_knows_it():
    store = MemoryTmpStore()
    store["attachment-1"] = {"uid": "attachment-1", "filename": "血压计.png", "fp": None}
    runner = FormRunner(every_feature_form(), tmpstore=store)
    photo = item(runner.render(valid_data()), "photo")
    assert "当前文件：血压计.png" in photo.text
    assert photo.find("input", attrs={"name": "uid"})["value"] == "attachment-1"


def test_a_stored_reference_is_shown_and_kept(runner):
    data = valid_data()  # photo: "attachment-1"
    html = runner.render(data)
    photo = item(html, "photo")
    assert photo.find("input", attrs={"name": "uid"})["value"] == "attachment-1"
    clean, page = runner.validate(controls(html), today=TODAY)
    assert page is None
    assert clean["photo"] == "attachment-1"


# -- flat data ----------------------------------------------------------------------------
def test_flatten_unflatten_round_trip():
    definition = every_feature_form()
    data = valid_data()
    nested = unflatten(definition, data)
    assert nested["vitals"]["sbp"] == 150
    assert nested["smoking"] == {"cigarettes": 10}
    assert "sbp" not in nested and "note_diet" not in nested
    assert nested["meds"][1] == {"drug": "氢氯噻嗪", "dose": 12.5}
    assert flatten(definition, nested) == data


def test_unflatten_leaves_absent_fields_empty_not_defaulted(runner):
    nested = unflatten(every_feature_form(), {"name": "王秀英"})
    assert nested["visit_date"] is None and nested["meds"] == []
    html = runner.render({"name": "王秀英"})
    assert item(html, "visit_date").find("input")["value"] == ""
    assert item(runner.render(), "visit_date").find("input")["value"] == "2026-01-01"


def test_what_is_rendered_comes_back_as_the_same_data(runner):
    data = sample_without_attachments()
    clean, html = submit(runner, data)
    assert html is None, html
    expected, errors = FormValidator(every_feature_form()).validate(data, TODAY)
    assert errors == {}
    assert clean == expected


def test_groups_are_sections_but_the_data_is_flat(runner):
    html = runner.render()
    vitals = soup(html).find("fieldset", attrs={"data-field": "vitals"})
    assert vitals.legend.text == "体征"
    assert {e["data-field"] for e in vitals.find_all("input", attrs={"data-field": True})} == {
        "sbp",
        "dbp",
        "weight",
        "height",
        "bmi",
    }
    clean, _ = submit(runner, sample_without_attachments())
    assert clean["sbp"] == 150 and "vitals" not in clean


def test_values_of_hidden_sections_are_dropped(runner):
    data = {**sample_without_attachments(), "smokes": False, "cigarettes": 10}
    clean, html = submit(runner, data)
    assert html is None
    assert "cigarettes" not in clean


# -- errors at their fields ------------------------------------------------------------
def test_errors_show_at_their_fields_with_everything_typed(runner):
    data = {
        **sample_without_attachments(),
        "name": "",
        "sbp": "150",
        "dbp": "160",
        "weight": "300",
        "height": "abc",
        "phone": "12345",
    }
    clean, html = submit(runner, data)
    assert clean is None
    expected = {
        "name": "请填写姓名",
        "dbp": "舒张压应低于收缩压",
        "weight": "数值不能大于 250.5。",
        "height": "请输入数字。",
        "phone": "请输入 11 位手机号码",
    }
    for name, message in expected.items():
        shown = item(html, name).find_all(class_="invalid-feedback")
        assert len(shown) == 1 and message in shown[0].text, name
    typed = {"sbp": "150", "dbp": "160", "weight": "300", "height": "abc", "phone": "12345"}
    for name, value in typed.items():
        assert item(html, name).find("input")["value"] == value
    assert item(html, "weight").find("input")["class"] == ["form-control", "is-invalid"]
    # Fields without problems show none.
    assert item(html, "sbp").find(class_="invalid-feedback") is None
    assert "提交的内容有误" in soup(html).find(class_="alert-danger").text


def test_errors_inside_repeats_show_at_the_entry(runner):
    data = {
        **sample_without_attachments(),
        "meds": [{"drug": "氨氯地平", "dose": 5}, {"dose": "-1"}, {"drug": "阿司匹林"}],
    }
    clean, html = submit(runner, data)
    assert clean is None
    entries = soup(html).find_all(class_="deform-seq-item")
    assert len(entries) == 3
    second = entries[1]
    dose = second.find(attrs={"data-field": "dose"}).find_parent(class_="form-item")
    drug = second.find(attrs={"data-field": "drug"}).find_parent(class_="form-item")
    assert "数值不能小于 0。" in dose.text
    assert dose.find("input")["value"] == "-1"
    assert "此项为必填项。" in drug.text
    assert entries[0].find(class_="invalid-feedback") is None
    assert entries[2].find(class_="invalid-feedback") is None
    assert entries[2].find(attrs={"data-field": "drug"})["value"] == "阿司匹林"


def test_apply_errors_places_what_it_can_and_tells_the_rest(runner):
    form = runner.form()
    form.validate(controls(runner.render(sample_without_attachments())))
    apply_errors(
        form,
        {
            "sbp": Message("validation.too_large", {"max": 300}),
            "meds.1.dose": "剂量有误",
            "meds.7.dose": Message("validation.too_small", {"min": 0}),
            "nowhere": Message("validation.unknown_field", {"name": "nowhere"}),
        },
        "en",
    )
    html = form.render()
    assert "The value must be at most 300." in item(html, "sbp").text
    second = soup(html).find_all(class_="deform-seq-item")[1]
    assert "剂量有误" in second.text
    # An entry that isn't there: at the repeat; an unknown field: at the top.
    assert "The value must be at least 0." in soup(html).find(class_="form-repeat").parent.text
    assert "There is no field named “nowhere”" in soup(html).find(class_="alert-danger").text


# -- repeats ---------------------------------------------------------------------------
def repeat_form(min_count=None, max_count=None):
    return one_field(
        Field(
            "visits",
            "repeat",
            label=Text("随访", "Visits"),
            min_count=min_count,
            max_count=max_count,
            children=[
                Field("day", "date", label=Text("日期", "Day"), required=True),
                Field("weeks", "integer", label=Text("孕周", "Weeks"), relevant="${day} != ''"),
            ],
        )
    )


def test_repeat_is_a_sequence_with_add_and_remove():
    definition = repeat_form(min_count=2, max_count=4)
    w = widget(definition, "visits")
    assert isinstance(w, deform.widget.SequenceWidget)
    assert (w.min_len, w.max_len) == (2, 4)
    html = FormRunner(definition).render()
    repeat = soup(html).find(class_="form-repeat")
    assert repeat["data-field"] == "visits"
    assert len(repeat.find_all(class_="deform-seq-item")) == 2  # the fewest, ready to fill
    assert "添加 随访" in repeat.find(class_="deform-seq-add").text
    assert repeat.find(class_="deform-insert-before")["max_len"] == "4"
    assert "Add Visits" in FormRunner(definition, "en").render()


def test_repeat_counts_are_checked_by_the_server():
    runner = FormRunner(repeat_form(min_count=2, max_count=3))
    rows = [{"day": f"2026-01-0{day}"} for day in range(1, 5)]
    clean, html = submit(runner, {"visits": rows})
    assert "最多只能填写 3 条。" in soup(html).find(class_="form-repeat").parent.text
    clean, html = submit(runner, {"visits": rows[:3]})
    assert html is None
    assert clean == {"visits": rows[:3]}
    # Fewer than the fewest: a browser without script sends what it has.
    html = runner.render({"visits": rows[:2]})
    page = soup(html)
    page.find_all(class_="deform-seq-item")[1].decompose()
    clean, html = runner.validate(controls(str(page)), today=TODAY)
    assert "至少需要填写 2 条。" in soup(html).find(class_="form-repeat").parent.text


def test_repeat_entries_flatten_in_order():
    definition = repeat_form()
    nested = {"visits": [{"day": "2026-01-01", "weeks": 12}, {"day": colander.null}]}
    assert flatten(definition, nested) == {"visits": [{"day": "2026-01-01", "weeks": 12}, {}]}
    assert flatten(definition, {"visits": []}) == {}


# -- rendering ----------------------------------------------------------------------------
def test_form_is_left_to_the_runtime(runner):
    form_tag = soup(runner.render()).find("form")
    assert "form-runtime" in form_tag["class"]
    assert form_tag["novalidate"] == "novalidate"  # the browser must not refuse on its own
    assert form_tag.find("button", attrs={"name": "submit"}).text.strip() == "提交"
    assert 'required="required"' not in runner.render()


def test_form_takes_buttons_formid_and_renderer(runner):
    calls = []

    def renderer(template, **kw):
        calls.append(template)
        return deform.template.default_renderer(template, **kw)

    buttons = (deform.Button("save", "保存草稿", attributes={"formnovalidate": ""}),)
    form = runner.form(buttons=buttons, formid="entry", renderer=renderer)
    html = form.render()
    page = soup(html)
    assert page.find("form")["id"] == "entry"
    assert page.find("button", attrs={"name": "save"}).has_attr("formnovalidate")
    assert "form" in calls


def test_definition_without_language_falls_back():
    definition = one_field(Field("a", "text", label=Text(en="Only English")))
    assert item(FormRunner(definition, "zh").render(), "a").label.text == "Only English"


def test_controls_that_are_not_the_forms_are_refused(runner):
    clean, html = runner.validate([("__start__", "meds:sequence")], today=TODAY)
    assert clean is None
    assert "alert-danger" in html
