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


@pytest.mark.parametrize(
    "value", ["\ud800", "a\x00b", "右\u202e左", "a\x1bb"], ids=["surrogate", "nul", "bidi", "esc"]
)
def test_text_with_forbidden_characters_is_refused_at_its_field(checked, published, tokens, value):
    from tests.functional.form_samples import good_data
    from tests.functional.test_api_forms import submit

    res = submit(checked, tokens["staff"], status=422, data=good_data(name=value))
    assert "控制字符" in res.json["errors"]["name"]


def test_text_is_kept_in_nfc(checked, published, tokens):
    from tests.functional.form_samples import good_data
    from tests.functional.test_api_forms import submit

    record = submit(checked, tokens["staff"], data=good_data(name="Jose\u0301")).json["id"]
    stored = checked("get", f"/api/v1/submissions/{record}", 200, headers=tokens["staff"])
    assert stored.json["data"]["name"] == "Jos\u00e9"


def test_a_page_shows_what_an_older_version_let_in(checked, testapp, published, tokens):
    from sqlalchemy import update
    from sqlalchemy.exc import DataError

    from portal.models import Submission
    from tests.conftest import login, sql
    from tests.functional.test_api_forms import submit

    record = submit(checked, tokens["staff"]).json["id"]
    with sql(testapp) as s, s.begin():
        row = s.get(Submission, record)
        data = {**row.data, "name": "王\ud800"}
        statement = update(Submission).where(Submission.id == record).values(data=data)
        if s.get_bind().dialect.name == "postgresql":
            # jsonb itself refuses a lone surrogate: there, no such record can exist.
            with pytest.raises(DataError), s.begin_nested():
                s.execute(statement)
            return
        s.execute(statement)
    login(testapp, "staff")
    page = testapp.get(f"/110000/110101/110101001/submissions/{record}")
    assert "王\ufffd" in page.text
