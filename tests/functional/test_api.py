"""The JSON API contract, checked against its own OpenAPI description."""

import datetime as dt
import json

from openapi_spec_validator import validate

from portal import models
from portal.security import hash_token
from portal.views.api import openapi_spec
from tests.conftest import api_token, bearer, login, sql


def test_openapi_document_is_valid():
    validate(openapi_spec())


def test_every_api_route_is_described_and_nothing_else(app_config):
    app_config.commit()
    introspector = app_config.registry.introspector
    served = set()
    for view in introspector.get_category("views"):
        intr = view["introspectable"]
        route_name = intr["route_name"]
        if not route_name:
            continue
        route = introspector.get("routes", route_name)
        if not route["pattern"].startswith("/api/"):
            continue
        methods = intr["request_methods"] or ("GET",)
        for method in [methods] if isinstance(methods, str) else methods:
            served.add((route["pattern"], method.lower()))
    described = {
        (path, method)
        for path, operations in openapi_spec()["paths"].items()
        for method in operations
    }
    assert served == described


def test_token_then_me(checked):
    token = checked(
        "post_json",
        "/api/v1/tokens",
        201,
        params={"login": "dongcheng", "password": "Demo@Portal2026"},
    ).json["token"]
    me = checked("get", "/api/v1/me", 200, headers=bearer(token)).json
    assert me["login"] == "dongcheng"
    assert me["roles"] == [{"role": "district_manager", "org": "110101"}]


def test_wrong_password_and_bad_body(checked):
    checked(
        "post_json",
        "/api/v1/tokens",
        401,
        params={"login": "dongcheng", "password": "wrong-password-1A"},
    )
    checked("post_json", "/api/v1/tokens", 400, params={"login": "dongcheng"})
    res = checked(
        "post", "/api/v1/tokens", 400, params=b"not json", content_type="application/json"
    )
    assert "error" in res.json


def test_orgunit_in_scope(checked, testapp):
    token = api_token(testapp, "dongcheng")
    unit = checked("get", "/api/v1/orgunits/110101", 200, headers=bearer(token)).json
    assert unit["name"] == "东城区"
    assert unit["type"] == "district" and unit["level"] == 2
    assert unit["parent"] == "110000" and unit["active"] is True
    assert "110101001" in unit["children"] and "110101901" in unit["children"]
    centre = checked("get", "/api/v1/orgunits/110101001", 200, headers=bearer(token)).json
    assert centre["parent"] == "110101" and centre["level"] == 3


def test_orgunit_outside_scope_is_refused(checked, testapp):
    token = api_token(testapp, "dongcheng")
    checked("get", "/api/v1/orgunits/110102", 403, headers=bearer(token))
    checked("get", "/api/v1/orgunits/110000", 403, headers=bearer(token))
    checked("get", "/api/v1/orgunits/110102001", 403, headers=bearer(token))
    checked("get", "/api/v1/orgunits/999999", 404, headers=bearer(token))


def test_station_staff_sees_only_their_station(testapp):
    token = api_token(testapp, "station")
    testapp.get("/api/v1/orgunits/110101001001", headers=bearer(token), status=200)
    testapp.get("/api/v1/orgunits/110101001002", headers=bearer(token), status=403)
    testapp.get("/api/v1/orgunits/110101001", headers=bearer(token), status=403)


def test_city_manager_sees_historical_units(testapp):
    token = api_token(testapp, "city")
    unit = testapp.get("/api/v1/orgunits/110103", headers=bearer(token)).json
    assert unit["active"] is False
    assert unit["successor"] == "110101" and unit["valid_to"] == "2010-07-01"


def test_anonymous_and_bad_tokens_get_401(checked):
    checked("get", "/api/v1/me", 401)
    checked("get", "/api/v1/me", 401, headers=bearer("not-a-token"))
    checked("get", "/api/v1/orgunits/110101", 401)


def test_revoked_token_stops_working(checked, testapp):
    token = api_token(testapp, "city")
    checked("delete", "/api/v1/tokens/current", 204, headers=bearer(token))
    checked("get", "/api/v1/me", 401, headers=bearer(token))


def test_tokens_obey_lockout(testapp):
    for _ in range(5):
        testapp.post_json(
            "/api/v1/tokens", {"login": "xicheng", "password": "nope-Nope-123"}, status=401
        )
    # Even the right password is refused while locked, with the same answer.
    res = testapp.post_json(
        "/api/v1/tokens", {"login": "xicheng", "password": "Demo@Portal2026"}, status=401
    )
    assert res.json["error"] == "wrong login or password, or the account is locked"


def test_bearer_requests_need_no_csrf_but_cookie_requests_do(testapp):
    token = api_token(testapp, "city")
    login(testapp, "city")
    # The browser session alone (a cookie) may not make an unsafe API call without CSRF…
    res = testapp.delete("/api/v1/tokens/current", status=400)
    assert "CSRF" in res.json["error"]
    # …but a bearer token carries no ambient authority, so it needs none.
    testapp.delete("/api/v1/tokens/current", headers=bearer(token), status=204)


def test_openapi_served_to_authenticated_callers(testapp):
    token = api_token(testapp, "station")
    doc = testapp.get("/api/v1/openapi.json", headers=bearer(token)).json
    assert doc == json.loads(json.dumps(openapi_spec()))
    testapp.get("/api/v1/openapi.json", status=401)


def _token_row(testapp, token, **changes):
    """The token's row, after applying `changes` to it (committed)."""
    with sql(testapp) as s:
        row = s.get(models.ApiToken, hash_token(token))
        for name, value in changes.items():
            setattr(row, name, value)
        s.commit()
        return row


def test_a_token_in_use_stays_alive_and_an_idle_one_lapses(checked, testapp):
    token = api_token(testapp, "city")
    # Used 20 minutes after its last use: accepted, and the use recorded.
    _token_row(testapp, token, last_seen=models.utcnow() - dt.timedelta(minutes=20))
    checked("get", "/api/v1/me", 200, headers=bearer(token))
    seen = _token_row(testapp, token).last_seen
    assert models.utcnow() - seen < dt.timedelta(minutes=1)
    # Within the minute the use is not recorded again (a write saved on every request).
    checked("get", "/api/v1/me", 200, headers=bearer(token))
    assert _token_row(testapp, token).last_seen == seen
    # Idle for 31 minutes: refused.
    _token_row(testapp, token, last_seen=models.utcnow() - dt.timedelta(minutes=31))
    checked("get", "/api/v1/me", 401, headers=bearer(token))


def test_an_expired_token_stops_working_however_recently_used(checked, testapp):
    token = api_token(testapp, "city")
    checked("get", "/api/v1/me", 200, headers=bearer(token))
    _token_row(testapp, token, expires=models.utcnow() - dt.timedelta(seconds=1))
    checked("get", "/api/v1/me", 401, headers=bearer(token))


def test_a_form_body_that_cannot_be_read_is_a_400_not_a_500(testapp, tokens):
    # A multipart body without its boundary: the standard library's parser raises.
    broken = {"Content-Type": "multipart/form-data"}
    res = testapp.post(
        "/api/v1/attachments", b"--x\r\n", headers={**tokens["staff"], **broken}, status=400
    )
    assert res.json == {"error": "the request body could not be read as the form it says it is"}
    page = testapp.post("/login", b"--x\r\n", headers=broken, status=400)
    assert "表单无法读取" in page.text
