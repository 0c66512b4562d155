"""Staff fill in 高血压患者随访服务记录表 in Chromium: skip logic, live BMI, an out-of-range
blood pressure refused at the field by the browser and (with the browser's check bypassed)
by the server, everything typed kept; then a valid submission appears in the list."""

import datetime as dt
import os

import pytest

from tests.browser.conftest import log_in, wait_until

pytestmark = pytest.mark.browser

CENTRE = "/110000/110101/110101001/"


def login(page, name="staff"):
    log_in(page, name)


def control(page, name, value=None):
    if value is None:
        return page.locator(f"[data-field='{name}']").first
    return page.locator(f"[data-field='{name}'][value='{value}']")


def item(page, name):
    return control(page, name).locator(
        "xpath=ancestor-or-self::*[contains(concat(' ', @class, ' '), ' form-item ')][1]"
    )


def test_staff_fills_in_hypertension_followup(page, output_dir, person):
    login(page)
    page.click("[data-nav='entry']")
    page.click("tr[data-form='hypertension_followup'] a")
    wait_until(page, "window.FormRuntime && window.deform_loaded")
    assert page.locator("#page-title").inner_text() == "高血压患者随访服务记录表"

    control(page, "name").fill("张三")
    control(page, "record_no").fill("11010100100100001")
    yesterday = dt.date.today() - dt.timedelta(days=1)
    control(page, "visit_date").fill(yesterday.isoformat())
    control(page, "visit_mode", "1").check()
    control(page, "birth_date").fill("1956-03-01")
    control(page, "mgmt_start_date").fill("2020-01-06")
    control(page, "mgmt_status", "1").check()

    # Skip logic: 其他症状 shows only when 其他 is among the symptoms.
    other = item(page, "symptoms_other")
    assert other.is_hidden()
    control(page, "symptoms", "10").check()
    assert other.is_visible()
    control(page, "symptoms_other").fill("头晕")
    control(page, "symptoms", "10").uncheck()
    assert other.is_hidden()
    control(page, "symptoms", "10").check()
    assert other.is_visible() and control(page, "symptoms_other").input_value() == "头晕"

    # BMI computed as height and weight are typed.
    control(page, "height").fill("170")
    control(page, "weight").fill("65")
    assert control(page, "bmi").input_value() == "22.5"

    # An out-of-range blood pressure: refused by the browser at the field.
    control(page, "sbp").fill("350")
    control(page, "dbp").fill("90")
    page.click("button[name='submit']")
    sbp_message = item(page, "sbp").locator(".invalid-feedback")
    assert sbp_message.is_visible() and "300" in sbp_message.inner_text()
    assert page.url.endswith(CENTRE + "forms/hypertension_followup")
    page.screenshot(path=os.path.join(output_dir, "data_entry_live_error.png"), full_page=True)

    # The browser's check bypassed: the server refuses it too, at the field, values kept.
    page.eval_on_selector(
        "button[name='submit']", "b => b.setAttribute('formnovalidate', 'formnovalidate')"
    )
    with page.expect_navigation():
        page.click("button[name='submit']")
    wait_until(page, "window.FormRuntime && window.deform_loaded")
    assert page.locator("form#entry .alert-danger").is_visible()
    assert "300" in item(page, "sbp").inner_text()
    assert control(page, "sbp").input_value() == "350"
    assert control(page, "name").input_value() == "张三"
    assert control(page, "symptoms_other").input_value() == "头晕"
    assert control(page, "bmi").input_value() == "22.5"
    page.screenshot(path=os.path.join(output_dir, "data_entry_server_error.png"), full_page=True)

    # Corrected: submitted, and listed.
    control(page, "sbp").fill("150")
    with page.expect_navigation():
        page.click("button[name='submit']")
    assert page.url.endswith(CENTRE + "submissions")
    assert page.locator("#flash").is_visible()
    rows = page.locator("#submissions tbody tr[data-status='submitted']").filter(
        has_text="高血压患者随访服务记录表"
    )
    assert rows.count() == 1  # besides the person's 个人基本信息表
    page.screenshot(path=os.path.join(output_dir, "data_entry_list.png"), full_page=True)

    rows.first.locator("a").click()
    assert "张三" in page.locator("main").inner_text()
    page.screenshot(path=os.path.join(output_dir, "data_entry_view.png"), full_page=True)
    assert page.problems == []
