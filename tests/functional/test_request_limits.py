"""What a request may carry: bodies over their limits refused (413) before they are read,
JSON nested past its depth, in another charset, or addresses that are not UTF-8 refused
(400): each answered in the user's terms, never a 500."""

import json

import pytest
import webob

from portal.request_body import MAX_ANONYMOUS_BYTES, MAX_JSON_BYTES, json_depth


def test_json_depth_counts_brackets_outside_strings():
    assert json_depth(b'{"a": [1, {"b": "[[[{{{"}]}') == 3
    assert json_depth(b'"\\"[[["') == 0
    assert json_depth(b"[" * 40 + b"]" * 40) == 40


def test_an_anonymous_body_over_its_limit_is_refused_before_it_is_read(testapp):
    big = json.dumps({"login": "x" * MAX_ANONYMOUS_BYTES, "password": "y"})
    res = testapp.post("/api/v1/tokens", big, content_type="application/json", status=413)
    assert "limit" in res.json["error"]
    # The same size with credentials is within the API's limit: it is read, and refused
    # for what it says.
    testapp.post(
        "/api/v1/tokens",
        big,
        content_type="application/json",
        headers={"Authorization": "Bearer nonsense"},
        status=401,
    )


def test_an_api_body_over_its_limit_is_refused(testapp, tokens):
    data = {"org": "110101001", "period": "2026-10", "client_id": "x", "data": {}}
    data["data"]["note"] = "x" * MAX_JSON_BYTES
    testapp.post(
        "/api/v1/forms/bp_check/submissions",
        json.dumps(data),
        content_type="application/json",
        headers=tokens["staff"],
        status=413,
    )


@pytest.mark.parametrize("depth", [33, 1000])
def test_json_nested_too_deep_is_a_400(testapp, depth):
    body = "[" * depth + "]" * depth
    res = testapp.post("/api/v1/tokens", body, content_type="application/json", status=400)
    assert "nests" in res.json["error"]


def test_json_in_another_charset_is_a_400(testapp):
    res = testapp.post(
        "/api/v1/tokens",
        b'{"login": "a", "password": "b"}',
        headers={"Content-Type": "application/json; charset=bogus"},
        status=400,
    )
    assert "UTF-8" in res.json["error"]
    testapp.post(
        "/api/v1/tokens",
        b'{"login": "a", "password": "b"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
        status=401,
    )


@pytest.mark.parametrize(
    "url", ["/api/v1/submissions/%ff%fe", "/api/v1/reports/service-volume?org=%ff"]
)
def test_an_api_address_that_is_not_utf8_is_a_400(testapp, tokens, url):
    res = testapp.get(url, headers=tokens["city"], status=400)
    assert "UTF-8" in res.json["error"]


def test_a_page_address_that_is_not_utf8_is_a_400_page(testapp):
    # (webtest's cookie jar cannot send such an address: a bare request, without a login.)
    request = webob.Request.blank("/110000/%ff%fe/", environ={"REMOTE_ADDR": "127.0.0.1"})
    response = request.get_response(testapp.app)
    assert response.status_int == 400
    assert "请求无法读取" in response.text or "could not be read" in response.text
