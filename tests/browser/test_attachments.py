"""Staff attach a photo to a form in Chromium: the file is kept through a refused submission
(nothing picked again), the submission shows it by name with the portal's thumbnail, and
the download is the file itself."""

import datetime as dt
import io
import os

import pytest
import transaction
from PIL import Image, ImageDraw

from forms.xlsform import export_xlsform, import_xlsform
from portal.services import forms as form_service
from tests.browser.conftest import wait_until
from tests.browser.test_data_entry import control, item, login
from tests.functional.test_attachments import site_visit

pytestmark = pytest.mark.browser

CENTRE = "/110000/110101/110101001/"


@pytest.fixture
def site_visit_form(app_config):
    """site_visit published (through its XLSForm, as an administrator would) in the live
    server's own database."""
    result = import_xlsform(export_xlsform(site_visit()), "site_visit.xlsx")
    assert result.ok, result.errors
    tm = transaction.TransactionManager(explicit=True)
    with tm:
        conn = app_config.registry.zodb.open(transaction_manager=tm)
        form, _created = form_service.save_draft(conn.root()["site"], result.definition)
        form_service.publish(form, "admin")
    conn.close()


def photo(path) -> bytes:
    image = Image.new("RGB", (800, 600), "#d8eef0")
    draw = ImageDraw.Draw(image)
    draw.rectangle((120, 180, 680, 520), fill="#2a7f62")
    draw.polygon([(100, 190), (400, 40), (700, 190)], fill="#b33c2e")
    draw.rectangle((350, 360, 450, 520), fill="#f5d76e")
    image.save(path, "JPEG", quality=90)
    with open(path, "rb") as f:
        return f.read()


def test_staff_attach_a_photo(page, site_visit_form, output_dir, tmp_path):
    content = photo(tmp_path / "活动现场.jpg")
    login(page)
    page.goto(CENTRE + "forms/site_visit")
    wait_until(page, "window.FormRuntime && window.deform_loaded")
    control(page, "photo").set_input_files(str(tmp_path / "活动现场.jpg"))
    # The browser's own check bypassed (no visit date): the server refuses at the field.
    page.eval_on_selector(
        "button[name='submit']", "b => b.setAttribute('formnovalidate', 'formnovalidate')"
    )
    page.click("button[name='submit']")
    page.wait_for_load_state()
    assert "此项为必填项" in item(page, "visit_date").inner_text()
    photo_item = item(page, "photo")
    assert "当前文件：活动现场.jpg" in photo_item.inner_text()
    assert photo_item.locator("input[name='uid']").input_value()
    page.screenshot(path=os.path.join(output_dir, "attachments-kept.png"), full_page=True)

    # Nothing picked again: only the date is filled in.
    yesterday = dt.date.today() - dt.timedelta(days=1)
    control(page, "visit_date").fill(yesterday.isoformat())
    page.click("button[name='submit']")
    page.wait_for_url("**/submissions")
    page.click("#submissions tbody tr a")
    page.wait_for_load_state()
    shown = page.locator(".record-value[data-field='photo']")
    assert shown.locator("a.record-file").inner_text() == "活动现场.jpg"
    thumbnail = shown.locator("img")
    thumbnail.wait_for()
    wait_until(page, "img => img.complete && img.naturalWidth > 0", thumbnail.element_handle())
    assert thumbnail.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [320, 240]
    page.screenshot(path=os.path.join(output_dir, "attachments-submission.png"), full_page=True)

    with page.expect_download() as download_info:
        shown.locator("a.record-file").click()
    download = download_info.value
    assert download.suggested_filename == "活动现场.jpg"
    with open(download.path(), "rb") as f:
        assert f.read() == content
    assert Image.open(io.BytesIO(content)).size == (800, 600)
    # Chromium reports a navigation that turns into a download as aborted: not a problem.
    href = shown.locator("a.record-file").get_attribute("href")
    assert [p for p in page.problems if p != f"failed: {href} net::ERR_ABORTED"] == []
