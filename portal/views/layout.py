"""What every page's layout needs: the macro, the navigation for this user, the CSRF token."""

from dataclasses import dataclass

from pyramid.csrf import get_csrf_token
from pyramid.events import BeforeRender, subscriber
from pyramid.renderers import get_renderer

from portal.i18n import _
from portal.security import Permission
from portal.vocab import role_title, unit_type_title


@dataclass
class NavItem:
    title: object
    url: str
    key: str


def top_units(request):
    """The highest units at which the user holds a role (their part of the tree)."""
    identity = request.identity
    if identity is None:
        return []
    site = request.root_site
    units = {}
    for _role, code in identity.account.grants:
        unit = site.unit_by_code(code)
        if unit is not None:
            units[unit.path] = unit
    paths = sorted(units)
    return [units[p] for p in paths if not any(p != q and p.startswith(q) for q in paths)]


def navigation(request) -> list[NavItem]:
    identity = request.identity
    if identity is None:
        return []
    items = [NavItem(_("nav_home", default="Home"), request.application_url + "/", "home")]
    units = top_units(request)
    first = units[0] if units else None
    if first is not None and request.has_permission(Permission.ORG_VIEW, first):
        items.append(
            NavItem(_("nav_orgs", default="Organisations"), request.resource_url(first), "orgs")
        )
    for permission, view, title, key in (
        (Permission.ACCOUNT_VIEW, "accounts", _("nav_accounts", default="Accounts"), "accounts"),
        (Permission.AUDIT_VIEW, "audit", _("nav_audit", default="Audit log"), "audit"),
        (Permission.SUBMISSION_CREATE, "forms", _("nav_entry", default="Fill in forms"), "entry"),
        (
            Permission.SUBMISSION_VIEW,
            "submissions",
            _("nav_submissions", default="Submissions"),
            "submissions",
        ),
        (
            Permission.REFERENCE_VIEW,
            "reference",
            _("nav_reference", default="Reference figures"),
            "reference",
        ),
    ):
        unit = next((u for u in units if request.has_permission(permission, u)), None)
        if unit is not None:
            items.append(NavItem(title, request.resource_url(unit, view), key))
    if any(request.has_permission(Permission.REPORT_VIEW, u) for u in units):
        items.append(
            NavItem(_("nav_reports", default="Reports"), request.route_url("reports"), "reports")
        )
    if any(
        request.has_permission(Permission.REFERRAL_VIEW, u)
        or request.has_permission(Permission.REFERRAL_HANDLE, u)
        for u in units
    ):
        items.append(
            NavItem(
                _("nav_referrals", default="Referrals"), request.route_url("referrals"), "referrals"
            )
        )
    elif (
        first is not None
        and first.type == "city"
        and request.has_permission(Permission.ORG_EDIT, first)
    ):
        items.append(
            NavItem(
                _("nav_referral_partners", default="Partner hospitals"),
                request.route_url("referral_partners"),
                "referrals",
            )
        )
    forms = request.root_site.get("forms")
    if forms is not None and request.has_permission(Permission.FORM_EDIT, forms):
        items.append(
            NavItem(_("nav_forms", default="Form admin"), request.resource_url(forms), "forms")
        )
    return items


@subscriber(BeforeRender)
def add_layout_globals(event):
    request = event.get("request")
    if request is None or event.get("renderer_name", "").endswith(".json"):
        return
    renderer_name = event.get("renderer_name") or ""
    if not renderer_name.endswith(".pt"):
        return
    event["layout"] = get_renderer("portal:templates/layout.pt").implementation()
    event.setdefault("nav", navigation(request))
    event.setdefault("csrf_token", get_csrf_token(request))
    event.setdefault("active_nav", "")
    event["role_title"] = role_title
    event["unit_type_title"] = unit_type_title
