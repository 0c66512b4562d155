"""In a real browser: the system admin opens the form builder and types a field's
expressions; a bad one is flagged at once, before the form is sent."""

import os
import re

import pytest

from tests.conftest import BACKEND, DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_an_expression_is_flagged_as_it_is_typed(page, output_dir):
    from playwright.sync_api import expect

    page.goto("/login")
    page.locator("#login").fill("admin")
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
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
