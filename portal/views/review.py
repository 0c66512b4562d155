"""Review on a record's page: the panel (its chain, why it was returned, the transitions the
reader may take, its review history) and the POST that takes a transition
({unit}/submissions/{id}/transition). The same service as the API (portal.services.review)
decides, so the page and the API refuse alike."""

from __future__ import annotations

from pyramid.csrf import get_csrf_token
from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render

from forms import periods as period_lib
from portal.i18n import _, translate
from portal.models import RecordQuery, Submission
from portal.schemas_forms import REVIEW_LEVEL_TITLES
from portal.security import Permission, Refused
from portal.services import period_approval, queries, review
from portal.views.common import flash, local_time
from workflows import engine

LEVEL_TITLES = REVIEW_LEVEL_TITLES
# Buttons: the way forward is primary, sending back is a warning.
ACTION_STYLES = {
    "approve": "btn-success",
    "return": "btn-outline-warning",
    "reopen": "btn-outline-secondary",
    "submit": "btn-primary",
    "resubmit": "btn-primary",
}


def _title(definition, name: str, language: str) -> str:
    transition = next((t for t in definition.transitions if t.name == name), None)
    if transition is None:
        return name
    return transition.title.get(language) or transition.title.get("zh") or name


def panel(pages, row: Submission, error: dict | None = None) -> str:
    """The review panel of a record's page. `error`: a refused transition to show, with the
    comment the reader typed ({"transition", "message", "comment"})."""
    request, language = pages.request, pages.language
    ctx = review.context(request, row)
    definition = review.definition()
    approved = set(ctx.state.approved)
    chain = [
        {
            "level": level,
            "title": translate(request.localizer, LEVEL_TITLES.get(level, level)),
            "approved": level in approved,
        }
        for level in ctx.chain
    ]
    actions = []
    for option in review.options(ctx):
        if not option.allowed and not (error and error.get("transition") == option.name):
            continue
        transition = next(t for t in definition.transitions if t.name == option.name)
        if transition.name == "submit":
            continue  # drafts are submitted from the form itself
        mine = error is not None and error.get("transition") == option.name
        actions.append(
            {
                "name": option.name,
                "title": _title(definition, option.name, language),
                "url": request.resource_url(pages.unit, "submissions", row.id, "transition"),
                "comment_required": transition.comment_required,
                "comment": error.get("comment", "") if mine and error else "",
                "invalid": error.get("message") if mine and error else None,
                "style": ACTION_STYLES.get(option.name, "btn-outline-primary"),
            }
        )
    returned = None
    if row.status == "returned":
        returned = review.last_comment(request.dbsession, row.id, "return")
    approval = review.period_approval_of(request.dbsession, row)
    period_unit = request.root_site.unit_by_code(approval.org_code) if approval else None
    entries = [
        {
            "transition": entry.transition,
            "title": _title(definition, entry.transition, language),
            "actor": entry.actor,
            "at": local_time(entry.at).strftime("%Y-%m-%d %H:%M"),
            "level": translate(request.localizer, LEVEL_TITLES[entry.level])
            if entry.level in LEVEL_TITLES
            else None,
            "comment": entry.comment,
        }
        for entry in review.history(request.dbsession, row.id)
    ]
    error_text = error.get("message") if error and not error.get("at_field") else None
    version = review.compiled_definition(request, row)
    threads = query_threads(pages, row, version)
    can_ask = "reviewer" in ctx.caller.capacities and row.status in queries.QUERYABLE
    fields = (
        [
            (f.name, _field_label(version, f.name, language))
            for f in version.iter_fields()
            if not f.is_container and f.type not in ("note", "calculate")
        ]
        if can_ask
        else []
    )
    query_error = error if error and "query_action" in error else {}
    return render(
        "portal:templates/review_panel.pt",
        {
            "chain": chain,
            "locked": review.is_locked(row),
            "period_approval": period_unit.name if period_unit is not None else None,
            "returned": returned,
            "actions": actions,
            "entries": list(reversed(entries)),
            "error": None if query_error else error_text,
            "csrf_token": get_csrf_token(request),
            "threads": threads,
            "can_ask": can_ask,
            "fields": fields,
            "query_url": request.resource_url(pages.unit, "submissions", row.id, "query"),
            "query_error": query_error,
        },
        request,
    )


def take(pages, context):
    """POST {unit}/submissions/{id}/transition: take the transition named in the form, then
    back to the record's page; a refusal is shown there, with the comment as typed."""
    request, row, unit = pages.request, context.row, context.unit
    submission_id = row.id
    name = request.POST.get("transition", "")
    comment = request.POST.get("comment", "")[:2000]
    ctx = review.context(request, row, unit)
    try:
        review.apply(request, ctx, name, comment.strip() or None)
    except engine.Refusal as refusal:
        message = refusal.message.get(pages.language) or refusal.message.get("zh", "")
        return pages.submission(
            submission_id,
            review_error={
                "transition": name,
                "message": message,
                "comment": comment,
                "at_field": refusal.reason == "comment",
            },
        )
    definition = review.definition()
    flash(
        request,
        _(
            "review_done",
            default="${transition}: done.",
            mapping={"transition": _title(definition, name, pages.language)},
        ),
    )
    return HTTPSeeOther(request.resource_url(pages.unit, "submissions", row.id))


# -- period approval on the submission list ----------------------------------------------------
def period_state(pages, form: str | None, period: str | None, error: dict | None) -> dict | None:
    """The period approval box of a unit's submission list, when it is filtered to one form
    and one period: where the approval stands, and the caller's approve / withdraw forms."""
    request = pages.request
    if not form or not period or period_lib.period_type_of(period) is None:
        return None
    unit = pages.unit
    current = period_approval.status(request, form, period, unit)
    standing = current.approval or current.above
    approver = unit.type in period_approval.APPROVING_TYPES and request.has_permission(
        Permission.PERIOD_APPROVE, unit
    )
    standing_unit = (
        request.root_site.unit_by_code(standing.org_code) if standing is not None else None
    )
    error = error or {}
    return {
        "approved": standing is not None,
        "by": standing.approved_by if standing is not None else None,
        "unit": standing_unit.name if standing_unit is not None else None,
        "records": current.records,
        "final": current.final,
        "can_approve": approver and current.approval is None and current.above is None,
        "can_unapprove": approver and current.approval is not None,
        "url": request.resource_url(unit, "submissions", "period-approval"),
        "error": error.get("message"),
        "reason": error.get("reason", ""),
        "reason_error": error.get("reason_error"),
    }


def period_action(pages):
    """POST {unit}/submissions/period-approval: approve the form's period at this unit, or
    withdraw the approval (with a reason); back to the filtered list, or the list again with
    the refusal (and the reason as typed)."""
    request = pages.request
    if request.method != "POST":
        raise HTTPNotFound()
    form, period = request.POST.get("form", ""), request.POST.get("period", "")
    action, reason = request.POST.get("action"), request.POST.get("reason", "")[:2000]
    try:
        if action == "approve":
            period_approval.approve(request, form, period, pages.unit)
            done = _("period_approved", default="The period was approved.")
        elif action == "unapprove":
            period_approval.unapprove(request, form, period, pages.unit, reason)
            done = _("period_unapproved", default="The approval was withdrawn.")
        else:
            raise HTTPNotFound()
    except Refused:
        raise HTTPForbidden() from None
    except ValueError:
        raise HTTPNotFound() from None
    except period_approval.ReasonMissing:
        message = _("period_reason_missing", default="Say why the approval is withdrawn.")
        return pages.submissions(
            period_error={"reason_error": translate(request.localizer, message), "reason": reason}
        )
    except period_approval.Conflict as conflict:
        return pages.submissions(
            period_error={
                "message": translate(request.localizer, conflict.message),
                "reason": reason,
            }
        )
    flash(request, done)
    return HTTPSeeOther(
        request.resource_url(pages.unit, "submissions", query={"form": form, "period": period})
    )


# -- bulk review on the submission list --------------------------------------------------------
def bulk_action(pages):
    """POST {unit}/submissions/bulk: the chosen records approved (or returned) at once, in
    one transaction; back to the list as it was filtered, saying how many moved and, for
    each that could not, why."""
    request = pages.request
    if request.method != "POST":
        raise HTTPNotFound()
    if not request.has_permission(Permission.SUBMISSION_APPROVE, pages.unit):
        raise HTTPForbidden()
    name = request.POST.get("transition", "")
    if name not in ("approve", "return"):
        raise HTTPNotFound()
    ids = request.POST.getall("ids")
    comment = request.POST.get("comment", "")[:2000].strip() or None
    back = request.POST.get("back", "")
    if not back.startswith(request.resource_path(pages.unit, "submissions")):
        back = request.resource_url(pages.unit, "submissions")
    if not ids:
        flash(request, _("bulk_none", default="Choose the records first."))
        return HTTPSeeOther(back)
    results = review.bulk(request, ids, name, comment)
    moved = [r for r in results if r.reason is None]
    flash(
        request,
        _(
            "bulk_moved",
            default="${transition}: ${n} records.",
            mapping={
                "transition": _title(review.definition(), name, pages.language),
                "n": len(moved),
            },
        ),
    )
    site = request.root_site
    for result in (r for r in results if r.reason is not None):
        row = result.row
        where = ""
        if row is not None:
            unit = site.unit_by_code(row.org_code)
            where = f"{unit.name if unit is not None else row.org_code} {row.period or ''}: "
        words = (result.message or {}).get(pages.language) or result.reason
        flash(
            request,
            _("bulk_refused", default="${where}${why}", mapping={"where": where, "why": words}),
        )
    return HTTPSeeOther(back)


# -- queries on the record's page --------------------------------------------------------------
QUERY_STATUS_TITLES = {
    "open": _("query_status_open", default="Open"),
    "answered": _("query_status_answered", default="Answered"),
    "resolved": _("query_status_resolved", default="Resolved"),
}


def _field_label(definition, name: str | None, language: str) -> str | None:
    if not name:
        return None
    f = definition.get_field(name)
    if f is None or f.label is None:
        return name
    return f.label.get(language) or name


def field_notes(pages, row: Submission) -> dict[str, list[str]]:
    """The unresolved queries on the record's fields, as texts to show beside them."""
    notes: dict[str, list[str]] = {}
    for thread in queries.threads(pages.request.dbsession, row.id):
        if thread.query.field and thread.query.status != queries.RESOLVED:
            latest = thread.messages[-1] if thread.messages else None
            text = f"{thread.query.opened_by}: {thread.messages[0].text}" if latest else ""
            notes.setdefault(thread.query.field, []).append(text)
    return notes


def query_threads(pages, row: Submission, definition) -> list[dict]:
    """The record's queries as the panel lists them, with the forms the reader may use."""
    request, language = pages.request, pages.language
    ctx = review.context(request, row)
    reviewer = "reviewer" in ctx.caller.capacities
    staff = "staff" in ctx.caller.capacities
    found = []
    for thread in queries.threads(request.dbsession, row.id):
        q = thread.query
        status_title = QUERY_STATUS_TITLES.get(q.status, q.status)
        found.append(
            {
                "id": q.id,
                "status": q.status,
                "status_title": translate(request.localizer, status_title),
                "field": q.field,
                "field_label": _field_label(definition, q.field, language),
                "messages": [
                    {
                        "kind": m.kind,
                        "author": m.author,
                        "at": local_time(m.at).strftime("%Y-%m-%d %H:%M"),
                        "text": m.text,
                    }
                    for m in thread.messages
                ],
                "can_answer": staff and q.status == queries.OPEN,
                "can_reply": reviewer and q.status != queries.RESOLVED,
            }
        )
    return found


def take_query(pages, context):
    """POST {unit}/submissions/{id}/query: open a query (reviewers), answer it (staff),
    reply to it or resolve it (reviewers); back to the record, or the record with the
    problem and the text as typed."""
    request, row, unit = pages.request, context.row, context.unit
    submission_id = row.id
    action, text = request.POST.get("action", ""), request.POST.get("text", "")[:2000]
    try:
        if action == "open":
            queries.open_query(request, row, unit, request.POST.get("field") or None, text)
        else:
            query = request.dbsession.get(RecordQuery, request.POST.get("query", "")[:36])
            if query is None or query.submission_id != row.id:
                raise HTTPNotFound()
            queries.say(request, query, row, unit, action, text)
    except Refused:
        raise HTTPForbidden() from None
    except queries.QueryError as error:
        message = QUERY_ERROR_TEXTS.get(error.code, QUERY_ERROR_TEXTS["state"])
        return pages.submission(
            submission_id,
            review_error={
                "query_action": action,
                "query": request.POST.get("query", ""),
                "field": request.POST.get("field", ""),
                "message": translate(request.localizer, message),
                "text": text,
                "at_field": error.code == "text",
            },
        )
    flash(request, _("query_saved", default="Saved."))
    return HTTPSeeOther(request.resource_url(pages.unit, "submissions", row.id))


QUERY_ERROR_TEXTS = {
    "text": _("query_text_missing", default="Write what you ask or answer."),
    "field": _("query_field_unknown", default="Choose one of the form's fields."),
    "state": _("query_state", default="Queries are for records under review."),
    "resolved": _("query_resolved", default="This query is resolved."),
    "kind": _("query_state", default="Queries are for records under review."),
}
