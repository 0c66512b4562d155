"""The JSON API, version 1. Its description is in portal/openapi.json (served as is)."""

import datetime as dt
import json
import os

from pyramid.httpexceptions import HTTPForbidden, HTTPNoContent, HTTPNotFound
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from portal import audit
from portal.security import Permission, bearer_token, hash_token, issue_api_token
from portal.services.accounts import authenticate
from portal.views.auth import (
    AccountActionRequired,
    action_required,
    record_login,
    required_action,
)

TOKEN_LIFETIME = dt.timedelta(hours=12)
OPENAPI_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "openapi.json")


def json_error(request, status, message, **extra):
    request.response.status_int = status
    return {"error": message, **extra}


def json_body(request):
    """The request's JSON object, or None when the body is not a JSON object."""
    try:
        body = request.json_body
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


@view_config(
    route_name="api_tokens",
    request_method="POST",
    renderer="json",
    permission=NO_PERMISSION_REQUIRED,
    require_csrf=False,
)
def create_token(request):
    body = json_body(request)
    if (
        body is None
        or not isinstance(body.get("login"), str)
        or not isinstance(body.get("password"), str)
        or not isinstance(body.get("otp", ""), str)
    ):
        return json_error(
            request, 400, 'expected JSON {"login": ..., "password": ..., "otp": ... (optional)}'
        )
    result = authenticate(request, body["login"], body["password"], body.get("otp"))
    if result.status in ("otp_required", "bad_otp"):
        return json_error(
            request, 401, "this account needs its current one-time code in otp", otp_required=True
        )
    if result.status != "ok":
        # One answer for wrong password, unknown login and lockout.
        return json_error(request, 401, "wrong login or password, or the account is locked")
    action = required_action(request, result.account)
    if action is not None:
        # The password was right, but the account must act on the pages first.
        return action_required(AccountActionRequired(action), request)
    token = issue_api_token(request, result.account.login, TOKEN_LIFETIME)
    record_login(request, result, "token")
    request.response.status_int = 201
    return {"token": token, "expires_in": int(TOKEN_LIFETIME.total_seconds())}


@view_config(
    route_name="api_token_current",
    request_method="DELETE",
    renderer="json",
    permission=Permission.HOME,
)
def revoke_token(request):
    from portal import models

    token = bearer_token(request)
    row = request.dbsession.get(models.ApiToken, hash_token(token)) if token else None
    if row is None:
        return json_error(request, 400, "no bearer token in this request")
    request.dbsession.delete(row)
    audit.record(request, "logout", "success", target=row.login, detail={"via": "token"})
    return HTTPNoContent()


@view_config(route_name="api_me", request_method="GET", renderer="json", permission=Permission.HOME)
def me(request):
    identity = request.identity
    account = identity.account
    return {
        "login": account.login,
        "name": account.name,
        "org": account.org,
        "roles": [{"role": role, "org": code} for role, code in account.grants],
    }


def orgunit_json(unit) -> dict:
    parent = unit.parent_unit
    return {
        "code": unit.code,
        "name": unit.name,
        "type": unit.type,
        "level": unit.level,
        "parent": parent.code if parent is not None else None,
        "active": unit.active,
        "valid_from": unit.valid_from.isoformat() if unit.valid_from else None,
        "valid_to": unit.valid_to.isoformat() if unit.valid_to else None,
        "successor": unit.successor,
        "children": [child.code for child in unit.units()],
    }


@view_config(
    route_name="api_orgunit", request_method="GET", renderer="json", permission=Permission.HOME
)
def orgunit(request):
    unit = request.root_site.unit_by_code(request.matchdict["code"])
    if unit is None:
        raise HTTPNotFound()
    if not request.has_permission(Permission.ORG_VIEW, unit):
        raise HTTPForbidden()
    return orgunit_json(unit)


_spec_cache: dict = {}


def openapi_spec() -> dict:
    if "spec" not in _spec_cache:
        with open(OPENAPI_PATH, encoding="utf-8") as f:
            _spec_cache["spec"] = json.load(f)
    return _spec_cache["spec"]


@view_config(
    route_name="api_openapi", request_method="GET", renderer="json", permission=Permission.HOME
)
def openapi(request):
    return openapi_spec()
