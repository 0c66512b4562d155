"""Refusals and missing pages, in the user's language; API callers get JSON."""

from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import forbidden_view_config, notfound_view_config, view_config

from portal import audit
from portal.i18n import _
from portal.request_body import BodyTooLarge, MalformedBody, MalformedRequest


def wants_json(request) -> bool:
    return request.path.startswith("/api/")


@forbidden_view_config(renderer="portal:templates/error.pt")
def forbidden(request):
    if request.identity is None and not wants_json(request):
        # Not logged in (or the session timed out): to the login page, then back here.
        query = {"next": request.path_qs} if request.method == "GET" else {}
        return HTTPSeeOther(request.route_url("login", _query=query))
    unit = getattr(request.context, "org_scope", lambda: None)() if request.context else None
    audit.record(
        request,
        "access",
        "denied",
        target=request.path[:255],
        unit=unit,
        detail={"method": request.method},
        independent=True,
    )
    request.response.status_int = 403
    if wants_json(request):
        request.override_renderer = "json"
        status = 401 if request.identity is None else 403
        request.response.status_int = status
        return {"error": "unauthorized" if status == 401 else "forbidden"}
    return {
        "title": _("forbidden_title", default="Not allowed"),
        "message": _("forbidden_message", default="You do not have access to this page."),
    }


@notfound_view_config(renderer="portal:templates/error.pt")
def notfound(request):
    request.response.status_int = 404
    if wants_json(request):
        request.override_renderer = "json"
        return {"error": "not found"}
    return {
        "title": _("notfound_title", default="Not found"),
        "message": _("notfound_message", default="There is no such page."),
    }


@view_config(context=BadCSRFToken, renderer="portal:templates/error.pt")
def bad_csrf(request):
    request.response.status_int = 400
    if wants_json(request):
        request.override_renderer = "json"
        return {"error": "missing or invalid CSRF token"}
    return {
        "title": _("csrf_title", default="The page expired"),
        "message": _(
            "csrf_message", default="Go back, reload the page and try again. Nothing was saved."
        ),
    }


@view_config(context=MalformedBody, renderer="portal:templates/error.pt")
def malformed_body(request):
    request.response.status_int = 400
    if wants_json(request):
        request.override_renderer = "json"
        return {"error": "the request body could not be read as the form it says it is"}
    return {
        "title": _("malformed_body_title", default="The form could not be read"),
        "message": _(
            "malformed_body_message",
            default="Your browser sent the form incompletely. Go back and send it again.",
        ),
    }


@view_config(context=MalformedRequest, renderer="portal:templates/error.pt")
def malformed_request(context, request):
    request.response.status_int = 400
    if wants_json(request):
        request.override_renderer = "json"
        return {"error": context.reason}
    return {
        "title": _("malformed_request_title", default="The request could not be read"),
        "message": _(
            "malformed_request_message",
            default="The address or the data sent could not be read. Go back and try again.",
        ),
    }


@view_config(context=BodyTooLarge, renderer="portal:templates/error.pt")
def body_too_large(context, request):
    request.response.status_int = 413
    if wants_json(request):
        request.override_renderer = "json"
        return {"error": f"the request body is over its limit of {context.limit} bytes"}
    return {
        "title": _("body_too_large_title", default="Too much was sent"),
        "message": _(
            "body_too_large_message",
            default="What was sent is larger than this page accepts (${size} KB). Nothing was "
            "saved.",
            mapping={"size": context.limit // 1024},
        ),
    }
