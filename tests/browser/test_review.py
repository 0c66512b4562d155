"""Review up the tree in Chromium: `staff` submits a 高血压患者随访服务记录表; `dongcheng` returns
it with a comment; `staff` finds it in the inbox, fixes it and resubmits; the centre, the
district and the city approve it in turn; then `staff` can no longer edit it."""

import os

import pytest
import transaction

from tests.browser.conftest import wait_until
from tests.browser.test_data_entry import control, login
from tests.browser.test_submission_edit import submit_followup
from tests.functional.people import RECORD_NO

pytestmark = pytest.mark.browser


def set_chain(app_config, form, chain):
    registry = app_config.registry
    tm = transaction.TransactionManager(explicit=True)
    with tm:
        conn = registry.zodb.open(transaction_manager=tm)
        conn.root()["site"]["forms"][form].review_chain = tuple(chain)
    conn.close()


def as_user(browser, live_server, name):
    context = browser.new_context(
        base_url=live_server, viewport={"width": 1280, "height": 900}, locale="zh-CN"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    login(page, name)
    return page


def act(page, transition, comment=None):
    form = page.locator(f"#review form[data-transition='{transition}']")
    if comment is not None:
        form.locator("textarea").fill(comment)
    with page.expect_navigation():
        form.locator("button[type='submit']").click()


def test_a_record_is_returned_fixed_and_approved_up_to_the_city(
    page, browser, live_server, app_config, output_dir, person
):
    set_chain(app_config, "hypertension_followup", ("centre", "district", "city"))
    submit_followup(page, RECORD_NO)
    record_url = page.url
    assert page.locator("#review .review-chain li").count() == 3
    assert page.locator("#review form").count() == 0  # the author takes no transition now

    # The district returns it, saying why.
    district = as_user(browser, live_server, "dongcheng")
    district.goto(record_url)
    act(district, "return", "收缩压请复核")
    assert "已退回" in district.locator("#status").inner_text()
    district.screenshot(path=os.path.join(output_dir, "review_returned.png"), full_page=True)

    # Staff sees it waiting, with why; fixes it and resubmits.
    page.goto("/")
    returned = page.locator("#inbox .inbox-item[data-kind='returned']")
    assert returned.count() == 1
    assert "收缩压请复核" in returned.inner_text()
    assert "1" in page.locator("#inbox .inbox-count[data-kind='returned']").inner_text()
    page.screenshot(path=os.path.join(output_dir, "review_inbox.png"), full_page=True)
    with page.expect_navigation():
        returned.locator("a").click()
    assert "收缩压请复核" in page.locator("#review-returned").inner_text()
    with page.expect_navigation():
        page.click("#edit")
    wait_until(page, "window.FormRuntime && window.deform_loaded")
    control(page, "sbp").fill("135")
    with page.expect_navigation():
        page.click("button[name='save']")
    act(page, "resubmit")
    assert "已提交" in page.locator("#status").inner_text()

    # Up the chain: the centre, the district, the city.
    for name in ("centre", "dongcheng", "city"):
        reviewer = district if name == "dongcheng" else as_user(browser, live_server, name)
        reviewer.goto(record_url)
        act(reviewer, "approve")
        assert reviewer.locator("#flash").count() == 1
        assert reviewer.problems == []
    reviewer.screenshot(path=os.path.join(output_dir, "review_approved.png"), full_page=True)
    chain = reviewer.locator("#review .review-chain li .text-bg-success")
    assert chain.count() == 3
    assert "已审核" in reviewer.locator("#status").inner_text()

    # Staff can no longer edit it.
    page.goto(record_url)
    assert page.locator("#edit").count() == 0
    assert page.locator("#review-locked").count() == 1
    page.goto(record_url + "/edit")  # sent back to the record, told why
    assert page.url == record_url
    assert "不能再修改" in page.locator("#flash").inner_text()
    page.screenshot(path=os.path.join(output_dir, "review_locked.png"), full_page=True)
    assert page.problems == []
