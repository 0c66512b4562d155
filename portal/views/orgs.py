"""Browsing the organisation tree."""

from pyramid.view import view_config

from portal.resources import OrgUnit
from portal.security import Permission
from portal.views.orgs_admin import unit_actions


def breadcrumbs(request, unit):
    """The unit's ancestors the user may see, city first."""
    crumbs = []
    node = unit
    while isinstance(node, OrgUnit):
        crumbs.append(node)
        node = node.__parent__
    return [u for u in reversed(crumbs) if request.has_permission(Permission.ORG_VIEW, u)]


@view_config(
    context=OrgUnit, renderer="portal:templates/orgunit.pt", permission=Permission.ORG_VIEW
)
def orgunit_view(request):
    unit = request.context
    show_inactive = request.params.get("inactive") == "1"
    children = [c for c in unit.units() if c.active or show_inactive]
    return {
        "unit": unit,
        "children": children,
        "hidden_inactive": sum(1 for c in unit.units() if not c.active),
        "show_inactive": show_inactive,
        "crumbs": breadcrumbs(request, unit),
        "can_edit": request.has_permission(Permission.ORG_EDIT, unit),
        "actions": unit_actions(request, unit),
        "active_nav": "orgs",
    }
