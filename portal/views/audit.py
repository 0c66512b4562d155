"""The audit log for audit administrators: browse and filter a unit's events, download CSV.

A unit's events are those whose org_path lies in its subtree; at the top of the tree also
those tied to no unit (a failed login with an unknown name, a logout). Times are stored in
UTC and shown, filtered and exported in Beijing time.
"""

import csv
import datetime as dt
import io
import json

from pyramid.httpexceptions import HTTPBadRequest
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import func, or_, select

from portal import audit, models
from portal.i18n import _
from portal.models import AuditEvent
from portal.resources import OrgUnit
from portal.schemas_accounts import OUTCOMES, AuditFilterSchema, parse_query
from portal.security import Permission
from portal.views.common import BEIJING, Pager, local_time, page_number

# The event filter's choices. A value ending in ".*" selects every event with that prefix,
# so events added later (e.g. by the org tree pages) are found without a new entry here.
EVENTS = {
    "login": _("event_login", default="Log in"),
    "logout": _("event_logout", default="Log out"),
    "account.lockout": _("event_account_lockout", default="Account locked after failed logins"),
    "access": _("event_access", default="Access to a page"),
    "account.*": _("event_account_any", default="Any account change"),
    "account.create": _("event_account_create", default="Account created"),
    "account.update": _("event_account_update", default="Account changed"),
    "account.password": _("event_account_password", default="Password set"),
    "account.unlock": _("event_account_unlock", default="Account unlocked"),
    "role.*": _("event_role_any", default="Any role change"),
    "role.grant": _("event_role_grant", default="Role granted"),
    "role.revoke": _("event_role_revoke", default="Role revoked"),
    "org.*": _("event_org_any", default="Any organisation tree event"),
    "org.create": _("event_org_create", default="Unit added"),
    "org.update": _("event_org_update", default="Unit changed"),
    "org.move": _("event_org_move", default="Unit moved"),
    "org.deactivate": _("event_org_deactivate", default="Unit deactivated"),
    "org.import": _("event_org_import", default="Units imported"),
    "org.export": _("event_org_export", default="Units exported"),
    "audit.export": _("event_audit_export", default="Audit log downloaded"),
    "form.*": _("event_form_any", default="Any form definition event"),
    "form.import": _("event_form_import", default="Form imported as a draft"),
    "form.publish": _("event_form_publish", default="Form version published"),
    "submission.*": _("event_submission_any", default="Any submission event"),
    "submission.create": _("event_submission_create", default="Submission received"),
    "submission.draft": _("event_submission_draft", default="Submission draft saved"),
    "submission.read": _("event_submission_read", default="Submission with personal data read"),
    "submission.edit": _("event_submission_edit", default="Submitted record edited"),
}
OUTCOME_TITLES = {
    "success": _("outcome_success", default="Success"),
    "failure": _("outcome_failure", default="Failure"),
    "denied": _("outcome_denied", default="Denied"),
}
FILTER_FIELDS = ("date_from", "date_to", "event", "actor", "outcome", "target")
CSV_BATCH = 1000


def like_prefix(text: str) -> str:
    """A LIKE pattern matching strings that start with `text` (escape character '\\')."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def scope_condition(unit):
    """Events in the unit's subtree; at the top of the tree, events tied to no unit too."""
    condition = AuditEvent.org_path.like(like_prefix(unit.path), escape="\\")
    if unit.parent_unit is None:
        condition = or_(condition, AuditEvent.org_path.is_(None))
    return condition


def beijing_midnight_utc(day: dt.date) -> dt.datetime:
    """The start of a Beijing calendar day, as the naive UTC the table stores."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=BEIJING)
    return start.astimezone(dt.UTC).replace(tzinfo=None)


def conditions(unit, filters: dict) -> list:
    where = [scope_condition(unit)]
    if filters["date_from"]:
        where.append(AuditEvent.ts >= beijing_midnight_utc(filters["date_from"]))
    if filters["date_to"]:
        where.append(
            AuditEvent.ts < beijing_midnight_utc(filters["date_to"] + dt.timedelta(days=1))
        )
    event = filters["event"]
    if event.endswith(".*"):
        where.append(AuditEvent.event.like(like_prefix(event[:-1]), escape="\\"))
    elif event:
        where.append(AuditEvent.event == event)
    if filters["actor"]:
        where.append(AuditEvent.actor == filters["actor"])
    if filters["outcome"]:
        where.append(AuditEvent.outcome == filters["outcome"])
    if filters["target"]:
        where.append(AuditEvent.target.icontains(filters["target"], autoescape=True))
    return where


def parse_filters(request) -> tuple[dict, dict]:
    """(filters, errors by field) from the query string."""
    schema = AuditFilterSchema().bind(request=request, events=EVENTS)
    raw = {name: request.GET.get(name, "") for name in FILTER_FIELDS}
    return parse_query(schema, raw, request.localizer.translate)


def detail_text(detail: dict | None) -> str:
    """An event's detail as `key=value` pairs; nested values as JSON."""

    def text(value):
        if isinstance(value, str | int | float | bool):
            return str(value)
        return json.dumps(value, ensure_ascii=False)

    return "; ".join(f"{key}={text(value)}" for key, value in sorted((detail or {}).items()))


@view_config(
    context=OrgUnit,
    name="audit",
    renderer="portal:templates/audit.pt",
    permission=Permission.AUDIT_VIEW,
)
def audit_log(request):
    unit = request.context
    filters, errors = parse_filters(request)
    where = conditions(unit, filters)
    db = request.dbsession
    total = db.scalar(select(func.count()).select_from(AuditEvent).where(*where))
    pager = Pager(request, page_number(request), total)
    events = db.scalars(
        select(AuditEvent)
        .where(*where)
        .order_by(AuditEvent.ts.desc(), AuditEvent.id.desc())
        .offset(pager.offset)
        .limit(pager.size)
    ).all()
    site = request.root_site
    rows = [
        {
            "event": event,
            "time": local_time(event.ts),
            "title": EVENTS.get(event.event),
            "unit": site.unit_by_code(event.org_code) if event.org_code else None,
            "detail": detail_text(event.detail),
        }
        for event in events
    ]
    query = {k: v for k, v in request.GET.items() if k in FILTER_FIELDS and v}
    request.response.cache_control = "no-store"
    return {
        "unit": unit,
        "rows": rows,
        "pager": pager,
        "form": {name: request.GET.get(name, "") for name in FILTER_FIELDS},
        "errors": errors,
        "events": EVENTS,
        "outcomes": [(o, OUTCOME_TITLES[o]) for o in OUTCOMES],
        "outcome_titles": OUTCOME_TITLES,
        "csv_url": request.resource_url(unit, "audit.csv", query=query),
        "active_nav": "audit",
    }


CSV_HEADER = (
    _("audit_time", default="Time"),
    _("audit_event", default="Event"),
    _("audit_outcome", default="Outcome"),
    _("audit_actor", default="User"),
    _("audit_ip", default="IP address"),
    _("unit_code", default="Unit code"),
    _("audit_target", default="Target"),
    _("audit_detail", default="Detail"),
)


def spreadsheet_safe(value) -> str:
    """Text a spreadsheet will not run as a formula (a login name can be anything typed)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_lines(session_factory, query, header):
    """The CSV as UTF-8 chunks, read in batches from a session of its own.

    The response is streamed after the request's transaction has ended, so the rows are
    read through a separate session, closed when the download ends or is abandoned.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def chunk() -> bytes:
        data = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return data.encode("utf-8")

    writer.writerow(header)
    yield "\ufeff".encode() + chunk()  # the byte-order mark tells Excel the file is UTF-8
    session = session_factory()
    try:
        for event in session.scalars(query.execution_options(yield_per=CSV_BATCH)):
            writer.writerow(
                [
                    spreadsheet_safe(value)
                    for value in (
                        local_time(event.ts).isoformat(timespec="seconds"),
                        event.event,
                        event.outcome,
                        event.actor,
                        event.ip,
                        event.org_code,
                        event.target,
                        json.dumps(event.detail, ensure_ascii=False, sort_keys=True)
                        if event.detail
                        else "",
                    )
                ]
            )
            if buffer.tell() > 64 * 1024:
                yield chunk()
    finally:
        session.close()
    yield chunk()


@view_config(context=OrgUnit, name="audit.csv", permission=Permission.AUDIT_VIEW)
def audit_csv(request):
    unit = request.context
    filters, errors = parse_filters(request)
    if errors:
        raise HTTPBadRequest()
    query = (
        select(AuditEvent)
        .where(*conditions(unit, filters))
        .order_by(AuditEvent.ts.desc(), AuditEvent.id.desc())
    )
    audit.record(
        request,
        "audit.export",
        target=unit.code,
        unit=unit,
        detail={
            "filters": {
                key: value.isoformat() if isinstance(value, dt.date) else value
                for key, value in filters.items()
                if value
            }
        },
    )
    header = [request.localizer.translate(title) for title in CSV_HEADER]
    stamp = local_time(models.utcnow()).strftime("%Y%m%d-%H%M")
    return Response(
        app_iter=csv_lines(request.registry.dbsession_factory, query, header),
        content_type="text/csv",
        charset="utf-8",
        content_disposition=f'attachment; filename="audit-{unit.code}-{stamp}.csv"',
        cache_control="no-store",
    )
