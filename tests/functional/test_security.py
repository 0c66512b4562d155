"""Login, lockout, sessions, CSRF, scoping and deny-by-default, through the WSGI app."""

import datetime as dt

import pytest
import transaction
from pyramid.interfaces import IRouteRequest  # noqa: F401
from pyramid.security import NO_PERMISSION_REQUIRED
from sqlalchemy import select

from portal import models
from portal.resources import Account, OrgUnit, Site
from tests.conftest import DEMO_PASSWORD, audit_rows, csrf_token, login, sql

BAD_LOGIN_ZH = "用户名或密码错误，或账户已被锁定。"


def login_error(res):
    node = res.html.find(id="login-error")
    return node.get_text(strip=True) if node else None


def test_login_gives_a_new_session_and_csrf_token(testapp):
    before = csrf_token_anonymous(testapp)
    cookie_before = testapp.cookies.get("portal_session")
    login(testapp, "city")
    assert testapp.cookies.get("portal_session") != cookie_before
    assert csrf_token(testapp) != before


def csrf_token_anonymous(testapp):
    return testapp.get("/login").forms[0]["csrf_token"].value


def test_wrong_password_and_lockout_share_one_message(testapp):
    res = login(testapp, "xicheng", "Wrong-password-1", status=200)
    wrong_message = login_error(res)
    assert wrong_message
    for _ in range(4):
        login(testapp, "xicheng", "Wrong-password-1", status=200)
    # Locked now: the right password is refused with the very same message.
    res = login(testapp, "xicheng", DEMO_PASSWORD, status=200)
    assert login_error(res) == wrong_message
    # An unknown login gets it too, so nothing tells which logins exist.
    res = login(testapp, "nobody-here", DEMO_PASSWORD, status=200)
    assert login_error(res) == wrong_message
    assert [r.outcome for r in audit_rows(testapp, event="account.lockout")] == ["success"]
    failures = audit_rows(testapp, event="login", outcome="failure", target="xicheng")
    assert len(failures) == 6
    assert failures[-1].detail["reason"] == "locked"
    assert failures[0].ip == "127.0.0.1" and failures[0].org_code == "110102"


def test_login_message_is_chinese_by_default_and_english_on_request(testapp):
    res = login(testapp, "xicheng", "Wrong-password-1", status=200)
    assert login_error(res) == BAD_LOGIN_ZH
    testapp.get("/login?_LOCALE_=en")
    res = login(testapp, "xicheng", "Wrong-password-1", status=200)
    assert login_error(res) == "Wrong login or password, or the account is locked."


def test_lock_expires_after_fifteen_minutes(testapp):
    for _ in range(5):
        login(testapp, "xicheng", "Wrong-password-1", status=200)
    login(testapp, "xicheng", DEMO_PASSWORD, status=200)
    with sql(testapp) as s:
        row = s.get(models.LoginThrottle, "xicheng")
        assert row.locked_until > models.utcnow() + dt.timedelta(minutes=14)
        row.locked_until = models.utcnow() - dt.timedelta(seconds=1)
        s.commit()
    login(testapp, "xicheng", DEMO_PASSWORD)
    with sql(testapp) as s:
        assert s.get(models.LoginThrottle, "xicheng") is None


def test_success_resets_the_failure_count(testapp):
    for _ in range(4):
        login(testapp, "xicheng", "Wrong-password-1", status=200)
    login(testapp, "xicheng", DEMO_PASSWORD)
    testapp.reset()
    for _ in range(4):
        login(testapp, "xicheng", "Wrong-password-1", status=200)
    login(testapp, "xicheng", DEMO_PASSWORD)  # 4 + 4 failures, never 5 in a row


def test_password_never_reaches_the_audit_log(testapp):
    login(testapp, "xicheng", "Secret-guess-987", status=200)
    login(testapp, "xicheng")
    with sql(testapp) as s:
        dumped = " ".join(
            repr((r.event, r.target, r.detail)) for r in s.scalars(select(models.AuditEvent))
        )
    assert "Secret-guess-987" not in dumped and DEMO_PASSWORD not in dumped


def test_logout_ends_the_session_on_the_server(testapp):
    login(testapp, "city")
    stolen = testapp.cookies["portal_session"]
    token = csrf_token(testapp)
    testapp.post("/logout", {"csrf_token": token}, status=303)
    testapp.set_cookie("portal_session", stolen)  # replay the old cookie
    res = testapp.get("/", status=303)
    assert "/login" in res.location


def test_idle_session_times_out(testapp):
    login(testapp, "city")
    testapp.get("/", status=200)
    with sql(testapp) as s:
        for row in s.scalars(select(models.AuthSession).filter_by(login="city")):
            row.last_seen = models.utcnow() - dt.timedelta(minutes=31)
        s.commit()
    assert "/login" in testapp.get("/", status=303).location


def test_a_session_in_use_stays_alive(testapp):
    login(testapp, "city")
    with sql(testapp) as s:
        for row in s.scalars(select(models.AuthSession).filter_by(login="city")):
            row.last_seen = models.utcnow() - dt.timedelta(minutes=29)
        s.commit()
    testapp.get("/", status=200)
    with sql(testapp) as s:
        [row] = s.scalars(select(models.AuthSession).filter_by(login="city"))
        assert models.utcnow() - row.last_seen < dt.timedelta(minutes=1)


def test_unsafe_requests_need_the_csrf_token(testapp):
    login(testapp, "city")
    testapp.post("/logout", status=400)
    testapp.post("/logout", {"csrf_token": "forged"}, status=400)
    testapp.get("/", status=200)  # still logged in
    testapp.post("/logout", {"csrf_token": csrf_token(testapp)}, status=303)


def test_login_form_itself_is_csrf_protected(testapp):
    res = testapp.post("/login", {"login": "city", "password": DEMO_PASSWORD}, status=200)
    assert res.html.find(id="login-error") is not None
    testapp.get("/", status=303)


def test_login_redirects_only_to_local_paths(testapp):
    form = testapp.get("/login?next=//evil.example/").forms[0]
    form["login"], form["password"] = "city", DEMO_PASSWORD
    assert form.submit(status=303).location == "http://localhost/"
    testapp.reset()
    form = testapp.get("/login?next=/110000/110101/").forms[0]
    form["login"], form["password"] = "city", DEMO_PASSWORD
    assert form.submit(status=303).location == "http://localhost/110000/110101/"


def test_district_manager_is_kept_to_their_district(testapp):
    login(testapp, "dongcheng")
    page = testapp.get("/110000/110101/")
    assert "东城区" in page.html.find(id="unit-name").text
    testapp.get("/110000/110101/110101001/110101001001/", status=200)
    testapp.get("/110000/110102/", status=403)
    testapp.get("/110000/110102/110102001/", status=403)
    testapp.get("/110000/", status=403)
    denied = audit_rows(testapp, event="access", outcome="denied", actor="dongcheng")
    assert [r.target for r in denied] == [
        "/110000/110102/",
        "/110000/110102/110102001/",
        "/110000/",
    ]


def test_breadcrumbs_show_only_what_the_user_may_see(testapp):
    login(testapp, "dongcheng")
    page = testapp.get("/110000/110101/110101001/")
    crumbs = [li.get_text(strip=True) for li in page.html.select(".breadcrumb-item")]
    assert crumbs[0] == "东城区" and "北京市" not in crumbs


def test_inactive_account_cannot_log_in_and_loses_its_session(testapp):
    login(testapp, "city")
    db = testapp.app.registry.zodb
    tm = transaction.TransactionManager(explicit=True)
    with tm:
        conn = db.open(transaction_manager=tm)
        conn.root()["site"]["accounts"]["city"].active = False
    conn.close()
    testapp.get("/", status=303)
    res = login(testapp, "city", status=200)
    assert login_error(res) == BAD_LOGIN_ZH


# -- deny by default -------------------------------------------------------------------
SAMPLE_PATHS = {Site: "/", OrgUnit: "/110000/110101/", Account: "/accounts/admin/"}
PUBLIC_ROUTES = {"login", "api_tokens", "__static/", "__deform_static/", "__forms_static/"}


def all_views(config):
    config.commit()
    introspector = config.registry.introspector
    for view in introspector.get_category("views"):
        yield view["introspectable"], introspector


def sample_url(intr, introspector):
    if intr["route_name"]:
        pattern = introspector.get("routes", intr["route_name"])["pattern"]
        url = pattern.replace("{code}", "110101").replace("*subpath", "portal.css")
        return url if url.startswith("/") else "/" + url
    context = intr["context"]
    base = next((p for cls, p in SAMPLE_PATHS.items() if context is cls), None)
    if base is None:
        return None
    return base + (intr["name"] or "")


def test_every_view_has_a_permission_or_is_public(app_config):
    open_views = []
    for intr, introspector in all_views(app_config):
        if intr["exception_only"]:
            continue  # forbidden/not-found/CSRF pages render refusals
        if intr["route_name"] in PUBLIC_ROUTES:
            continue
        if intr["route_name"] == "logout":
            continue  # CSRF-checked; without a session it does nothing
        # A view without an explicit permission gets the default one (portal:home).
        permissions = [
            r["value"] for r in introspector.related(intr) if r.category_name == "permissions"
        ]
        if NO_PERMISSION_REQUIRED in permissions:
            open_views.append((intr["route_name"], intr["context"], intr["name"]))
    assert open_views == []


def test_anonymous_users_reach_only_login_and_static(app_config, testapp):
    checked = 0
    for intr, introspector in all_views(app_config):
        if intr["exception_only"]:
            continue
        url = sample_url(intr, introspector)
        if url is None:
            continue
        methods = intr["request_methods"] or ("GET", "POST")
        methods = [methods] if isinstance(methods, str) else methods
        for method in methods:
            res = testapp.request(url, method=method, expect_errors=True)
            checked += 1
            public = intr["route_name"] in PUBLIC_ROUTES
            if public:
                continue
            assert res.status_int in (303, 400, 401, 403, 404), (method, url, res.status)
            if res.status_int == 303:
                assert "/login" in res.location, (method, url)
    assert checked >= 10
    testapp.get("/login", status=200)
    testapp.get("/static/portal.css", status=200)
    testapp.get("/deform_static/css/bootstrap.min.css", status=200)
    testapp.get("/forms_static/runtime.js", status=200)


@pytest.mark.parametrize(
    "login_name, allowed, refused",
    [
        ("admin", ["/110000/"], []),
        (
            "staff",
            ["/110000/110101/110101001/", "/110000/110101/110101001/110101001002/"],
            ["/110000/110101/", "/110000/110101/110101002/"],
        ),
        (
            "station",
            ["/110000/110101/110101001/110101001001/"],
            ["/110000/110101/110101001/", "/110000/110101/110101001/110101001002/"],
        ),
        ("hospital", ["/110000/110101/110101901/"], ["/110000/110101/"]),
    ],
)
def test_each_role_sees_its_subtree(testapp, login_name, allowed, refused):
    login(testapp, login_name)
    for path in allowed:
        testapp.get(path, status=200)
    for path in refused:
        testapp.get(path, status=403)


def test_login_upgrades_a_hash_made_with_other_parameters(testapp):
    from argon2 import PasswordHasher

    def account_hash(value=None):
        tm = transaction.TransactionManager(explicit=True)
        with tm:
            conn = testapp.app.registry.zodb.open(transaction_manager=tm)
            account = conn.root()["site"]["accounts"]["city"]
            if value is not None:
                account.password_hash = value
            current = account.password_hash
        conn.close()
        return current

    account_hash(PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(DEMO_PASSWORD))
    login(testapp, "city")
    assert "$m=19456,t=2,p=1$" in account_hash()


# -- response headers (portal/headers.py) -----------------------------------------------------
def test_pages_and_the_api_are_not_cached_and_carry_the_security_headers(
    checked, testapp, published, tokens
):
    from portal.headers import CONTENT_SECURITY_POLICY
    from tests.functional.test_api_forms import submit

    record = submit(checked, tokens["staff"]).json["id"]
    login(testapp, "staff")
    answers = {
        "login page": testapp.get("/login"),
        "record page": testapp.get("/110000/110101/110101001/submissions/" + record),
        "API": testapp.get("/api/v1/submissions/" + record, headers=tokens["staff"]),
        "API error": testapp.get("/api/v1/submissions/nope", headers=tokens["staff"], status=404),
        "not found page": testapp.get("/no/such/page", status=404),
    }
    for name, res in answers.items():
        assert res.headers["Cache-Control"] == "no-store", name
        assert res.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, name
        assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
        assert res.headers["X-Frame-Options"] == "DENY", name
        assert res.headers["X-Content-Type-Options"] == "nosniff", name
        assert res.headers["Referrer-Policy"] == "same-origin", name
    # Static assets stay cacheable: their own Cache-Control is kept.
    asset = testapp.get("/static/portal.css")
    assert asset.headers["Cache-Control"] == "max-age=3600"
    assert asset.headers["X-Content-Type-Options"] == "nosniff"
