"""Demo data: Beijing's districts (real codes) with synthetic centres, stations, hospitals
and the demo accounts. Nothing here is a real person or a real institution's data."""

import csv
import datetime as dt
import os

from portal.resources import OrgUnit
from portal.services import two_factor
from portal.services.accounts import create_account, grant_role

DEMO_PASSWORD = "Demo@Portal2026"  # noqa: S105 - documented demo credential
# The demo administrators' second factor: documented, so demo-only (README.md). A real
# administrator enrols with a secret of their own on the two-factor page.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXP"  # noqa: S105 - documented demo credential
DIVISIONS_CSV = os.path.join(os.path.dirname(__file__), "data", "beijing_divisions.csv")

# Synthetic street names used to build centre and station names.
_STREETS = ["和平", "光明", "康乐", "安宁", "长青", "福寿", "春晖", "新华", "育才", "朝晖"]

HOSPITALS = [
    ("110101", "110101901", "北京市东城区示范医院"),
    ("110108", "110108901", "北京市海淀区示范医院"),
]

DEMO_ACCOUNTS = [
    # login, name, home unit, role
    ("admin", "系统管理员", "110000", "sysadmin"),
    ("security", "安全管理员", "110000", "secadmin"),
    ("auditor", "审计管理员", "110000", "auditor"),
    ("city", "市级管理员", "110000", "city_manager"),
    ("dongcheng", "东城区管理员", "110101", "district_manager"),
    ("xicheng", "西城区管理员", "110102", "district_manager"),
    ("centre", "东城区中心负责人", "110101001", "centre_manager"),
    ("staff", "东城区中心调查员", "110101001", "centre_staff"),
    ("station", "东城区站点调查员", "110101001001", "station_staff"),
    ("hospital", "医院转诊员", "110101901", "referral_desk"),
]


def _date(value):
    return dt.date.fromisoformat(value) if value else None


def load_divisions(site) -> None:
    """The city and its 16 current and 4 historical districts, from the shipped CSV."""
    with open(DIVISIONS_CSV, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        valid_to = _date(row["valid_to"])
        unit = OrgUnit(
            code=row["code"],
            name=row["name"],
            type=row["level"],
            active=valid_to is None,
            valid_from=_date(row["valid_from"]),
            valid_to=valid_to,
            successor=row["successor"] or None,
        )
        parent = site if not row["parent"] else site.unit_by_code(row["parent"])
        add_unit(site, parent, unit)


def add_unit(site, parent, unit):
    parent.add(unit.code, unit)
    site.units[unit.code] = unit
    return unit


def load_demo_tree(site) -> None:
    city = site.unit_by_code("110000")
    for index, district in enumerate(u for u in city.units() if u.active and u.type == "district"):
        short = district.name.removesuffix("区")
        for c in range(1, 3):
            street = _STREETS[(index + c) % len(_STREETS)]
            centre = add_unit(
                site,
                district,
                OrgUnit(f"{district.code}{c:03d}", f"{short}{street}社区卫生服务中心", "centre"),
            )
            for s in range(1, 3):
                add_unit(
                    site,
                    centre,
                    OrgUnit(
                        f"{centre.code}{s:03d}", f"{short}{street}第{s}社区卫生服务站", "station"
                    ),
                )
    for district_code, code, name in HOSPITALS:
        add_unit(site, site.unit_by_code(district_code), OrgUnit(code, name, "hospital"))


def load_demo_accounts(site) -> None:
    for login, name, org, role in DEMO_ACCOUNTS:
        account = create_account(site, login, name, org, DEMO_PASSWORD)
        grant_role(account, role, site.unit_by_code(org))
        if two_factor.required(account):
            two_factor.enrol(account, DEMO_TOTP_SECRET)


def load_demo(site) -> bool:
    """Load the demo once (after the divisions); returns False when it is already there."""
    if site.unit_by_code("110101001") is not None or "admin" in site["accounts"]:
        return False
    load_demo_tree(site)
    load_demo_accounts(site)
    return True
