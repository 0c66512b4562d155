"""The JSON API of two-way referrals (described in portal/openapi.json): the caller's
referrals by direction and state, sending a slip to a partner hospital, one referral, and
its transitions (accept, reject, treat, return with the 回转单, close)."""

from pyramid.view import view_config

from portal import audit
from portal.i18n import forms_language
from portal.security import Permission, Refused
from portal.services import referrals
from portal.views.api import json_body, json_error
from portal.views.api_forms import refuse
from portal.views.api_review import REASON_STATUS
from workflows import engine

ERRORS = {
    "slip": "no such referral slip",
    "not_outgoing": "only a submitted slip referring a patient out (direction 1) is sent",
    "hospital": "choose one of the partner hospitals (GET /api/v1/referrals/partners)",
    "already_sent": "this slip has been sent already",
    "back": "the 回转单 needs its diagnosis and follow-up plan",
}


def _error(request, error: referrals.ReferralError) -> dict:
    request.response.status_int = error.status
    answer = {"error": ERRORS.get(error.code, error.code), "reason": error.code}
    if error.fields:
        answer["errors"] = error.fields
    return answer


@view_config(
    route_name="api_referrals", request_method="GET", renderer="json", permission=Permission.HOME
)
def list_referrals(request):
    direction = request.GET.get("direction") or None
    status = request.GET.get("status") or None
    if direction not in (None, "in", "out"):
        return json_error(request, 400, "direction is in or out")
    if status is not None and status not in referrals.definition().states:
        return json_error(request, 400, f"no such state: {status}")
    items = referrals.listing(request, direction, status)
    return {"items": [referrals.as_json(request, r) for r in items], "total": len(items)}


@view_config(
    route_name="api_referral_partners",
    request_method="GET",
    renderer="json",
    permission=Permission.HOME,
)
def list_partners(request):
    return [{"code": u.code, "name": u.name} for u in referrals.partners(request.root_site)]


@view_config(
    route_name="api_referrals", request_method="POST", renderer="json", permission=Permission.HOME
)
def send_referral(request):
    body = json_body(request)
    if body is None or not isinstance(body.get("submission"), str):
        return json_error(request, 400, 'expected a JSON object {"submission", "hospital"}')
    hospital = body.get("hospital")
    try:
        referral = referrals.send(
            request, body["submission"], hospital if isinstance(hospital, str) else ""
        )
    except Refused as refused:
        return refuse(request, refused)
    except referrals.ReferralError as error:
        return _error(request, error)
    request.response.status_int = 201
    return referrals.as_json(request, referral)


def _referral(request):
    try:
        return referrals.get(request, request.matchdict["id"]), None
    except LookupError:
        return None, json_error(request, 404, "no such referral")
    except Refused as refused:
        return None, refuse(request, refused)


@view_config(
    route_name="api_referral", request_method="GET", renderer="json", permission=Permission.HOME
)
def get_referral(request):
    referral, error = _referral(request)
    if error is not None:
        return error
    # The patient's name and history are personal: every read is audited (not the values).
    audit.record(
        request,
        "referral.read",
        target=referral.id,
        unit=request.root_site.unit_by_code(referral.from_org),
        detail={"to": referral.to_org},
    )
    answer = referrals.as_json(request, referral)
    answer["history"] = [
        {
            "transition": e.transition,
            "from": e.from_status,
            "to": e.to_status,
            "actor": e.actor,
            "at": e.at.isoformat() + "Z",
            "comment": e.comment,
        }
        for e in referrals.history(request.dbsession, referral.id)
    ]
    return answer


@view_config(
    route_name="api_referral_transitions",
    request_method="POST",
    renderer="json",
    permission=Permission.HOME,
)
def move_referral(request):
    referral, error = _referral(request)
    if error is not None:
        return error
    body = json_body(request)
    if body is None or not isinstance(body.get("transition"), str):
        return json_error(
            request, 400, 'expected a JSON object {"transition", "comment"?, "back"?}'
        )
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        return json_error(request, 400, "comment must be a string")
    try:
        referrals.move(request, referral, body["transition"], comment, body.get("back"))
    except engine.Refusal as refusal:
        request.response.status_int = REASON_STATUS.get(refusal.reason, 409)
        language = forms_language(request)
        return {
            "error": refusal.reason,
            "reason": refusal.reason,
            "message": refusal.message.get(language) or refusal.message["zh"],
        }
    except referrals.ReferralError as problem:
        return _error(request, problem)
    return referrals.as_json(request, referral)
