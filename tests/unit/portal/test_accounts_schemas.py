"""The account, role and audit-filter schemas, and the helpers of the account and audit pages."""

import datetime as dt
from types import SimpleNamespace

import colander
import pytest
from pyramid import testing

from portal.demo import load_demo, load_divisions
from portal.evolve import evolve
from portal.resources import Site
from portal.schemas_accounts import (
    AccountAddSchema,
    AccountEditSchema,
    AuditFilterSchema,
    GrantRoleSchema,
    PasswordChangeSchema,
    PasswordResetSchema,
)
from portal.views.audit import (
    EVENTS,
    beijing_midnight_utc,
    detail_text,
    like_prefix,
    spreadsheet_safe,
)
from portal.views.common import Pager, local_time

GOOD = "Kangle#Clinic42"


@pytest.fixture(scope="module")
def site():
    site = Site()
    evolve(site)
    load_divisions(site)
    load_demo(site)
    return site


@pytest.fixture
def config():
    with testing.testConfig() as config:
        yield config


class Request(testing.DummyRequest):
    identity = None


def make_request(site, login="admin", allowed=lambda permission, unit: True, **params):
    request = Request(params=params)
    request.root_site = site
    request.identity = SimpleNamespace(login=login, account=site["accounts"].get(login))
    request.has_permission = lambda permission, context=None: allowed(permission, context)
    return request


def errors(schema, values) -> dict:
    with pytest.raises(colander.Invalid) as info:
        schema.deserialize(values)
    return info.value.asdict()


# -- add an account ----------------------------------------------------------------------
def add_schema(site, context_code="110000", **kw):
    request = make_request(site, **kw)
    return AccountAddSchema().bind(request=request, context=site.unit_by_code(context_code))


def test_add_account_accepts_good_values_and_normalises_the_login(config, site):
    values = add_schema(site).deserialize(
        {"login": "  Zhang.San ", "name": " 张三 ", "org": "110101", "password": GOOD}
    )
    assert (values["login"], values["name"], values["org"]) == ("zhang.san", "张三", "110101")


def test_add_account_defaults_to_the_context_unit(config, site):
    schema = add_schema(site, "110101")
    assert schema["org"].default == "110101"
    assert schema["csrf_token"].default  # the session's token, for the hidden field


@pytest.mark.parametrize(
    "password, problems",
    [
        ("Short#1a", 1),  # too short
        ("alllowercaseletters", 1),  # one kind of character
        ("short", 2),  # both
    ],
)
def test_add_account_lists_every_password_problem(config, site, password, problems):
    found = errors(
        add_schema(site), {"login": "lisi", "name": "李四", "org": "110101", "password": password}
    )
    assert set(found) == {"password"}
    assert len(found["password"].split("; ")) == problems


def test_add_account_refuses_a_password_holding_the_login(config, site):
    found = errors(
        add_schema(site),
        {"login": "lisi", "name": "李四", "org": "110101", "password": "Kangle#LISI-42"},
    )
    assert set(found) == {"password"}


def test_add_account_refuses_taken_and_malformed_logins(config, site):
    for login in ("admin", "9abc", "a", "has space", "x" * 40):
        found = errors(
            add_schema(site), {"login": login, "name": "n", "org": "110101", "password": GOOD}
        )
        assert set(found) == {"login"}, login


def test_add_account_keeps_the_home_unit_in_the_subtree_and_active(config, site):
    schema = add_schema(site, "110101")
    for org in ("110102", "110000", "999999", ""):
        found = errors(schema, {"login": "lisi", "name": "n", "org": org, "password": GOOD})
        assert set(found) == {"org"}, org
    schema.deserialize({"login": "lisi", "name": "n", "org": "110101001001", "password": GOOD})
    inactive = add_schema(site)  # 110103 (崇文区) is historical
    assert set(
        errors(inactive, {"login": "lisi", "name": "n", "org": "110103", "password": GOOD})
    ) == {"org"}
    denied = add_schema(site, allowed=lambda permission, unit: unit.code != "110105")
    assert set(
        errors(denied, {"login": "lisi", "name": "n", "org": "110105", "password": GOOD})
    ) == {"org"}


def test_add_account_requires_every_field(config, site):
    found = errors(add_schema(site), {})
    assert set(found) == {"login", "name", "org", "password"}
    assert found["name"] == "Required"


# -- edit, reset, change -----------------------------------------------------------------
def test_edit_offers_no_deactivation_of_oneself(config, site):
    accounts = site["accounts"]
    own = AccountEditSchema().bind(
        request=make_request(site, login="admin"), context=None, account=accounts["admin"]
    )
    assert own.deserialize({"name": "系统管理员", "active": "false"}) == {"name": "系统管理员"}
    other = AccountEditSchema().bind(
        request=make_request(site, login="admin"), context=None, account=accounts["city"]
    )
    assert other.deserialize({"name": "市级", "active": "false"}) == {
        "name": "市级",
        "active": False,
    }


def test_reset_checks_the_policy_against_the_accounts_login(config, site):
    schema = PasswordResetSchema().bind(
        request=make_request(site), context=None, account=site["accounts"]["xicheng"]
    )
    assert set(errors(schema, {"password": "Xicheng#2026ab"})) == {"password"}
    assert schema.deserialize({"password": GOOD}) == {"password": GOOD}


def test_change_needs_a_new_password_that_differs(config, site):
    schema = PasswordChangeSchema().bind(request=make_request(site, login="station"), context=None)
    assert set(errors(schema, {"old_password": GOOD, "new_password": GOOD})) == {"new_password"}
    assert set(errors(schema, {"old_password": "x", "new_password": "Station#2026ab"})) == {
        "new_password"
    }  # holds the login
    assert set(errors(schema, {"new_password": GOOD})) == {"old_password"}


def test_a_recent_password_is_refused_at_the_field(config, site):
    from portal.demo import DEMO_PASSWORD

    schema = PasswordChangeSchema().bind(request=make_request(site, login="station"), context=None)
    found = errors(schema, {"old_password": "x", "new_password": DEMO_PASSWORD})
    assert set(found) == {"new_password"}  # the current password: acceptable otherwise
    assert "${n}" not in found["new_password"] and "5" in found["new_password"]


# -- roles -------------------------------------------------------------------------------
def grant_schema(site, account="staff", allowed=lambda permission, unit: True):
    return GrantRoleSchema().bind(
        request=make_request(site, login="security", allowed=allowed),
        context=None,
        account=site["accounts"][account],
    )


@pytest.mark.parametrize(
    "role, org, field",
    [
        ("district_manager", "110101001", "org"),  # a centre is not a district
        ("referral_desk", "110101", "org"),
        ("centre_staff", "110101001", "role"),  # staff holds it already
        ("chief", "110101", "role"),  # no such role
        ("station_staff", "nowhere", "org"),
        ("district_manager", "110103", "org"),  # historical district
    ],
)
def test_grant_refusals_land_at_the_right_field(config, site, role, org, field):
    assert set(errors(grant_schema(site), {"role": role, "org": org})) == {field}


def test_grant_offers_the_accounts_home_unit(config, site):
    assert grant_schema(site, "station")["org"].default == "110101001001"


def test_grant_needs_the_grant_permission_at_the_unit(config, site):
    schema = grant_schema(site, allowed=lambda permission, unit: unit.code != "110102001001")
    assert set(errors(schema, {"role": "station_staff", "org": "110102001001"})) == {"org"}
    assert (
        schema.deserialize({"role": "station_staff", "org": "110101001001"})["org"]
        == "110101001001"
    )


@pytest.mark.parametrize(
    "account, role",
    [("admin", "auditor"), ("admin", "secadmin"), ("auditor", "sysadmin"), ("security", "auditor")],
)
def test_the_three_administrator_roles_stay_apart(config, site, account, role):
    assert set(errors(grant_schema(site, account), {"role": role, "org": "110000"})) == {"role"}


def test_an_administrator_role_again_elsewhere_is_fine(config, site):
    schema = grant_schema(site, "admin")
    assert schema.deserialize({"role": "sysadmin", "org": "110101"})["role"] == "sysadmin"


# -- audit filters -----------------------------------------------------------------------
def audit_schema():
    return AuditFilterSchema().bind(events=EVENTS)


def test_audit_filters_default_to_nothing():
    assert audit_schema().deserialize({}) == {
        "date_from": None,
        "date_to": None,
        "event": "",
        "actor": "",
        "outcome": "",
        "target": "",
    }


def test_audit_filters_parse_and_check():
    values = audit_schema().deserialize(
        {"date_from": "2026-03-01", "event": "role.*", "actor": " Admin ", "outcome": "denied"}
    )
    assert values["date_from"] == dt.date(2026, 3, 1) and values["actor"] == "admin"
    found = errors(
        audit_schema(),
        {"date_from": "2026-13-01", "event": "drop table", "outcome": "meh", "target": "x" * 300},
    )
    assert set(found) == {"date_from", "event", "outcome", "target"}
    assert found["date_from"] == "Enter a date as YYYY-MM-DD."
    found = errors(audit_schema(), {"date_from": "2026-03-02", "date_to": "2026-03-01"})
    assert set(found) == {"date_to"}


def test_beijing_days_in_utc():
    assert beijing_midnight_utc(dt.date(2026, 3, 1)) == dt.datetime(2026, 2, 28, 16, 0)
    assert local_time(dt.datetime(2026, 2, 28, 16, 0)).isoformat() == "2026-03-01T00:00:00+08:00"
    assert local_time(None) is None


def test_like_prefix_escapes_wildcards():
    assert like_prefix("/110000/") == "/110000/%"
    assert like_prefix("a_b%c\\") == "a\\_b\\%c\\\\%"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("xicheng", "xicheng"),
        (None, ""),
        (3, "3"),
    ],
)
def test_spreadsheet_safe(value, expected):
    assert spreadsheet_safe(value) == expected


def test_detail_text():
    assert detail_text(None) == ""
    assert detail_text({"role": "auditor", "changes": {"active": [True, False]}}) == (
        'changes={"active": [true, false]}; role=auditor'
    )


def test_pager_arithmetic():
    request = testing.DummyRequest(params={"event": "login", "page": "2"})
    request.path_url = "http://example.com/110000/audit"
    pager = Pager(request, page=2, total=120)
    assert (pager.pages, pager.offset, pager.first_row, pager.last_row) == (3, 50, 51, 100)
    assert pager.url(3) == "http://example.com/110000/audit?event=login&page=3"
    past_end = Pager(request, page=9, total=120)
    assert (past_end.page, past_end.offset, past_end.last_row) == (3, 100, 120)
    empty = Pager(request, page=1, total=0)
    assert (empty.pages, empty.first_row, empty.last_row) == (1, 0, 0)
    assert Pager(request, page=10, total=1000, size=10).window() == list(range(7, 14))
