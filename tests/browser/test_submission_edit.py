"""Staff edit a submitted 高血压患者随访服务记录表 in Chromium: the edit button, the form filled
with the current values and live calculations, the history of what changed; and an edit
made meanwhile by someone else refused with everything typed kept."""

import datetime as dt
import os

import pytest

from tests.browser.conftest import wait_until
from tests.browser.test_data_entry import CENTRE, control, login

pytestmark = pytest.mark.browser


def history(page, revision):
    """{field: (before, after)} of one revision in the history section."""
    rows = page.locator(f"#history li[data-revision='{revision}'] tr[data-field]")
    shown = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        cells = row.locator("td")
        shown[row.get_attribute("data-field")] = (
            cells.nth(1).inner_text().strip(),
            cells.nth(2).inner_text().strip(),
        )
    return shown


def submit_followup(page, record_no: str = "11010100100100001") -> None:
    """As `staff`, fill in and submit a 高血压患者随访服务记录表 (150/90, 65 kg) for the
    person `record_no`, then open it from the list."""
    login(page)
    page.goto(CENTRE + "forms/hypertension_followup")
    wait_until(page, "window.FormRuntime && window.deform_loaded")
    control(page, "name").fill("张三")
    control(page, "record_no").fill(record_no)
    control(page, "visit_date").fill((dt.date.today() - dt.timedelta(days=1)).isoformat())
    control(page, "visit_mode", "1").check()
    control(page, "birth_date").fill("1956-03-01")
    control(page, "mgmt_start_date").fill("2020-01-06")
    control(page, "mgmt_status", "1").check()
    control(page, "sbp").fill("150")
    control(page, "dbp").fill("90")
    control(page, "height").fill("170")
    control(page, "weight").fill("65")
    with page.expect_navigation():
        page.click("button[name='submit']")
    page.locator("#submissions tbody tr a").first.click()


def test_staff_edit_a_submitted_record_and_see_its_history(page, output_dir, person):
    submit_followup(page)
    assert page.locator("#history").count() == 0

    # Edit: the form holds the submitted values; the calculation runs live as before.
    with page.expect_navigation():
        page.click("#edit")
    wait_until(page, "window.FormRuntime && window.deform_loaded")
    assert page.url.endswith("/edit")
    assert control(page, "sbp").input_value() == "150"
    assert control(page, "name").input_value() == "张三"
    control(page, "weight").fill("70")
    assert control(page, "bmi").input_value() == "24.2"
    control(page, "sbp").fill("140")
    with page.expect_navigation():
        page.click("button[name='save']")
    assert page.locator("#flash").inner_text().strip() == "您的修改已保存。"
    changes = history(page, 2)
    assert changes["sbp"] == ("150", "140")
    assert changes["weight"] == ("65", "70") and changes["bmi"] == ("22.5", "24.2")
    assert "提交时的内容" in page.locator("#history li[data-revision='1']").inner_text()
    page.locator("#history").scroll_into_view_if_needed()
    page.screenshot(path=os.path.join(output_dir, "submission_history.png"), full_page=True)

    # Meanwhile someone else saves the record (through the API, with this session): saving
    # the form opened before says who changed what, and keeps everything typed.
    with page.expect_navigation():
        page.click("#edit")
    wait_until(page, "window.FormRuntime && window.deform_loaded")
    record = page.url.rsplit("/", 2)[-2]
    token = page.locator("input[name='csrf_token']").first.input_value()
    data = page.request.get(f"/api/v1/submissions/{record}").json()["data"]
    answer = page.request.put(
        f"/api/v1/submissions/{record}",
        data={"data": {**data, "dbp": 85}, "revision": 2},
        headers={"X-CSRF-Token": token},
    )
    assert answer.status == 200 and answer.json()["revision"] == 3
    control(page, "sbp").fill("135")
    control(page, "doctor").fill("李医生")
    with page.expect_navigation():
        page.click("button[name='save']")
    wait_until(page, "window.FormRuntime && window.deform_loaded")
    notice = page.locator("#notice").inner_text()
    assert "staff" in notice and "舒张压" in notice
    assert control(page, "sbp").input_value() == "135"
    assert control(page, "doctor").input_value() == "李医生"
    assert control(page, "dbp").input_value() == "90"  # theirs is in the record, not here
    page.screenshot(path=os.path.join(output_dir, "submission_edit_stale.png"), full_page=True)
    with page.expect_navigation():
        page.click("button[name='save']")
    assert history(page, 4)["sbp"] == ("140", "135")
    assert page.problems == []
