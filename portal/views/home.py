"""The home dashboard: who you are, where you work, what you can reach, and when you last
logged in (so a person notices a login that was not theirs)."""

from collections import Counter

from pyramid.view import view_config
from sqlalchemy import func, select

from portal import models
from portal.resources import Site
from portal.security import Permission
from portal.views.common import local_time
from portal.views.layout import top_units


def login_history(request, login: str) -> dict:
    """The previous successful login and the failed attempts since it."""
    successes = (
        select(models.AuditEvent)
        .where(
            models.AuditEvent.event == "login",
            models.AuditEvent.outcome == "success",
            models.AuditEvent.target == login,
        )
        .order_by(models.AuditEvent.ts.desc(), models.AuditEvent.id.desc())
        .limit(2)
    )
    rows = list(request.dbsession.scalars(successes))
    # rows[0] is this session's own login; rows[1] the one before it.
    current = rows[0] if rows else None
    previous = rows[1] if len(rows) > 1 else None
    failures = 0
    if current is not None:
        query = select(func.count()).where(
            models.AuditEvent.event == "login",
            models.AuditEvent.outcome == "failure",
            models.AuditEvent.target == login,
            models.AuditEvent.id < current.id,
        )
        if previous is not None:
            query = query.where(models.AuditEvent.id > previous.id)
        failures = request.dbsession.scalar(query)
    return {
        "previous_time": local_time(previous.ts) if previous else None,
        "previous_ip": previous.ip if previous else None,
        "failures": failures,
    }


def unit_counts(units) -> Counter:
    counts = Counter()
    for top in units:
        for unit in top.walk():
            if unit.active:
                counts[unit.type] += 1
    return counts


@view_config(context=Site, renderer="portal:templates/home.pt", permission=Permission.HOME)
def home(request):
    identity = request.identity
    site = request.root_site
    grants = [
        {"role": role, "unit": site.unit_by_code(code), "code": code}
        for role, code in identity.account.grants
    ]
    units = top_units(request)
    return {
        "grants": grants,
        "units": units,
        "counts": unit_counts(units),
        "history": login_history(request, identity.login),
        "active_nav": "home",
    }
