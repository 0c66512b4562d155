"""In a real browser: the security administrator logs in in two steps (password, then the
code of the authenticator app), and a wrong code is refused on the second step."""

import os

import pytest

from tests.conftest import BACKEND, DEMO_PASSWORD, otp_code

pytestmark = pytest.mark.browser


def test_two_step_login(page, output_dir):
    from playwright.sync_api import expect

    page.goto("/login")
    page.locator("#login").fill("security")
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()

    expect(page.locator("#otp-login")).to_have_text("security")
    expect(page.locator("#password")).to_have_count(0)
    expect(page.locator("#otp")).to_be_focused()
    page.screenshot(
        path=os.path.join(output_dir, f"browser-{BACKEND}-two-factor-step.png"), full_page=True
    )
    page.locator("#otp").fill("000000")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#login-error")).to_contain_text("验证码")
    expect(page.locator("#otp")).to_be_visible()

    page.locator("#otp").fill(otp_code(page.portal_zodb, "security"))
    page.locator("main form button[type=submit]").click()
    expect(page.locator('[data-user="security"]')).to_contain_text("安全管理员")

    # The two-factor page shows the account's second factor as on.
    page.locator('[data-nav="two-factor"]').click()
    expect(page.locator("#two-factor-status")).to_contain_text("已开启")
    page.screenshot(
        path=os.path.join(output_dir, f"browser-{BACKEND}-two-factor-page.png"), full_page=True
    )
    assert page.problems == []


def test_enrolment_shows_a_qr_code_and_the_recovery_codes_once(page, output_dir):
    import pyotp
    from playwright.sync_api import expect

    from tests.browser.conftest import log_in

    log_in(page, "city")
    page.locator('[data-nav="two-factor"]').click()
    page.locator("#start-form button[name=start]").click()
    qr = page.locator("#totp-qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] > 150 and box["height"] > 150
    page.screenshot(
        path=os.path.join(output_dir, f"browser-{BACKEND}-two-factor-enrol.png"), full_page=True
    )
    secret = "".join(page.locator("#totp-secret").inner_text().split())
    page.locator("#otp").fill(pyotp.TOTP(secret).now())
    page.locator("#confirm-form button[name=confirm]").click()
    expect(page.locator("[data-recovery-code]")).to_have_count(10)
    page.screenshot(
        path=os.path.join(output_dir, f"browser-{BACKEND}-two-factor-recovery-codes.png"),
        full_page=True,
    )
    page.goto("/two-factor")  # shown once: not again
    expect(page.locator("[data-recovery-code]")).to_have_count(0)
    expect(page.locator("#two-factor-status")).to_contain_text("10")
    assert page.problems == []
