"""forms/static/runtime.js in headless Chromium, on forms rendered by forms.deform_builder:
skip logic, live calculations, messages at the field, exclusive options and repeats; and
what the browser sends is what FormRunner accepts, with the same data the runtime computed.

No portal and no network: Playwright answers the page's requests itself, with the rendered
form, deform's static files and ours from the file system, and hands posted forms to
FormRunner.validate as a Pyramid view would."""

import datetime
import mimetypes
from pathlib import Path

import deform
import pytest
import webob

import forms
from forms.deform_builder import FormRunner
from forms.model import Choice, Field, FormDefinition, Text
from tests.unit.forms.samples import every_feature_form

pytestmark = pytest.mark.browser

ORIGIN = "http://forms.test"
STATIC = {
    "/deform/": Path(deform.__file__).with_name("static"),
    "/forms/": Path(forms.__file__).with_name("static"),
}
TODAY = datetime.date(2026, 6, 1)

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>form</title>
<link rel="stylesheet" href="/deform/css/bootstrap.min.css">
<link rel="stylesheet" href="/deform/css/bootstrap-icons.min.css">
<link rel="stylesheet" href="/deform/css/form.css">
<link rel="stylesheet" href="/forms/forms.css">
<script src="/deform/scripts/jquery-2.0.3.min.js"></script>
<script src="/deform/scripts/deform.js"></script>
<script src="/forms/expressions.js"></script>
<script src="/forms/runtime.js"></script>
</head><body><main class="container py-4">{form}</main></body></html>"""


class FormSite:
    """The form's page at ORIGIN: GET renders it, POST validates it. `accepted` collects the
    clean data of every accepted submission."""

    def __init__(self, definition, context):
        self.runner = FormRunner(definition, "zh")
        self.accepted = []
        context.route(ORIGIN + "/**", self.handle)

    def handle(self, route, request):
        path = request.url[len(ORIGIN) :].split("?")[0]
        for prefix, directory in STATIC.items():
            if path.startswith(prefix):
                file = directory / path[len(prefix) :]
                kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                return route.fulfill(body=file.read_bytes(), content_type=kind)
        if request.method == "POST":
            post = webob.Request.blank(
                "/",
                method="POST",
                body=request.post_data_buffer,
                content_type=request.headers["content-type"],
            ).POST
            clean, html = self.runner.validate(post.items(), today=TODAY)
            if clean is not None:
                self.accepted.append(clean)
                html = "<p id='accepted'>accepted</p>"
        else:
            html = self.runner.render()
        return route.fulfill(body=PAGE.format(form=html), content_type="text/html; charset=utf-8")


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="zh-CN")
    context.set_default_timeout(10_000)
    yield context
    context.close()


def open_form(context, definition):
    site = FormSite(definition, context)
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda r: page.problems.append(f"failed: {r.url}"))
    page.goto(ORIGIN + "/")
    page.wait_for_function("window.FormRuntime && window.deform_loaded")
    return page, site


@pytest.fixture
def sample(context):
    page, site = open_form(context, every_feature_form())
    yield page, site
    assert page.problems == []


# The nearest element with the class form-item, the element itself included.
ITEM = "xpath=ancestor-or-self::*[contains(concat(' ', @class, ' '), ' form-item ')][1]"


def item(page, name, within=None):
    """A field's item: its label, controls and messages."""
    return control(page, name, within=within).locator(ITEM)


def control(page, name, value=None, within=None):
    scope = within or page
    if value is None:
        return scope.locator(f"[data-field='{name}']").first
    return scope.locator(f"[data-field='{name}'][value='{value}']")


def data(page):
    return page.evaluate("FormRuntime.data(document.forms[0])")


def feedback(page, name, within=None):
    return item(page, name, within).locator(".invalid-feedback")


# -- skip logic ---------------------------------------------------------------------------
def test_skip_logic_hides_and_shows_keeping_what_was_typed(sample):
    page, site = sample
    cigarettes = control(page, "cigarettes")
    smoking = page.locator("fieldset[data-field='smoking']")
    # 吸烟 defaults to 否: the section is hidden and its input sends nothing.
    assert smoking.is_hidden()
    assert cigarettes.is_disabled()
    control(page, "smokes", "true").check()
    assert smoking.is_visible() and cigarettes.is_enabled()
    cigarettes.fill("10")
    assert data(page)["cigarettes"] == 10
    control(page, "smokes", "false").check()
    assert smoking.is_hidden() and cigarettes.is_disabled()
    assert "cigarettes" not in data(page)
    assert cigarettes.input_value() == "10"  # still in the page
    control(page, "smokes", "true").check()
    assert cigarettes.is_visible() and cigarettes.input_value() == "10"
    assert data(page)["cigarettes"] == 10


def test_required_if_marks_the_field(sample):
    page, _ = sample
    id_number = item(page, "id_number")
    # ${sex} != '9': empty is not '9', so required until 9 is chosen.
    assert "form-required" in id_number.get_attribute("class")
    control(page, "sex", "9").check()
    assert "form-required" not in id_number.get_attribute("class")
    control(page, "sex", "2").check()
    assert "form-required" in id_number.get_attribute("class")


# -- calculations ----------------------------------------------------------------------
def test_bmi_is_computed_as_you_type(sample):
    page, _ = sample
    bmi = control(page, "bmi")
    assert bmi.input_value() == ""
    control(page, "weight").fill("60.5")
    control(page, "height").fill("160")
    assert bmi.input_value() == "23.6"
    control(page, "height").fill("175")
    assert bmi.input_value() == "19.8"
    control(page, "weight").fill("")
    assert bmi.input_value() == ""
    assert "bmi" not in data(page)
    control(page, "sbp").fill("150")
    assert data(page)["risk"] == "high"
    control(page, "sbp").fill("120")
    assert data(page)["risk"] == "normal"


# -- messages at the field -------------------------------------------------------------
def test_out_of_range_value_is_refused_at_the_field_when_left(sample):
    page, _ = sample
    sbp = control(page, "sbp")
    sbp.fill("350")
    assert feedback(page, "sbp").count() == 0  # not while typing
    sbp.press("Tab")
    assert feedback(page, "sbp").inner_text() == "数值不能大于 300。"
    assert "is-invalid" in sbp.get_attribute("class")
    sbp.fill("150")  # fixed: the message goes as soon as the value is right
    assert feedback(page, "sbp").count() == 0
    assert "is-invalid" not in sbp.get_attribute("class")


def test_constraint_message_follows_the_values_it_depends_on(sample):
    page, _ = sample
    control(page, "sbp").fill("150")
    dbp = control(page, "dbp")
    dbp.fill("160")
    dbp.blur()
    assert feedback(page, "dbp").inner_text() == "舒张压应低于收缩压"
    control(page, "sbp").fill("170")
    assert feedback(page, "dbp").count() == 0


# -- exclusive options -----------------------------------------------------------------
def test_exclusive_option_clears_the_others(sample):
    page, _ = sample
    assert data(page)["symptoms"] == ["0"]  # the default, 无症状
    control(page, "symptoms", "1").check()
    assert not control(page, "symptoms", "0").is_checked()
    control(page, "symptoms", "2").check()
    assert data(page)["symptoms"] == ["1", "2"]
    control(page, "symptoms", "0").check()
    assert data(page)["symptoms"] == ["0"]
    assert not control(page, "symptoms", "1").is_checked()
    assert not control(page, "symptoms", "2").is_checked()


# -- repeats ------------------------------------------------------------------------------
def medication_form():
    return FormDefinition(
        "meds",
        title=Text("用药"),
        fields=[
            # Depends on a calculation further down the page.
            Field(
                "interactions",
                "text",
                label=Text("药物相互作用"),
                relevant="${count} >= 2",
            ),
            Field(
                "meds",
                "repeat",
                label=Text("用药情况"),
                min_count=1,
                max_count=3,
                children=[
                    Field("drug", "text", label=Text("药物名称"), required=True),
                    Field("dose", "decimal", label=Text("每次剂量"), unit="mg", min=0),
                    Field("times", "integer", label=Text("每日次数"), min=1),
                    Field(
                        "daily",
                        "decimal",
                        label=Text("日剂量"),
                        unit="mg",
                        read_only=True,
                        calculation="${dose} * ${times}",
                    ),
                    Field(
                        "why",
                        "text",
                        label=Text("每日超过 3 次的原因"),
                        relevant="${times} > 3",
                    ),
                ],
            ),
            Field("count", "calculate", label=Text("药物种数"), calculation="count(${meds})"),
        ],
    )


def test_expressions_in_a_repeat_see_their_own_entry(context):
    page, site = open_form(context, medication_form())
    entries = page.locator(".deform-seq-item")
    assert entries.count() == 1  # min_count
    interactions = item(page, "interactions")
    assert interactions.is_hidden()
    add = page.locator(".deform-seq-add")
    add.click()
    assert interactions.is_visible()
    add.click()
    assert entries.count() == 3
    assert add.is_hidden()  # max_count
    first, second = entries.nth(0), entries.nth(1)
    control(page, "dose", within=first).fill("5")
    control(page, "times", within=first).fill("2")
    control(page, "dose", within=second).fill("12.5")
    control(page, "times", within=second).fill("4")
    assert control(page, "daily", within=first).input_value() == "10"
    assert control(page, "daily", within=second).input_value() == "50"
    assert item(page, "why", first).is_hidden()
    assert item(page, "why", second).is_visible()
    assert control(page, "count").input_value() == "3"
    entries.nth(2).locator(".deform-close-button").click()
    assert entries.count() == 2
    assert control(page, "count").input_value() == "2"
    assert add.is_visible()
    entries.nth(1).locator(".deform-close-button").click()
    assert interactions.is_hidden()
    add.click()
    second = entries.nth(1)
    control(page, "dose", within=second).fill("12.5")
    control(page, "times", within=second).fill("4")
    control(page, "drug", within=first).fill("氨氯地平")
    control(page, "drug", within=second).fill("氢氯噻嗪")
    control(page, "why", within=second).fill("遵医嘱")
    expected = {
        "meds": [
            {"drug": "氨氯地平", "dose": 5, "times": 2, "daily": 10},
            {"drug": "氢氯噻嗪", "dose": 12.5, "times": 4, "daily": 50, "why": "遵医嘱"},
        ],
        "count": 2,
    }
    assert data(page) == expected
    page.click("#deformsubmit")
    page.wait_for_selector("#accepted")
    assert site.accepted == [expected]
    assert page.problems == []


# -- the server has the last word --------------------------------------------------------
def fill_sample(page):
    page.fill("[data-field=visited_at]", "2026-03-01T09:30")
    page.fill("[data-field=name]", "王秀英")
    control(page, "sex", "2").check()
    page.fill("[data-field=dob]", "1949-12-31")
    page.fill("[data-field=id_number]", "11010519491231002X")
    page.fill("[data-field=phone]", "13812345678")
    control(page, "symptoms", "1").check()
    page.fill("[data-field=sbp]", "150")
    page.fill("[data-field=dbp]", "95")
    page.fill("[data-field=weight]", "60.5")
    page.fill("[data-field=height]", "160")
    control(page, "smokes", "true").check()
    page.fill("[data-field=cigarettes]", "10")
    page.click(".deform-seq-add")
    page.fill(".deform-seq-item [data-field=drug]", "氨氯地平")
    page.fill(".deform-seq-item [data-field=dose]", "5")


def test_what_the_browser_computes_is_what_the_server_keeps(sample):
    page, site = sample
    fill_sample(page)
    # Hide a section with something typed in it: it must not be sent.
    control(page, "smokes", "false").check()
    in_browser = data(page)
    page.click("#deformsubmit")
    page.wait_for_selector("#accepted")
    assert site.accepted == [in_browser]
    assert in_browser["bmi"] == 23.6 and "cigarettes" not in in_browser


def test_the_browser_stops_a_submission_the_server_would_refuse(sample):
    page, site = sample
    fill_sample(page)
    page.fill("[data-field=name]", "")
    page.fill("[data-field=sbp]", "350")
    page.click("#deformsubmit")
    assert page.evaluate("document.activeElement.dataset.field") == "name"
    assert feedback(page, "name").inner_text() == "请填写姓名"
    assert feedback(page, "sbp").inner_text() == "数值不能大于 300。"
    assert site.accepted == []
    assert page.locator("#accepted").count() == 0


def test_server_errors_show_at_the_field_with_everything_typed(sample, output_dir):
    page, site = sample
    fill_sample(page)
    # A check digit the browser doesn't check: the server refuses it.
    page.fill("[data-field=id_number]", "110105194912310021")
    page.click("#deformsubmit")
    page.wait_for_selector(".alert-danger")
    message = "身份证号校验码错误。"
    assert feedback(page, "id_number").inner_text() == message
    for name, typed in (("name", "王秀英"), ("sbp", "150"), ("weight", "60.5")):
        assert control(page, name).input_value() == typed
    assert control(page, "sex", "2").is_checked()
    assert page.locator(".deform-seq-item [data-field=drug]").input_value() == "氨氯地平"
    assert control(page, "bmi").input_value() == "23.6"  # computed again on load
    assert control(page, "cigarettes").is_visible()
    # The server's message stays while other fields change, and goes when its field does.
    control(page, "sbp").fill("151")
    assert feedback(page, "id_number").inner_text() == message
    page.screenshot(path=f"{output_dir}/form_runtime_server_errors.png", full_page=True)
    control(page, "id_number").fill("11010519491231002X")
    assert feedback(page, "id_number").count() == 0
    page.click("#deformsubmit")
    page.wait_for_selector("#accepted")
    assert site.accepted[0]["id_number"] == "11010519491231002X"
    assert site.accepted[0]["sbp"] == 151


def test_screenshot_of_a_form_being_filled(sample, output_dir):
    page, _ = sample
    page.fill("[data-field=name]", "王秀英")
    control(page, "smokes", "true").check()
    page.fill("[data-field=weight]", "60.5")
    page.fill("[data-field=height]", "160")
    page.fill("[data-field=sbp]", "150")
    page.fill("[data-field=dbp]", "160")
    control(page, "dbp").blur()
    page.click(".deform-seq-add")
    path = Path(output_dir) / "form_runtime.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


def test_read_only_fields_keep_their_defaults(context):
    definition = FormDefinition(
        "ro",
        fields=[
            Field("code", "text", label=Text("编号"), default="A1", read_only=True),
            Field("mode", "select_one", label=Text("方式"), choices="m", default="2",
                  read_only=True),
            Field("kinds", "select_multiple", label=Text("类别"), choices="m", default=["1"],
                  read_only=True),
            Field("free", "select_multiple", label=Text("其他"), choices="m"),
        ],
        choice_lists={"m": [Choice("1", Text("一")), Choice("2", Text("二"))]},
    )  # fmt: skip
    page, site = open_form(context, definition)
    control(page, "code").press_sequentially("x")
    control(page, "mode", "1").click(force=True)
    control(page, "kinds", "2").click()
    control(page, "kinds", "1").click()
    item(page, "kinds").locator("label", has_text="二").click()
    page.keyboard.press("Space")
    control(page, "free", "2").click()  # an ordinary checkbox still works
    assert data(page) == {"code": "A1", "mode": "2", "kinds": ["1"], "free": ["2"]}
    page.locator("button[type=submit]").click()
    page.locator("#accepted").wait_for()
    assert site.accepted == [{"code": "A1", "mode": "2", "kinds": ["1"], "free": ["2"]}]
    assert page.problems == []
