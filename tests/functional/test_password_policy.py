"""Password expiry and history: an expired password lets its holder log in only to change
it (the API answers 403 {"password_expired": true}); none of the last 5 passwords again."""

import datetime as dt

import transaction
import webtest

from tests.conftest import (
    DEMO_PASSWORD,
    api_token,
    audit_rows,
    bearer,
    close_app_registry,
    login,
)

NEW = [
    "Kangle#Clinic42",
    "Anning#Clinic43",
    "Changqing#Clinic44",
    "Fushou#Clinic45",
    "Chunhui#Clinic46",
]


def age_password(testapp, login_name, days):
    tm = transaction.TransactionManager(explicit=True)
    with tm:
        conn = testapp.app.registry.zodb.open(transaction_manager=tm)
        account = conn.root()["site"]["accounts"][login_name]
        account.password_changed = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    conn.close()


def change_password(testapp, old, new, status=303):
    form = testapp.get("/password").forms["password-form"]
    form["old_password"] = old
    form["new_password"] = form["new_password-confirm"] = new
    return form.submit("change", status=status)


def new_password_errors(res) -> list[str]:
    item = res.html.find(class_="item-new_password")
    return [p.get_text(strip=True) for p in item.find_all(class_="invalid-feedback")]


def test_demo_passwords_are_fresh(testapp):
    login(testapp, "city")
    assert testapp.get("/", status=200).html.find(attrs={"data-user": "city"}) is not None
    api_token(testapp, "admin")


def test_an_expired_password_is_changed_before_anything_else(testapp):
    token = api_token(testapp, "city")
    age_password(testapp, "city", 89)
    testapp.get("/api/v1/me", headers=bearer(token), status=200)
    age_password(testapp, "city", 91)
    # The API: the old token and a new one are refused, naming the reason.
    res = testapp.get("/api/v1/me", headers=bearer(token), status=403)
    assert res.json["password_expired"] is True
    res = testapp.post_json(
        "/api/v1/tokens", {"login": "city", "password": DEMO_PASSWORD}, status=403
    )
    assert res.json["password_expired"] is True
    # The pages: logged in, but sent to the password page, which says why.
    res = login(testapp, "city")
    assert res.follow(status=303).location == "http://localhost/password"
    testapp.get("/110000/", status=303)
    page = testapp.get("/password")
    assert page.html.find(id="password-expired") is not None
    change_password(testapp, DEMO_PASSWORD, NEW[0])
    assert testapp.get("/password").html.find(id="password-expired") is None
    testapp.get("/110000/", status=200)
    api_token(testapp, "city", NEW[0])


def test_expiry_follows_the_setting(settings):
    from portal import make_config

    config = make_config({**settings, "portal.password_max_age_days": "0"})
    try:
        app = webtest.TestApp(config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"})
        age_password(app, "city", 3650)  # never expires
        api_token(app, "city")
        login(app, "city").follow(status=200)
    finally:
        close_app_registry(config.registry)


def test_none_of_the_last_five_passwords_again(testapp):
    login(testapp, "city")
    current = DEMO_PASSWORD
    for new in NEW:
        change_password(testapp, current, new)
        current = new
    # The last five (the current one included) are refused at the field; the demo
    # password, the sixth before, is accepted again.
    for old in (NEW[1], NEW[4]):
        res = change_password(testapp, current, old, status=200)
        assert new_password_errors(res) == [
            "最近用过这个密码：请选择一个与本账号最近 5 个密码都不同的密码。"
        ]
    change_password(testapp, current, DEMO_PASSWORD)
    changes = audit_rows(testapp, event="account.password", target="city")
    assert len(changes) == 6  # the six changes; refusals at the field change nothing


def test_an_administrator_cannot_reset_to_a_recent_password(testapp):
    login(testapp, "admin")
    form = testapp.get("/accounts/city/reset-password").forms["account-form"]
    form["password"] = form["password-confirm"] = DEMO_PASSWORD
    res = form.submit("save", status=200)
    item = res.html.find(class_="item-password")
    assert len(item.find_all(class_="invalid-feedback")) == 1
    form = res.forms["account-form"]
    form["password"] = form["password-confirm"] = NEW[0]
    form.submit("save", status=303)
