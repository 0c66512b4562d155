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
