"""Display titles for the portal's fixed vocabularies (roles, unit types), translatable."""

from portal.i18n import _

ROLE_TITLES = {
    "sysadmin": _("role_sysadmin", default="System administrator"),
    "secadmin": _("role_secadmin", default="Security administrator"),
    "auditor": _("role_auditor", default="Audit administrator"),
    "city_manager": _("role_city_manager", default="City manager"),
    "district_manager": _("role_district_manager", default="District manager"),
    "centre_manager": _("role_centre_manager", default="Centre manager"),
    "centre_staff": _("role_centre_staff", default="Centre staff"),
    "station_staff": _("role_station_staff", default="Station staff"),
    "referral_desk": _("role_referral_desk", default="Hospital referral desk"),
}

UNIT_TYPE_TITLES = {
    "city": _("unit_city", default="City"),
    "district": _("unit_district", default="District"),
    "centre": _("unit_centre", default="Community health service centre"),
    "station": _("unit_station", default="Community health service station"),
    "hospital": _("unit_hospital", default="Hospital"),
}


def role_title(role: str):
    return ROLE_TITLES.get(role, role)


def unit_type_title(unit_type: str):
    return UNIT_TYPE_TITLES.get(unit_type, unit_type)
