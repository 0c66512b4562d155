"""The home dashboard: who you are, where you work, what you can reach."""

from pyramid.view import view_config

from portal.resources import Site
from portal.security import Permission
from portal.views.layout import top_units


@view_config(context=Site, renderer="portal:templates/home.pt", permission=Permission.HOME)
def home(request):
    identity = request.identity
    site = request.root_site
    grants = []
    for role, code in identity.account.grants:
        unit = site.unit_by_code(code)
        grants.append({"role": role, "unit": unit, "code": code})
    units = top_units(request)
    return {"grants": grants, "units": units, "active_nav": "home"}
