"""The home dashboard: who you are, where you work, what you can reach, and when you last
logged in (so a person notices a login that was not theirs)."""

from collections import Counter

from pyramid.view import view_config
from sqlalchemy import func, select

from portal import models
from portal.i18n import forms_language
from portal.resources import Site
from portal.security import Permission
from portal.services import inbox
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


def inbox_rows(request) -> dict:
    """What waits for the caller, as the home page lists it: counts by kind and the items,
    each with the page it links to."""
    waiting = inbox.waiting(request)
    site = request.root_site
    rows = []
    for item in waiting.items:
        data = item.json()
        unit = site.unit_by_code(data["org"])
        if unit is None:
            continue
        if data["kind"] == "period":
            url = request.resource_url(
                unit, "submissions", query={"form": data["form"], "period": data["period"]}
            )
        else:
            url = request.resource_url(unit, "submissions", data["id"])
        rows.append({**data, "unit": unit.name, "page_url": url})
    return {
        "counts": waiting.counts,
        "capped": waiting.capped,
        "items": rows,
        "total": sum(waiting.counts.values()),
    }


def form_titles(request) -> dict[str, str]:
    language = forms_language(request)
    return {
        form.name: form.latest.definition().title.get(language) or form.name
        for form in request.root_site["forms"].values()
        if form.latest is not None
    }


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
        "inbox": inbox_rows(request),
        "form_titles": form_titles(request),
        "grants": grants,
        "units": units,
        "counts": unit_counts(units),
        "history": login_history(request, identity.login),
        "active_nav": "home",
    }
