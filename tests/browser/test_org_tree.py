"""In a real browser: the system admin logs in, opens the organisation tree and a district."""

import os
import re

import pytest

from tests.conftest import BACKEND, DEMO_PASSWORD, otp_code

pytestmark = pytest.mark.browser


def screenshot(page, output_dir, name):
    path = os.path.join(output_dir, f"browser-{BACKEND}-{name}.png")
    page.screenshot(path=path, full_page=True)
    return path


def test_admin_logs_in_and_opens_a_district_from_the_org_tree(page, output_dir):
    from playwright.sync_api import expect

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator(".navbar-brand")).to_have_text("北京市社区卫生信息平台")
    # deform's Bootstrap is served and applied: the navigation bar is coloured.
    navbar_colour = page.locator("nav.navbar").evaluate("e => getComputedStyle(e).backgroundColor")
    assert navbar_colour not in ("rgba(0, 0, 0, 0)", "transparent")
    screenshot(page, output_dir, "1-login")

    page.locator("#login").fill("admin")
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.locator("#otp").fill(otp_code(page.portal_zodb, "admin"))
    page.locator("main form button[type=submit]").click()
    expect(page.locator('[data-user="admin"]')).to_contain_text("系统管理员")
    screenshot(page, output_dir, "2-home")

    page.locator('[data-nav="orgs"]').click()
    expect(page.locator("#unit-name")).to_have_text("北京市")
    expect(page.locator('[data-nav="orgs"]')).to_have_class(re.compile(r"\bactive\b"))
    districts = page.locator("#children tbody tr")
    expect(districts).to_have_count(16)  # the current districts; the 4 former ones are hidden
    expect(districts.filter(has_text="110101")).to_contain_text("东城区")
    screenshot(page, output_dir, "3-city")

    page.locator("#children").get_by_role("link", name="东城区", exact=True).click()
    expect(page).to_have_url(re.compile(r"/110101/?$"))
    expect(page.locator("#unit-name")).to_have_text("东城区")
    expect(page.locator(".badge", has_text="110101")).to_be_visible()
    expect(page.locator(".breadcrumb").get_by_role("link", name="北京市")).to_be_visible()
    units = page.locator("#children tbody tr")
    expect(units.filter(has_text="社区卫生服务中心")).to_have_count(2)
    expect(units.filter(has_text="北京市东城区示范医院")).to_have_count(1)
    screenshot(page, output_dir, "4-district")

    assert page.problems == [], "requests failed or scripts broke on the way"
