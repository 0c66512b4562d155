"""In a real browser: the system admin opens the form builder and types a field's
expressions; a bad one is flagged at once, before the form is sent."""

import os
import re

import pytest

from tests.browser.conftest import log_in
from tests.conftest import BACKEND

pytestmark = pytest.mark.browser


def test_an_expression_is_flagged_as_it_is_typed(page, output_dir):
    from playwright.sync_api import expect

    log_in(page, "admin")
    page.locator('[data-nav="forms"]').click()
    expect(page.locator("#forms tr[data-form]").first).to_be_visible()

    name = page.locator("#forms tr[data-form]").first.get_attribute("data-form")
    page.locator(f'#forms tr[data-form="{name}"] a').click()
    expect(page.locator("#fields tr[data-field]").first).to_be_visible()
    page.screenshot(
        path=os.path.join(output_dir, f"browser-{BACKEND}-form-builder-form.png"), full_page=True
    )
    page.locator("#add-field").click()
    page.locator('input[name="name"]').fill("check_me")
    page.locator('input[name="label_zh"]').fill("检查")
    relevant = page.locator('input[name="relevant"]')
    relevant.press_sequentially("${nowhere} > ")
    feedback = page.locator(".expression-feedback")
    expect(relevant).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(feedback).to_contain_text("不完整")  # incomplete, at character 14
    relevant.press_sequentially("1")
    expect(feedback).to_be_visible()
    expect(feedback).to_contain_text("nowhere")
    page.screenshot(
        path=os.path.join(output_dir, f"browser-{BACKEND}-form-builder-expression.png"),
        full_page=True,
    )

    # Corrected to a known field (the field's own name counts), the flag goes.
    relevant.fill("")
    relevant.press_sequentially("${check_me} != ''")
    expect(relevant).not_to_have_class(re.compile(r"\bis-invalid\b"))
    expect(feedback).to_be_hidden()

    # The preview runs the draft with the data-entry runtime, its scripts loading cleanly.
    page.goto(f"/forms/{name}/preview")
    expect(page.locator("#preview-form form.form-runtime")).to_be_visible()
    page.screenshot(
        path=os.path.join(output_dir, f"browser-{BACKEND}-form-builder-preview.png"),
        full_page=True,
    )
    assert page.problems == [], "requests failed or scripts broke on the way"


def order(page):
    return page.locator("#fields tr[data-field]").evaluate_all(
        "rows => rows.map(r => r.dataset.field + ':' + r.dataset.parent)"
    )


def add(page, form_url, name, field_type, label, parent=None, **values):
    page.goto(form_url + "add-field" + (f"?parent={parent}" if parent else ""))
    page.locator('input[name="name"]').fill(name)
    page.locator('select[name="type"]').select_option(field_type)
    page.locator('input[name="label_zh"]').fill(label)
    for key, value in values.items():
        control = page.locator(f'[name="{key}"]')
        if isinstance(value, bool):
            control.set_checked(value)
        else:
            control.fill(value)
    page.locator("#form-field button[name=save]").click()
    page.wait_for_url(form_url)


def test_the_admin_drags_fields_sets_defaults_and_previews_them(page, output_dir):
    from playwright.sync_api import expect

    log_in(page, "admin")
    page.goto("/forms/new")
    page.locator('input[name="name"]').fill("dnd_check")
    page.locator('input[name="title_zh"]').fill("拖放检查")
    page.locator('select[name="category"]').select_option("医疗")
    page.locator('input[type="checkbox"][value="station"]').check()
    page.locator("#form-new button[name=save]").click()
    page.wait_for_url("**/forms/dnd_check/")  # loaded, scripts too: nothing left to abort
    form_url = page.url

    # The settings that fit the type show as the type is chosen, without a round trip.
    page.goto(form_url + "add-field")
    type_select = page.locator('select[name="type"]')
    min_count = page.locator('input[name="min_count"]')
    default = page.locator('input[name="default"]')
    expect(min_count).to_be_hidden()
    expect(default).to_be_visible()
    type_select.select_option("repeat")
    expect(min_count).to_be_visible()
    expect(default).to_be_hidden()
    type_select.select_option("image")
    expect(page.locator('input[name="max_size"]')).to_be_visible()
    expect(page.locator('select[name="max_size_unit"]')).to_be_visible()
    expect(min_count).to_be_hidden()
    page.screenshot(
        path=os.path.join(output_dir, f"browser-{BACKEND}-form-builder-image-settings.png"),
        full_page=True,
    )

    add(page, form_url, "weight", "decimal", "体重", default="60.5", unit="kg")
    add(page, form_url, "height", "integer", "身高", default="170", read_only=True)
    add(page, form_url, "smoker", "boolean", "吸烟")
    add(page, form_url, "cigarettes", "integer", "日吸烟量", required_if="${smoker} = true()")
    add(page, form_url, "habits", "group", "生活习惯")
    expect(page.locator("#fields tr[data-field]")).to_have_count(5)
    assert order(page) == ["weight:", "height:", "smoker:", "cigarettes:", "habits:"]

    # Drag cigarettes by its handle onto the upper half of weight: it goes first.
    handle = page.locator('#fields tr[data-field="cigarettes"] .drag-handle')
    expect(handle).to_be_visible()
    handle.drag_to(
        page.locator('#fields tr[data-field="weight"]'), target_position={"x": 40, "y": 3}
    )
    page.wait_for_load_state()
    expect(page.locator("#fields tr[data-field]").first).to_have_attribute(
        "data-field", "cigarettes"
    )
    assert order(page) == ["cigarettes:", "weight:", "height:", "smoker:", "habits:"]
    page.wait_for_load_state("load")

    # Drag smoker onto the habits group: it goes inside, and then cigarettes after it.
    page.locator('#fields tr[data-field="smoker"] .drag-handle').drag_to(
        page.locator('#fields tr[data-field="habits"]')
    )
    expect(page.locator('#fields tr[data-field="smoker"]')).to_have_attribute(
        "data-parent", "habits"
    )
    page.wait_for_load_state("load")  # builder.js too, before the next drag navigates away
    page.locator('#fields tr[data-field="cigarettes"] .drag-handle').drag_to(
        page.locator('#fields tr[data-field="smoker"]'),
        target_position={"x": 40, "y": 30},
    )
    expect(page.locator('#fields tr[data-field="cigarettes"]')).to_have_attribute(
        "data-parent", "habits"
    )
    assert order(page) == ["weight:", "height:", "habits:", "smoker:habits", "cigarettes:habits"]
    page.wait_for_load_state("load")
    page.screenshot(
        path=os.path.join(output_dir, f"browser-{BACKEND}-form-builder-dragged.png"),
        full_page=True,
    )

    # By keyboard: the "move to" list of height, opened and sent without a mouse.
    page.locator('#fields tr[data-field="height"] details.move-to summary').focus()
    page.keyboard.press("Enter")
    move_to = page.locator("#move-to-height")
    expect(move_to).to_be_visible()
    move_to.select_option("habits")
    page.screenshot(
        path=os.path.join(output_dir, f"browser-{BACKEND}-form-builder-move-to.png"),
        full_page=True,
    )
    move_to.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator('#fields tr[data-field="height"]')).to_have_attribute(
        "data-parent", "habits"
    )
    assert order(page)[-1] == "height:habits"
    page.wait_for_load_state("load")

    # The preview: defaults filled in, the read-only field fixed, required_if live.
    page.goto(form_url + "preview")
    preview = page.locator("#preview-form")
    expect(preview.locator('input[name="weight"]')).to_have_value("60.5")
    height = preview.locator('input[name="height"]')
    expect(height).to_have_value("170")
    expect(height).to_have_attribute("readonly", "readonly")
    height.press_sequentially("9")
    expect(height).to_have_value("170")
    # Not a smoker: nothing is required, and the server agrees with the defaults.
    preview.locator("button[name=submit]").click()
    expect(page.locator("#preview-valid")).to_be_visible()
    expect(preview.locator('input[name="height"]')).to_have_value("170")
    # A smoker: the number of cigarettes is required at once, before anything is sent.
    preview.locator("label", has_text="是").first.click()
    preview.locator("button[name=submit]").click()
    cigarettes = preview.locator(".form-item", has=page.locator('input[name="cigarettes"]'))
    expect(cigarettes.locator(".invalid-feedback")).to_be_visible()
    expect(page.locator("#preview-valid")).to_be_visible()  # still the page before: not sent
    page.screenshot(
        path=os.path.join(output_dir, f"browser-{BACKEND}-form-builder-preview-settings.png"),
        full_page=True,
    )
    assert page.problems == [], "requests failed or scripts broke on the way"
