"""The app boots on the configured storage and the login journey works."""

from tests.conftest import login


def test_anonymous_home_redirects_to_login(testapp):
    res = testapp.get("/", status=303)
    assert "/login" in res.location


def test_admin_logs_in_and_sees_home(testapp):
    login(testapp, "admin")
    home = testapp.get("/")
    assert "系统管理员" in home.text
    assert home.html.find(attrs={"data-user": "admin"}) is not None


def test_home_shows_previous_login_and_failed_attempts_since(testapp):
    login(testapp, "city")
    first = testapp.get("/")
    assert first.html.find(id="failed-since") is None
    testapp.reset()
    login(testapp, "city", "Wrong-password-1", status=200)
    login(testapp, "city", "Wrong-password-2", status=200)
    login(testapp, "city")
    home = testapp.get("/")
    assert "127.0.0.1" in home.html.find(id="last-login").text
    assert home.html.find(id="failed-since").find("span").text.strip() == "2"


def test_home_counts_the_units_in_scope(testapp):
    login(testapp, "dongcheng")
    counts = [d.text for d in testapp.get("/").html.select("#unit-counts .fs-4")]
    assert counts == ["1", "2", "4", "1"]  # 东城区 itself, its centres, stations, hospital
