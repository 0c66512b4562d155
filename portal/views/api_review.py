"""The JSON API of review up the tree (described in portal/openapi.json): a record's
transitions, one at a time and in bulk, its workflow history, and the caller's inbox.

A record's routes have the record as their context (`record_factory`): the permission is
checked against its ACL, and the workflow then says which transition applies and, when one
does not, why: 409 for the record's state, a lock or an open query, 403 for the caller's
capacity or level, 422 for a missing comment.
"""

from pyramid.httpexceptions import HTTPNotFound
from pyramid.view import view_config

from portal import audit
from portal.i18n import _, forms_language, translate
from portal.models import RecordQuery
from portal.resources import SubmissionResource
from portal.security import Permission, Refused
from portal.services import inbox, period_approval, queries, review
from portal.views.api import json_body, json_error
from portal.views.api_forms import refuse, utc
from workflows import engine

# HTTP status of each reason the workflow gives for a refusal.
REASON_STATUS = {
    "state": 409,
    "approved": 409,
    "period_locked": 409,
    "open_queries": 409,
    "capacity": 403,
    "level": 403,
    "own_record": 403,
    "comment": 422,
    "unknown": 400,
}
COMMENT_MAX = 2000


def record_factory(request) -> SubmissionResource:
    """The record a route names, as its context; 404 when there is none (or its unit is
    gone: records are never orphaned, but the answer must not be a 500)."""
    return record_context(request, request.matchdict.get("id", ""))


def record_context(request, submission_id: str) -> SubmissionResource:
    resource = review.record_resource(request, submission_id)
    if resource is None:
        raise HTTPNotFound()
    return resource


def refusal_json(request, refusal: engine.Refusal) -> dict:
    language = forms_language(request)
    return {
        "error": refusal.reason,
        "reason": refusal.reason,
        "message": refusal.message.get(language) or refusal.message.get("zh", ""),
    }


def _comment(body: dict) -> tuple[str | None, str | None]:
    """The body's comment and, when it is unusable, why."""
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        return None, "comment must be a string"
    if comment is not None and len(comment) > COMMENT_MAX:
        return None, f"comment is longer than {COMMENT_MAX} characters"
    return (comment.strip() if comment else None), None


@view_config(
    route_name="api_submission_transitions",
    request_method="POST",
    renderer="json",
    permission=Permission.SUBMISSION_VIEW,
)
def take_transition(context: SubmissionResource, request):
    body = json_body(request)
    if body is None or not isinstance(body.get("transition"), str):
        return json_error(request, 400, 'expected a JSON object {"transition", "comment"?}')
    comment, problem = _comment(body)
    if problem:
        return json_error(request, 400, problem)
    ctx = review.context(request, context.row, context.unit)
    try:
        review.apply(request, ctx, body["transition"], comment)
    except engine.Refusal as refusal:
        return _refused(request, context, refusal)
    return {"id": context.row.id, **review.state_dict(review.context(request, context.row))}


def _refused(request, context: SubmissionResource, refusal: engine.Refusal) -> dict:
    status = REASON_STATUS.get(refusal.reason, 409)
    if status == 403:
        audit.record(
            request,
            "access",
            "denied",
            target=request.path[:255],
            unit=context.unit,
            detail={"method": request.method, "reason": refusal.reason},
            independent=True,
        )
    request.response.status_int = status
    return refusal_json(request, refusal)


@view_config(
    route_name="api_transitions", request_method="POST", renderer="json", permission=Permission.HOME
)
def bulk_transition(request):
    """One transition for many records, in one transaction: each record that may take it
    does; each that may not is listed with its reason, and does not stop the others."""
    body = json_body(request)
    ids = body.get("ids") if body is not None else None
    if (
        body is None
        or not isinstance(body.get("transition"), str)
        or not isinstance(ids, list)
        or not all(isinstance(i, str) for i in ids)
    ):
        return json_error(
            request, 400, 'expected a JSON object {"transition", "comment"?, "ids": [...]}'
        )
    if len(ids) > review.BULK_MAX:
        return json_error(request, 400, f"at most {review.BULK_MAX} ids at a time")
    comment, problem = _comment(body)
    if problem:
        return json_error(request, 400, problem)
    results = []
    language = forms_language(request)
    for moved in review.bulk(request, ids, body["transition"], comment):
        if moved.reason is None:
            state = review.state_dict(review.context(request, moved.row))
            results.append({"id": moved.submission_id, "ok": True, "status": 200, "state": state})
            continue
        status = {"not_found": 404, "forbidden": 403}.get(moved.reason) or REASON_STATUS.get(
            moved.reason, 409
        )
        message = (moved.message or {}).get(language) or moved.reason
        results.append(
            {
                "id": moved.submission_id,
                "ok": False,
                "status": status,
                "error": moved.reason,
                "reason": moved.reason,
                "message": message,
            }
        )
    done = sum(1 for r in results if r["ok"])
    return {"moved": done, "refused": len(results) - done, "results": results}


@view_config(
    route_name="api_submission_history",
    request_method="GET",
    renderer="json",
    permission=Permission.SUBMISSION_VIEW,
)
def record_history(context: SubmissionResource, request):
    return {
        "id": context.row.id,
        "items": [
            {
                "transition": entry.transition,
                "from": entry.from_status,
                "to": entry.to_status,
                "level": entry.level,
                "approved_levels": [x for x in entry.approved_levels.split(",") if x],
                "actor": entry.actor,
                "at": utc(entry.at),
                "comment": entry.comment,
            }
            for entry in review.history(request.dbsession, context.row.id)
        ],
    }


@view_config(
    route_name="api_inbox", request_method="GET", renderer="json", permission=Permission.HOME
)
def get_inbox(request):
    waiting = inbox.waiting(request)
    return {
        "counts": waiting.counts,
        # Kinds whose count is a floor (more are waiting than were counted).
        "capped": sorted(waiting.capped),
        "items": [item.json() for item in waiting.items],
    }


# -- period approval ---------------------------------------------------------------------------
def _period_target(request, source: dict):
    """(form, period, unit) named by a query or body, or an error answer."""
    form, period, org = source.get("form"), source.get("period"), source.get("org")
    if not all(isinstance(x, str) and x for x in (form, period, org)):
        return None, json_error(request, 400, "expected form, period and org")
    unit = request.root_site.unit_by_code(org)
    if unit is None:
        return None, json_error(request, 404, "no such unit")
    return (form, period, unit), None


@view_config(
    route_name="api_period_approvals",
    request_method="GET",
    renderer="json",
    permission=Permission.HOME,
)
def period_status(request):
    target, error = _period_target(request, request.GET)
    if error is not None:
        return error
    form, period, unit = target
    if not request.has_permission(Permission.SUBMISSION_VIEW, unit):
        return refuse(request, Refused("the unit is outside your part of the tree", unit))
    return period_approval.status(request, form, period, unit).json()


@view_config(
    route_name="api_period_approvals",
    request_method="POST",
    renderer="json",
    permission=Permission.HOME,
)
def approve_period(request):
    body = json_body(request)
    target, error = _period_target(request, body or {})
    if error is not None:
        return error
    form, period, unit = target
    refused = _period_change(request, period_approval.approve, form, period, unit)
    if refused is not None:
        return refused
    request.response.status_int = 201
    return period_approval.status(request, form, period, unit).json()


def _period_change(request, change, *args):
    """Approve or un-approve (`change`); the error answer when it is refused, else None."""
    try:
        change(request, *args)
    except Refused as refused:
        return refuse(request, refused)
    except ValueError as bad:
        return json_error(request, 400, f"no such {bad}")
    except period_approval.ReasonMissing:
        request.response.status_int = 422
        message = _("period_reason_missing", default="Say why the approval is withdrawn.")
        return {"errors": {"reason": translate(request.localizer, message)}}
    except period_approval.Conflict as conflict:
        return json_error(request, 409, translate(request.localizer, conflict.message))
    return None


@view_config(
    route_name="api_period_unapprove",
    request_method="POST",
    renderer="json",
    permission=Permission.HOME,
)
def unapprove_period(request):
    body = json_body(request)
    target, error = _period_target(request, body or {})
    if error is not None:
        return error
    form, period, unit = target
    reason = body.get("reason") if body else None
    if reason is not None and not isinstance(reason, str):
        return json_error(request, 400, "reason must be a string")
    refused = _period_change(request, period_approval.unapprove, form, period, unit, reason)
    if refused is not None:
        return refused
    return period_approval.status(request, form, period, unit).json()


# -- queries -----------------------------------------------------------------------------------
QUERY_ERRORS = {
    "state": "queries are opened on records under review (submitted or returned)",
    "field": "no such field in the record's form",
    "text": "text is required",
    "kind": "kind is answer (staff), reply or resolve (reviewers)",
    "resolved": "the query is resolved",
}


def query_factory(request) -> SubmissionResource:
    """A query's record, as the context of the query's routes (its ACL); the query itself
    is on the request (`request.record_query`)."""
    query_id = request.matchdict.get("id", "")
    query = request.dbsession.get(RecordQuery, query_id) if len(query_id) <= 36 else None
    if query is None:
        raise HTTPNotFound()
    request.record_query = query
    return record_context(request, query.submission_id)


def _query_error(request, error: queries.QueryError) -> dict:
    request.response.status_int = error.status
    return {"error": QUERY_ERRORS.get(error.code, error.code), "reason": error.code}


@view_config(
    route_name="api_submission_queries",
    request_method="GET",
    renderer="json",
    permission=Permission.SUBMISSION_VIEW,
)
def list_queries(context: SubmissionResource, request):
    return {"items": [t.json() for t in queries.threads(request.dbsession, context.row.id)]}


@view_config(
    route_name="api_submission_queries",
    request_method="POST",
    renderer="json",
    permission=Permission.SUBMISSION_VIEW,
)
def open_query(context: SubmissionResource, request):
    body = json_body(request)
    if body is None:
        return json_error(request, 400, 'expected a JSON object {"field"?, "text"}')
    try:
        thread = queries.open_query(
            request, context.row, context.unit, body.get("field"), body.get("text")
        )
    except Refused as refused:
        return refuse(request, refused)
    except queries.QueryError as error:
        return _query_error(request, error)
    request.response.status_int = 201
    return thread.json()


@view_config(
    route_name="api_query_messages",
    request_method="POST",
    renderer="json",
    permission=Permission.SUBMISSION_VIEW,
)
def query_message(context: SubmissionResource, request):
    body = json_body(request)
    if body is None or not isinstance(body.get("kind"), str):
        return json_error(request, 400, 'expected a JSON object {"kind", "text"}')
    try:
        thread = queries.say(
            request,
            request.record_query,
            context.row,
            context.unit,
            body["kind"],
            body.get("text"),
        )
    except Refused as refused:
        return refuse(request, refused)
    except queries.QueryError as error:
        return _query_error(request, error)
    return thread.json()
