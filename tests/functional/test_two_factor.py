"""Two-factor login through the API and the pages: the token contract (otp), codes counted
toward the lockout, replay and clock skew, enrolment with recovery codes shown once, the
administrators sent to enrol, and the security administrator's reset (never one's own)."""

import re
import time

import pyotp
import transaction
import webtest

from tests.conftest import (
    DEMO_PASSWORD,
    DEMO_TOTP_SECRET,
    audit_rows,
    bearer,
    login,
    otp_code,
)


class DemoTOTP(pyotp.TOTP):
    min_secret_length_bits = 80  # the demo secret's length


def code(offset=0, secret=DEMO_TOTP_SECRET) -> str:
    """The code of the step `offset` steps from now."""
    return DemoTOTP(secret).at(time.time() + 30 * offset)


def token_request(testapp, login_name, otp=None, password=DEMO_PASSWORD, status=201):
    body = {"login": login_name, "password": password}
    if otp is not None:
        body["otp"] = otp
    return testapp.post_json("/api/v1/tokens", body, status=status)


def account_state(testapp, login_name, change=None):
    """Read (and with `change`, change) an account as stored, outside any request."""
    tm = transaction.TransactionManager(explicit=True)
    with tm:
        conn = testapp.app.registry.zodb.open(transaction_manager=tm)
        account = conn.root()["site"]["accounts"][login_name]
        if change is not None:
            change(account)
        state = {
            "secret": account.totp_secret,
            "recovery": len(account.recovery_codes),
            "last_step": account.totp_last_step,
        }
    conn.close()
    return state


def browser(testapp):
    return webtest.TestApp(testapp.app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})


# -- the API's contract ------------------------------------------------------------------
def test_token_of_an_enrolled_account_needs_its_code(checked, testapp):
    missing = checked("post_json", "/api/v1/tokens", 401, params=_body("admin"))
    assert missing.json["otp_required"] is True
    wrong = checked("post_json", "/api/v1/tokens", 401, params=_body("admin", otp="000000"))
    assert wrong.json["otp_required"] is True
    # A right code with a wrong password reveals nothing about the code.
    bad_password = _body("admin", otp=code(), password="Wrong-Password-1")
    res = checked("post_json", "/api/v1/tokens", 401, params=bad_password)
    assert "otp_required" not in res.json
    good = code()
    token = checked("post_json", "/api/v1/tokens", 201, params=_body("admin", otp=good)).json
    testapp.get("/api/v1/me", headers=bearer(token["token"]), status=200)
    # The same code is not accepted twice.
    again = checked("post_json", "/api/v1/tokens", 401, params=_body("admin", otp=good))
    assert again.json["otp_required"] is True
    # Accounts without a second factor log in with the password alone.
    checked("post_json", "/api/v1/tokens", 201, params=_body("city"))
    rows = audit_rows(testapp, event="login", outcome="failure", target="admin")
    assert [r.detail["reason"] for r in rows] == ["bad_otp", "bad_credentials", "bad_otp"]
    success = audit_rows(testapp, event="login", outcome="success", target="admin")
    assert [r.detail.get("factor") for r in success] == ["totp"]


def _body(login_name, otp=None, password=DEMO_PASSWORD) -> dict:
    body = {"login": login_name, "password": password}
    if otp is not None:
        body["otp"] = otp
    return body


def test_a_code_must_be_a_string(testapp):
    res = testapp.post_json("/api/v1/tokens", {**_body("admin"), "otp": 123456}, status=400)
    assert "otp" in res.json["error"]


def test_wrong_codes_count_toward_the_lockout(testapp):
    for _ in range(4):
        token_request(testapp, "auditor", otp="000000", status=401)
    # The right password without a code neither counts nor clears the count.
    assert token_request(testapp, "auditor", status=401).json["otp_required"] is True
    token_request(testapp, "auditor", otp="000000", status=401)  # the fifth: locked
    # Locked: even the right code is refused, with the answer of a wrong password.
    res = token_request(testapp, "auditor", otp=code(), status=401)
    assert "otp_required" not in res.json
    assert len(audit_rows(testapp, event="account.lockout", target="auditor")) == 1
    # And on the login page: the password step is answered as for a wrong password.
    page = login(testapp, "auditor", status=200)
    assert page.html.find(id="login-error") is not None
    assert page.html.find(id="otp-step") is None


def settle():
    """Wait while the current 30-second step has under 3 s to run, so that codes computed
    from now are judged in the same step."""
    while time.time() % 30 > 27:
        time.sleep(0.2)


def test_codes_one_step_off_are_accepted_and_two_refused(testapp):
    settle()
    token_request(testapp, "security", otp=code(-2), status=401)
    token_request(testapp, "security", otp=code(2), status=401)
    token_request(testapp, "security", otp=code(-1), status=201)
    token_request(testapp, "security", otp=code(+1), status=201)
    # A step no later than the last one used is refused, though within the skew.
    token_request(testapp, "security", otp=code(0), status=401)


# -- the login page ----------------------------------------------------------------------
def password_step(testapp, login_name, next_path=""):
    form = testapp.get("/login" + (f"?next={next_path}" if next_path else "")).forms[
        "password-step"
    ]
    form["login"], form["password"] = login_name, DEMO_PASSWORD
    return form.submit(status=303)


def test_login_page_asks_for_the_code_on_a_second_step(testapp):
    res = password_step(testapp, "admin", "/110000/")
    assert res.location.endswith("/login?next=%2F110000%2F")
    page = res.follow()
    assert page.html.find(id="otp-login").get_text() == "admin"
    assert page.html.find(id="password-step") is None
    # Not logged in yet.
    assert "/login" in testapp.get("/", status=303).location
    form = page.forms["otp-step"]
    form["otp"] = "000000"
    wrong = form.submit(status=200)
    assert wrong.html.find(id="login-error") is not None
    assert wrong.html.find(id="otp-step") is not None
    form = wrong.forms["otp-step"]
    form["otp"] = otp_code(testapp.app.registry.zodb, "admin")
    done = form.submit(status=303)
    assert done.location == "http://localhost/110000/"
    assert 'data-user="admin"' in testapp.get("/").text
    failures = audit_rows(testapp, event="login", outcome="failure", target="admin")
    assert [r.detail["reason"] for r in failures] == ["bad_otp"]
    success = audit_rows(testapp, event="login", outcome="success", target="admin")
    assert success[-1].detail == {"via": "form", "factor": "totp"}


def test_the_code_step_lapses_and_can_be_left(testapp, monkeypatch):
    from portal.views import auth

    password_step(testapp, "admin")
    assert testapp.get("/login").html.find(id="otp-step") is not None
    page = testapp.get("/login?restart=1")
    assert page.html.find(id="password-step") is not None
    password_step(testapp, "admin")
    monkeypatch.setattr(auth, "PENDING_SECONDS", -1)  # the 5 minutes are over
    page = testapp.get("/login")
    assert page.html.find(id="password-step") is not None
    # A code posted without a password step first (or after it lapsed) logs nobody in,
    # and counts nothing.
    token = page.forms["password-step"]["csrf_token"].value
    res = testapp.post("/login", {"csrf_token": token, "otp": code()}, status=200)
    assert res.html.find(id="login-error") is not None
    assert res.html.find(id="password-step") is not None
    assert "/login" in testapp.get("/", status=303).location
    assert audit_rows(testapp, event="login", outcome="failure") == []


def test_wrong_codes_on_the_page_lock_the_account(testapp):
    page = password_step(testapp, "security").follow()
    for _ in range(5):
        form = page.forms["otp-step"]
        form["otp"] = "999999"
        page = form.submit(status=200)
    form = page.forms["otp-step"]
    form["otp"] = code()
    locked = form.submit(status=200)
    # Back to the password step, with the message of a wrong password.
    assert locked.html.find(id="password-step") is not None
    assert locked.html.find(id="login-error") is not None
    token_request(testapp, "security", otp=code(1), status=401)
    assert len(audit_rows(testapp, event="account.lockout", target="security")) == 1


# -- enrolment and recovery codes ---------------------------------------------------------
def enrol_on_the_page(testapp) -> tuple[str, list[str]]:
    """Set up two-factor login for the logged-in account; returns its secret and its
    recovery codes."""
    page = testapp.get("/two-factor")
    page = page.forms["start-form"].submit("start", status=303).follow()
    assert page.html.find(id="totp-qr").find("svg") is not None
    secret = "".join(page.html.find(id="totp-secret").get_text().split())
    uri = page.html.find(id="totp-uri").get_text()
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    form = page.forms["confirm-form"]
    form["otp"] = "123456" if code(secret=secret) != "123456" else "654321"
    wrong = form.submit("confirm", status=200)
    assert wrong.html.find(id="two-factor-error") is not None
    form = wrong.forms["confirm-form"]
    form["otp"] = code(secret=secret)
    done = form.submit("confirm", status=200)
    codes = [li["data-recovery-code"] for li in done.html.select("[data-recovery-code]")]
    return secret, codes


def test_anyone_may_enrol_and_recovery_codes_work_once(testapp):
    login(testapp, "city")
    secret, codes = enrol_on_the_page(testapp)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", c) for c in codes)
    # Shown once: the page shows how many are left, not the codes.
    page = testapp.get("/two-factor")
    assert page.html.select("[data-recovery-code]") == []
    assert "10" in page.html.find(id="two-factor-status").get_text()
    state = account_state(testapp, "city")
    assert state["secret"] == secret and state["recovery"] == 10
    assert len(audit_rows(testapp, event="account.two_factor.enrol", target="city")) == 1

    # The password alone no longer gets a token; a recovery code does, once.
    assert token_request(testapp, "city", status=401).json["otp_required"] is True
    token_request(testapp, "city", otp=codes[0].upper(), status=201)
    token_request(testapp, "city", otp=codes[0], status=401)
    used = audit_rows(testapp, event="account.two_factor.recovery", target="city")
    assert [r.detail["remaining"] for r in used] == [9]
    # On the login page too.
    other = browser(testapp)
    page = password_step(other, "city").follow()
    form = page.forms["otp-step"]
    form["otp"] = codes[1]
    form.submit(status=303)
    assert account_state(testapp, "city")["recovery"] == 8
    # No secret or code reaches the audit log.
    logged = repr([(r.target, r.detail) for r in audit_rows(testapp)])
    assert secret not in logged
    assert not any(c in logged or c.replace("-", "") in logged for c in codes)


def test_new_recovery_codes_need_the_current_code_and_replace_the_old(testapp):
    login(testapp, "auditor")
    page = testapp.get("/two-factor")
    form = page.forms["recovery-form"]
    form["otp"] = "000000"
    assert form.submit("recovery_codes", status=200).html.find(id="two-factor-error")
    form = page.forms["recovery-form"]
    form["otp"] = otp_code(testapp.app.registry.zodb, "auditor")
    done = form.submit("recovery_codes", status=200)
    codes = [li["data-recovery-code"] for li in done.html.select("[data-recovery-code]")]
    assert len(codes) == 10
    assert len(audit_rows(testapp, event="account.two_factor.recovery_codes")) == 1
    token_request(testapp, "auditor", otp=codes[3], status=201)


def test_an_administrator_without_a_second_factor_enrols_before_anything_else(testapp):
    login(testapp, "security")
    form = testapp.get("/accounts/dongcheng/roles").forms["grant-form"]
    form["role"], form["org"] = "sysadmin", "110101"
    form.submit("grant", status=303)

    other = browser(testapp)
    res = login(other, "dongcheng")  # the password alone, as it has no second factor yet
    assert res.follow(status=303).location == "http://localhost/two-factor"
    for path in ("/", "/110000/110101/", "/110000/110101/accounts"):
        assert other.get(path, status=303).location == "http://localhost/two-factor"
    page = other.get("/two-factor")
    assert page.html.find(id="two-factor-required") is not None
    res = token_request(other, "dongcheng", status=403)
    assert res.json["otp_enrolment_required"] is True
    secret, _codes = enrol_on_the_page(other)
    other.get("/110000/110101/accounts", status=200)
    token_request(other, "dongcheng", otp=code(1, secret), status=201)


# -- the security administrator's reset ---------------------------------------------------
def test_security_admin_resets_a_second_factor_but_not_their_own(testapp):
    victim = browser(testapp)
    login(victim, "admin")
    login(testapp, "security")
    page = testapp.get("/accounts/admin/")
    assert page.html.find(id="reset-two-factor-form") is not None
    page.forms["reset-two-factor-form"].submit(status=303)
    assert account_state(testapp, "admin")["secret"] is None
    rows = audit_rows(testapp, event="account.two_factor.reset", target="admin")
    assert len(rows) == 1 and rows[0].actor == "security"
    assert rows[0].detail["sessions_ended"] == 1
    # The admin's session ended; at the next login they set it up again.
    assert "/login" in victim.get("/", status=303).location
    res = login(victim, "admin")
    assert res.follow(status=303).location == "http://localhost/two-factor"

    # Nobody removes their own, nor without the security administrator's permission.
    own = testapp.get("/accounts/security/")
    assert own.html.find(id="reset-two-factor-form") is None
    token = own.html.find("input", {"name": "csrf_token"})["value"]
    testapp.post("/accounts/security/reset-two-factor", {"csrf_token": token}, status=403)
    assert account_state(testapp, "security")["secret"] == DEMO_TOTP_SECRET
    auditor = browser(testapp)
    login(auditor, "auditor")
    token = auditor.get("/two-factor").html.find("input", {"name": "csrf_token"})["value"]
    auditor.post("/accounts/security/reset-two-factor", {"csrf_token": token}, status=403)
    assert account_state(testapp, "security")["secret"] == DEMO_TOTP_SECRET
