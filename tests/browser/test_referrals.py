"""A two-way referral in Chromium: `station` sends its 转诊单 to the demo hospital from the
slip's page; `hospital` (the referral desk) accepts it, marks it treated and refers the
patient back with the 回转单 (a missing diagnosis told at its field, everything typed kept);
the centre's `staff` confirms the patient is back."""

import os
import uuid

import pytest
import webtest

from forms.periods import beijing_today
from tests.browser.test_review import as_user
from tests.conftest import api_token, bearer
from tests.functional.people import register_person
from tests.functional.test_referrals import HOSPITAL, STATION, slip

pytestmark = pytest.mark.browser


@pytest.fixture
def slip_url(app_config):
    """A submitted outgoing slip of the station's (through the API); its page's path."""
    app = webtest.TestApp(app_config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    register_person(app, org=STATION, login="station")
    res = app.post_json(
        "/api/v1/forms/referral_slip/submissions",
        {
            "org": STATION,
            "period": beijing_today().strftime("%Y-%m"),
            "client_id": str(uuid.uuid4()),
            "data": slip(),
        },
        headers=bearer(api_token(app, "station")),
        status=201,
    )
    return f"/110000/110101/110101001/{STATION}/submissions/{res.json['id']}"


def act(page, transition, **fields):
    form = page.locator(f"form[data-transition='{transition}']")
    for name, value in fields.items():
        form.locator(f"[name='{name}']").fill(value)
    with page.expect_navigation():
        form.locator("button[type='submit']").click()


def test_a_referral_goes_to_the_hospital_and_comes_back(browser, live_server, output_dir, slip_url):
    station = as_user(browser, live_server, "station")
    station.goto(slip_url)
    station.select_option("#referral-hospital", HOSPITAL)
    with station.expect_navigation():
        station.click("#referral-send-button")
    referral_url = station.url
    assert "/referrals/" in referral_url
    assert "已转出" in station.locator("#status").inner_text()

    desk = as_user(browser, live_server, "hospital")
    assert "1" in desk.locator("#inbox .inbox-count[data-kind='referrals']").inner_text()
    desk.goto("/referrals")
    with desk.expect_navigation():
        desk.locator("#referrals tbody a").first.click()
    assert desk.locator("#slip").count() == 0  # the desk reads the patient, not the slip
    assert "张三" in desk.locator("#patient").inner_text()
    act(desk, "accept")
    act(desk, "treat")
    # The 回转单 without a diagnosis: told at the field, the plan typed is kept.
    act(desk, "return", follow_plan="继续服药，两周后社区随访")
    assert desk.locator("#back-diagnosis.is-invalid").count() == 1
    assert desk.locator("#back-follow_plan").input_value() == "继续服药，两周后社区随访"
    act(desk, "return", diagnosis="原发性高血压2级")
    assert "已回转" in desk.locator("#status").inner_text()
    desk.screenshot(path=os.path.join(output_dir, "referral_returned.png"), full_page=True)

    centre = as_user(browser, live_server, "staff")
    centre.goto(referral_url)
    assert "原发性高血压2级" in centre.locator("#back").inner_text()
    act(centre, "close")
    assert "已接回" in centre.locator("#status").inner_text()
    history = centre.locator("#referral-history li")
    assert history.count() == 5
    centre.screenshot(path=os.path.join(output_dir, "referral_closed.png"), full_page=True)
    for page in (station, desk, centre):
        assert page.problems == []
