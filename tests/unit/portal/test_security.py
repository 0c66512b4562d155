"""Roles, local roles along the lineage, passwords and the site ACL."""

import pytest
from pyramid.authorization import ACLHelper, Authenticated, Everyone

from portal.demo import load_demo, load_divisions
from portal.evolve import evolve
from portal.resources import Site
from portal.security import (
    ROLE_HOLDER,
    ROLE_PERMISSIONS,
    Identity,
    Permission,
    Role,
    local_roles,
    role_principal,
    site_acl,
)
from portal.services import accounts


@pytest.fixture
def site():
    site = Site()
    evolve(site)
    load_divisions(site)
    load_demo(site)
    return site


def identity(site, login):
    account = site["accounts"][login]
    return Identity(login=login, name=account.name, account=account, via="test")


def test_roles_hold_for_the_whole_subtree(site):
    dongcheng = identity(site, "dongcheng")
    assert local_roles(dongcheng, site.unit_by_code("110101001001")) == {"district_manager"}
    assert local_roles(dongcheng, site.unit_by_code("110101")) == {"district_manager"}
    assert local_roles(dongcheng, site.unit_by_code("110102")) == frozenset()
    assert local_roles(dongcheng, site.unit_by_code("110000")) == frozenset()


def test_account_context_is_scoped_by_home_unit(site):
    security = identity(site, "security")
    assert local_roles(security, site["accounts"]["staff"]) == {"secadmin"}
    dongcheng = identity(site, "dongcheng")
    assert local_roles(dongcheng, site["accounts"]["xicheng"]) == frozenset()
    assert local_roles(dongcheng, site) == frozenset()  # the site itself is no unit


def test_site_acl_denies_what_is_not_granted(site):
    helper = ACLHelper()
    everyone = [Everyone, Authenticated]
    assert helper.permits(site, everyone, Permission.HOME)
    assert not helper.permits(site, everyone, Permission.ORG_VIEW)
    assert not helper.permits(site, [*everyone, role_principal("sysadmin")], Permission.AUDIT_VIEW)
    assert not helper.permits(site, [*everyone, role_principal("sysadmin")], Permission.ROLE_GRANT)
    assert helper.permits(site, [*everyone, role_principal("auditor")], Permission.AUDIT_VIEW)
    assert not helper.permits(site, [*everyone, role_principal("auditor")], Permission.ORG_EDIT)
    assert site_acl()[-1][0] == "Deny"


def test_roles_only_where_they_belong(site):
    staff = site["accounts"]["staff"]
    with pytest.raises(ValueError):
        accounts.grant_role(staff, Role.DISTRICT_MANAGER, site.unit_by_code("110101001"))
    accounts.grant_role(staff, Role.STATION_STAFF, site.unit_by_code("110101001002"))
    assert ("station_staff", "110101001002") in staff.grants
    accounts.revoke_role(staff, Role.STATION_STAFF, site.unit_by_code("110101001002"))
    assert ("station_staff", "110101001002") not in staff.grants
    assert "staff" not in site.unit_by_code("110101001002").local_roles


@pytest.mark.parametrize(
    "password, ok",
    [
        ("Demo@Portal2026", True),
        ("short-A1", False),  # too short
        ("alllowercaseletters", False),  # one class
        ("lowercase and digits 12", True),  # lower, digit, symbol (space)
        ("Lowercaseandupper", False),  # two classes
        ("Xicheng-1234567", False),  # contains the login
    ],
)
def test_password_policy(password, ok):
    assert (accounts.password_problems(password, "xicheng") == []) is ok


def test_passwords_are_hashed_with_argon2id():
    hashed = accounts.hash_password("Demo@Portal2026")
    assert hashed.startswith("$argon2id$")
    assert accounts.verify_password(hashed, "Demo@Portal2026")
    assert not accounts.verify_password(hashed, "demo@portal2026")
    assert not accounts.verify_password("garbage", "x")


def test_forms_are_read_by_any_role_holder_and_edited_at_the_top_of_the_tree(site):
    helper = ACLHelper()
    forms = site["forms"]
    assert local_roles(identity(site, "admin"), forms) == {"sysadmin"}
    assert local_roles(identity(site, "staff"), forms) == frozenset()
    everyone = [Everyone, Authenticated]
    assert not helper.permits(forms, everyone, Permission.FORM_VIEW)
    assert helper.permits(forms, [*everyone, ROLE_HOLDER], Permission.FORM_VIEW)
    assert not helper.permits(forms, [*everyone, ROLE_HOLDER], Permission.FORM_EDIT)
    assert helper.permits(forms, [*everyone, role_principal("sysadmin")], Permission.FORM_EDIT)


def test_only_survey_staff_fill_in_forms_and_see_personal_fields():
    def holders(permission):
        return {role for role, granted in ROLE_PERMISSIONS.items() if permission in granted}

    staff = {Role.CENTRE_STAFF, Role.STATION_STAFF}
    assert holders(Permission.SUBMISSION_CREATE) == holders(Permission.SUBMISSION_PII) == staff
    managers = {Role.CITY_MANAGER, Role.DISTRICT_MANAGER, Role.CENTRE_MANAGER}
    assert holders(Permission.SUBMISSION_VIEW) == staff | managers
    # Managers review (approve, return, reopen); only district and city approve periods.
    assert holders(Permission.SUBMISSION_APPROVE) == managers
    assert holders(Permission.PERIOD_APPROVE) == {Role.CITY_MANAGER, Role.DISTRICT_MANAGER}
    assert holders(Permission.FORM_EDIT) == {Role.SYSADMIN}
    assert holders(Permission.FORM_VIEW) == set(Role)
