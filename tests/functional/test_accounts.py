"""Account, role and password pages: who may do what, what each change does, what is audited."""

import logging

import webtest
from sqlalchemy import select

from portal import models
from portal.demo import DEMO_ACCOUNTS
from tests.conftest import (
    DEMO_PASSWORD,
    api_token,
    audit_rows,
    bearer,
    csrf_token,
    enrol,
    login,
    sql,
)

NEW_PASSWORD = "Kangle#Clinic42"


def browser(testapp):
    """A second browser (its own cookies) on the same application."""
    return webtest.TestApp(testapp.app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})


def field_errors(res, name) -> list[str]:
    """The error messages deform shows at the field named `name`."""
    item = res.html.find(class_=f"item-{name}")
    assert item is not None, f"no field {name}"
    return [p.get_text(strip=True) for p in item.find_all(class_="invalid-feedback")]


def listed_logins(res) -> set[str]:
    return {row["data-login"] for row in res.html.select("#accounts tr[data-login]")}


def add_account_form(testapp, unit="/110000/", **values):
    form = testapp.get(f"{unit}add-account").forms["account-form"]
    for key, value in values.items():
        form[key] = value
    return form


def grant(testapp, login_name, role, org, status=303):
    form = testapp.get(f"/accounts/{login_name}/roles").forms["grant-form"]
    form["role"] = role
    form["org"] = org
    return form.submit("grant", status=status)


def revoke(testapp, login_name, role, org, status=303):
    token = csrf_token(testapp)
    return testapp.post(
        f"/accounts/{login_name}/roles",
        {"csrf_token": token, "role": role, "org": org, "revoke": "revoke"},
        status=status,
    )


# -- creating accounts -------------------------------------------------------------------
def test_admin_creates_an_account_that_can_log_in(testapp):
    login(testapp, "admin")
    form = add_account_form(
        testapp, login="Zhang.San", name="张三", org="110101001", password=NEW_PASSWORD
    )
    form["password-confirm"] = NEW_PASSWORD
    res = form.submit("save", status=303)
    assert res.location == "http://localhost/accounts/zhang.san/"
    page = res.follow()
    assert "张三" in page.text and "110101001" in page.text
    assert page.html.find(role="status") is not None  # the confirmation
    [row] = audit_rows(testapp, event="account.create")
    assert (row.actor, row.target, row.org_code, row.outcome) == (
        "admin",
        "zhang.san",
        "110101001",
        "success",
    )
    assert row.org_path == "/110000/110101/110101001/"

    other = browser(testapp)
    login(other, "zhang.san", NEW_PASSWORD)
    assert other.get("/").html.find(attrs={"data-user": "zhang.san"}) is not None


def test_weak_password_is_refused_at_the_field_and_the_rest_is_kept(testapp):
    login(testapp, "admin")
    form = add_account_form(testapp, login="lisi", name="李四", org="110101", password="short1")
    form["password-confirm"] = "short1"
    res = form.submit("save", status=200)
    errors = field_errors(res, "password")
    assert len(errors) == 2  # too short, and too few kinds of character
    assert field_errors(res, "login") == [] and field_errors(res, "org") == []
    again = res.forms["account-form"]
    assert (again["login"].value, again["name"].value, again["org"].value) == (
        "lisi",
        "李四",
        "110101",
    )
    assert again["password"].value == "" and again["password-confirm"].value == ""
    # The login name inside the password is refused too, and the two entries must agree.
    again["password"] = again["password-confirm"] = "Lisi-2026-password"
    res = again.submit("save", status=200)
    assert len(field_errors(res, "password")) == 1
    again = res.forms["account-form"]
    again["password"], again["password-confirm"] = NEW_PASSWORD, NEW_PASSWORD + "x"
    res = again.submit("save", status=200)
    assert len(field_errors(res, "password")) == 1
    assert audit_rows(testapp, event="account.create") == []
    assert "lisi" not in listed_logins(testapp.get("/110000/accounts"))


def test_add_account_checks_login_and_home_unit(testapp):
    login(testapp, "admin")
    form = add_account_form(
        testapp, login="dongcheng", name="重名", org="999999", password=NEW_PASSWORD
    )
    form["password-confirm"] = NEW_PASSWORD
    res = form.submit("save", status=200)
    assert len(field_errors(res, "login")) == 1  # taken
    assert len(field_errors(res, "org")) == 1  # no such unit
    form = res.forms["account-form"]
    form["login"], form["org"] = "9lives", "110103"  # bad login; an inactive district
    form["password"] = form["password-confirm"] = NEW_PASSWORD
    res = form.submit("save", status=200)
    assert len(field_errors(res, "login")) == 1 and len(field_errors(res, "org")) == 1


def test_add_account_defaults_to_the_unit_and_stays_in_its_subtree(testapp):
    login(testapp, "admin")
    form = add_account_form(testapp, unit="/110000/110101/")
    assert form["org"].value == "110101"
    form["login"], form["name"] = "wangwu", "王五"
    form["org"] = "110102"  # a sibling district: not below the page's unit
    form["password"] = form["password-confirm"] = NEW_PASSWORD
    res = form.submit("save", status=200)
    assert len(field_errors(res, "org")) == 1


def test_form_errors_follow_the_users_language(app_config, tmp_path):
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    catalog = Catalog(locale="zh_CN", domain="portal")
    catalog.add("field_required", "测试：必填项")
    directory = tmp_path / "zh_CN" / "LC_MESSAGES"
    directory.mkdir(parents=True)
    with open(directory / "portal.mo", "wb") as f:
        write_mo(f, catalog)
    app_config.add_translation_dirs(str(tmp_path), override=True)
    testapp = webtest.TestApp(
        app_config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "127.0.0.1"}
    )
    login(testapp, "admin")
    res = add_account_form(testapp).submit("save", status=200)
    assert field_errors(res, "name") == ["测试：必填项"]
    testapp.get("/?_LOCALE_=en")
    res = add_account_form(testapp).submit("save", status=200)
    assert field_errors(res, "name") == ["Required"]


# -- who may do what ---------------------------------------------------------------------
def test_security_admin_cannot_create_or_edit_accounts(testapp):
    login(testapp, "security")
    token = csrf_token(testapp)
    testapp.get("/110000/add-account", status=403)
    testapp.post("/110000/add-account", {"csrf_token": token, "login": "x"}, status=403)
    testapp.get("/accounts/xicheng/edit", status=403)
    testapp.get("/accounts/xicheng/reset-password", status=403)
    testapp.post("/accounts/xicheng/unlock", {"csrf_token": token}, status=403)
    # ... but sees accounts, to grant roles to them.
    page = testapp.get("/110000/accounts")
    assert page.html.find(id="add-account") is None
    assert testapp.get("/accounts/xicheng/").html.find(id="edit-account") is None


def test_system_admin_cannot_grant_roles(testapp):
    login(testapp, "admin")
    testapp.get("/accounts/xicheng/roles", status=403)
    revoke(testapp, "xicheng", "district_manager", "110102", status=403)
    assert testapp.get("/accounts/xicheng/").html.find(id="manage-roles") is None
    assert audit_rows(testapp, event="role.revoke") == []


def test_district_admin_sees_only_accounts_homed_in_the_district(testapp):
    # The demo has no district system admin: the security admin makes dongcheng one.
    login(testapp, "security")
    grant(testapp, "dongcheng", "sysadmin", "110101")
    testapp.reset()
    enrol(testapp, "dongcheng")  # administrators log in with a second factor
    login(testapp, "dongcheng")
    page = testapp.get("/110000/110101/accounts")
    assert listed_logins(page) == {"dongcheng", "centre", "staff", "station", "hospital"}
    centre = testapp.get("/110000/110101/110101001/accounts")
    assert listed_logins(centre) == {"centre", "staff", "station"}
    testapp.get("/110000/110102/accounts", status=403)
    testapp.get("/110000/accounts", status=403)
    testapp.get("/accounts/xicheng/", status=403)
    testapp.get("/accounts/xicheng/edit", status=403)
    testapp.get("/accounts/staff/", status=200)
    # Nor can the district admin create an account outside the district.
    form = add_account_form(
        testapp,
        unit="/110000/110101/",
        login="outside",
        name="外区",
        org="110102",
        password=NEW_PASSWORD,
    )
    form["password-confirm"] = NEW_PASSWORD
    assert len(field_errors(form.submit("save", status=200), "org")) == 1


def test_account_list_searches_and_pages(testapp):
    login(testapp, "admin")
    assert listed_logins(testapp.get("/110000/accounts?q=DONG")) == {"dongcheng"}
    assert listed_logins(testapp.get("/110000/accounts", {"q": "医院"})) == {"hospital"}
    assert listed_logins(testapp.get("/110000/accounts?status=inactive")) == set()
    res = testapp.get("/110000/accounts?status=bogus")
    assert res.html.select("#status.is-invalid")
    assert len(listed_logins(res)) == len(DEMO_ACCOUNTS)  # a bad filter is reported, ignored
    everyone = testapp.get("/110000/accounts?page=99")  # past the end: the last page
    assert len(listed_logins(everyone)) == len(DEMO_ACCOUNTS)


def test_account_list_pages_through_many_accounts(testapp):
    import transaction

    from portal.services.accounts import create_account

    tm = transaction.TransactionManager(explicit=True)
    with tm:
        conn = testapp.app.registry.zodb.open(transaction_manager=tm)
        site = conn.root()["site"]
        for n in range(60):
            create_account(site, f"user{n:03d}", f"用户{n}", "110105", NEW_PASSWORD)
    conn.close()
    login(testapp, "admin")
    first = testapp.get("/110000/accounts")
    assert len(listed_logins(first)) == 50
    summary = first.html.find(id="page-summary").get_text(" ", strip=True)
    total = len(DEMO_ACCOUNTS) + 60
    assert str(total) in summary
    second = testapp.get("/110000/accounts?page=2")
    assert len(listed_logins(second)) == total - 50
    assert not listed_logins(first) & listed_logins(second)
    assert listed_logins(testapp.get("/110000/110105/accounts?q=user05&page=1")) == {
        f"user05{n}" for n in range(10)
    }


# -- roles -------------------------------------------------------------------------------
def test_security_admin_grants_and_revokes_and_access_follows(testapp):
    grantee = browser(testapp)
    login(grantee, "xicheng")
    grantee.get("/110000/110101/", status=403)

    login(testapp, "security")
    grant(testapp, "xicheng", "district_manager", "110101")
    grantee.get("/110000/110101/", status=200)  # the same session, at once
    grantee.get("/110000/110101/110101001/", status=200)
    roles = testapp.get("/accounts/xicheng/roles")
    assert {
        (r["data-role"], r["data-org"]) for r in roles.html.select("#grants tr[data-role]")
    } == {("district_manager", "110102"), ("district_manager", "110101")}

    revoke(testapp, "xicheng", "district_manager", "110101")
    grantee.get("/110000/110101/", status=403)
    grantee.get("/110000/110102/", status=200)  # the other grant stays

    granted, revoked = (
        audit_rows(testapp, event="role.grant"),
        audit_rows(testapp, event="role.revoke"),
    )
    assert [(r.actor, r.target, r.org_code, r.detail["role"]) for r in granted + revoked] == [
        ("security", "xicheng", "110101", "district_manager")
    ] * 2


def test_grant_is_checked_at_the_field(testapp):
    login(testapp, "security")
    res = grant(testapp, "staff", "district_manager", "110101001", status=200)  # a centre
    assert len(field_errors(res, "org")) == 1
    res = grant(testapp, "staff", "centre_staff", "no-such-unit", status=200)
    assert len(field_errors(res, "org")) == 1
    res = grant(testapp, "staff", "", "110101001", status=200)
    assert len(field_errors(res, "role")) == 1
    res = grant(testapp, "staff", "centre_staff", "110101001", status=200)  # already held
    assert len(field_errors(res, "role")) == 1
    # 三员分立: the system admin cannot become the audit admin as well.
    res = grant(testapp, "admin", "auditor", "110000", status=200)
    assert len(field_errors(res, "role")) == 1
    form = res.forms["grant-form"]
    assert (form["role"].value, form["org"].value) == ("auditor", "110000")
    assert audit_rows(testapp, event="role.grant") == []


def test_nobody_changes_their_own_roles(testapp):
    login(testapp, "security")
    page = testapp.get("/accounts/security/roles")
    assert "grant-form" not in page.forms and not page.html.select(".revoke-form")
    revoke(testapp, "security", "secadmin", "110000", status=403)
    token = csrf_token(testapp)
    testapp.post(
        "/accounts/security/roles",
        {"csrf_token": token, "role": "sysadmin", "org": "110000", "grant": "grant"},
        status=403,
    )
    assert testapp.get("/accounts/security/").status_int == 200


def test_grant_needs_the_grant_permission_at_the_target_unit(testapp):
    login(testapp, "security")
    grant(testapp, "dongcheng", "secadmin", "110101")
    testapp.reset()
    enrol(testapp, "dongcheng")
    login(testapp, "dongcheng")  # a security admin for 东城区 only
    res = grant(testapp, "staff", "station_staff", "110102001001", status=200)
    assert len(field_errors(res, "org")) == 1
    grant(testapp, "staff", "station_staff", "110101001001")
    testapp.get("/accounts/xicheng/roles", status=403)


# -- editing, sessions, passwords, lockout ----------------------------------------------
def test_deactivating_an_account_ends_its_sessions_and_tokens(testapp):
    victim = browser(testapp)
    login(victim, "xicheng")
    token = api_token(victim, "xicheng")
    victim.get("/api/v1/me", headers=bearer(token), status=200)

    login(testapp, "admin")
    form = testapp.get("/accounts/xicheng/edit").forms["account-form"]
    assert form["name"].value == "西城区管理员" and form["active"].checked
    form["active"] = False
    form.submit("save", status=303)

    assert "/login" in victim.get("/", status=303).location
    victim.get("/api/v1/me", headers=bearer(token), status=401)
    with sql(testapp) as s:
        for model in (models.AuthSession, models.ApiToken):
            assert s.scalars(select(model).filter_by(login="xicheng")).all() == []
    [row] = audit_rows(testapp, event="account.update")
    assert row.detail == {"changes": {"active": [True, False]}, "sessions_ended": 2}
    login(browser(testapp), "xicheng", status=200)  # refused while inactive

    form = testapp.get("/accounts/xicheng/edit").forms["account-form"]
    form["active"] = True
    form["name"] = "西城区管理员（新）"
    form.submit("save", status=303)
    login(browser(testapp), "xicheng")
    assert audit_rows(testapp, event="account.update")[-1].detail == {
        "changes": {"name": ["西城区管理员", "西城区管理员（新）"], "active": [False, True]}
    }


def test_admin_cannot_deactivate_their_own_account(testapp):
    login(testapp, "admin")
    form = testapp.get("/accounts/admin/edit").forms["account-form"]
    assert "active" not in form.fields
    fields = dict(form.submit_fields())
    fields["active"] = "false"  # forged: ignored
    fields["name"] = "系统管理员甲"
    testapp.post("/accounts/admin/edit", fields, status=303)
    testapp.get("/", status=200)
    [row] = audit_rows(testapp, event="account.update")
    assert row.detail == {"changes": {"name": ["系统管理员", "系统管理员甲"]}}


def test_unlock_clears_a_lockout(testapp):
    other = browser(testapp)
    for _ in range(5):
        login(other, "xicheng", "Wrong-password-1", status=200)
    login(other, "xicheng", status=200)  # locked: the right password is refused

    login(testapp, "admin")
    assert listed_logins(testapp.get("/110000/accounts?status=locked")) == {"xicheng"}
    page = testapp.get("/accounts/xicheng/")
    assert page.html.find(id="locked-badge") is not None
    testapp.post("/accounts/xicheng/unlock", {"csrf_token": csrf_token(testapp)}, status=303)
    assert testapp.get("/accounts/xicheng/").html.find(id="locked-badge") is None
    assert listed_logins(testapp.get("/110000/accounts?status=locked")) == set()

    login(other, "xicheng")
    [row] = audit_rows(testapp, event="account.unlock")
    assert (row.actor, row.target, row.org_code) == ("admin", "xicheng", "110102")
    assert row.detail["locked_until"]


def test_unlock_needs_a_post_with_the_csrf_token(testapp):
    login(testapp, "admin")
    testapp.get("/accounts/xicheng/unlock", status=404)
    testapp.post("/accounts/xicheng/unlock", status=400)


def test_admin_resets_a_password(testapp):
    victim = browser(testapp)
    login(victim, "xicheng")
    login(testapp, "admin")
    form = testapp.get("/accounts/xicheng/reset-password").forms["account-form"]
    form["password"] = form["password-confirm"] = "xicheng-Password-1"
    res = form.submit("save", status=200)  # contains the login
    assert len(field_errors(res, "password")) == 1
    form = res.forms["account-form"]
    form["password"] = form["password-confirm"] = NEW_PASSWORD
    form.submit("save", status=303)
    victim.get("/", status=303)  # the old session ended
    login(browser(testapp), "xicheng", DEMO_PASSWORD, status=200)
    login(browser(testapp), "xicheng", NEW_PASSWORD)
    [row] = audit_rows(testapp, event="account.password")
    assert row.detail == {"by": "admin", "sessions_ended": 1}


def test_own_password_is_reset_only_through_the_change_page(testapp):
    login(testapp, "admin")
    res = testapp.get("/accounts/admin/reset-password", status=303)
    assert res.location == "http://localhost/password"


def test_everyone_changes_their_own_password(testapp):
    elsewhere = browser(testapp)
    login(elsewhere, "station")
    login(testapp, "station")
    assert testapp.get("/").html.find(attrs={"data-nav": "password"}) is not None
    form = testapp.get("/password").forms["password-form"]
    form["old_password"] = "Not-my-password-9"
    form["new_password"] = form["new_password-confirm"] = NEW_PASSWORD
    res = form.submit("change", status=200)
    assert len(field_errors(res, "old_password")) == 1
    assert res.forms["password-form"]["old_password"].value == ""

    form = res.forms["password-form"]
    form["old_password"] = DEMO_PASSWORD
    form["new_password"] = form["new_password-confirm"] = DEMO_PASSWORD
    res = form.submit("change", status=200)  # the same password again
    assert len(field_errors(res, "new_password")) == 1

    form = res.forms["password-form"]
    form["old_password"] = DEMO_PASSWORD
    form["new_password"] = form["new_password-confirm"] = NEW_PASSWORD
    page = form.submit("change", status=303).follow()
    assert page.html.find(role="status") is not None
    testapp.get("/", status=200)  # this browser stays logged in
    elsewhere.get("/", status=303)  # the other session ended

    login(browser(testapp), "station", DEMO_PASSWORD, status=200)
    login(browser(testapp), "station", NEW_PASSWORD)
    outcomes = [
        (r.outcome, r.detail.get("reason")) for r in audit_rows(testapp, event="account.password")
    ]
    assert outcomes == [("failure", "wrong_current_password"), ("success", None)]


def test_wrong_current_passwords_count_towards_the_lockout(testapp):
    login(testapp, "station")
    for _ in range(5):
        form = testapp.get("/password").forms["password-form"]
        form["old_password"] = "Not-my-password-9"
        form["new_password"] = form["new_password-confirm"] = NEW_PASSWORD
        form.submit("change", status=200)
    form = testapp.get("/password").forms["password-form"]
    form["old_password"] = DEMO_PASSWORD  # right, but the account is locked now
    form["new_password"] = form["new_password-confirm"] = NEW_PASSWORD
    res = form.submit("change", status=200)
    assert len(field_errors(res, "old_password")) == 1
    login(browser(testapp), "station", DEMO_PASSWORD, status=200)


def test_no_password_or_hash_reaches_the_audit_log_or_the_logs(testapp, caplog):
    caplog.set_level(logging.DEBUG)
    password = NEW_PASSWORD
    login(testapp, "admin")
    form = add_account_form(testapp, login="zhaoliu", name="赵六", org="110101", password=password)
    form["password-confirm"] = password
    form.submit("save", status=303)
    form = testapp.get("/accounts/zhaoliu/reset-password").forms["account-form"]
    form["password"] = form["password-confirm"] = password + "2"
    form.submit("save", status=303)
    testapp.reset()
    login(testapp, "zhaoliu", password + "2")
    form = testapp.get("/password").forms["password-form"]
    form["old_password"] = "Wrong-old-password-3"
    form["new_password"] = form["new_password-confirm"] = password + "3"
    form.submit("change", status=200)
    form["old_password"] = password + "2"
    form.submit("change", status=303)

    with sql(testapp) as s:
        rows = s.scalars(select(models.AuditEvent)).all()
        dumped = repr([(r.event, r.actor, r.target, r.detail) for r in rows])
    assert {"account.create", "account.password"} <= {r.event for r in rows}
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (password, password + "2", password + "3", "Wrong-old-password-3", "$argon2"):
        assert secret not in dumped
        assert secret not in logged
