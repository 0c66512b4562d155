"""Review up the tree through the API: who may take which transition on which record, the
chain, the locks, bulk review, history, the inbox and period approval."""

import pytest
import transaction

from portal.services.accounts import grant_role
from tests.conftest import audit_rows
from tests.functional.form_samples import good_data
from tests.functional.test_api_forms import submit

URL = "/api/v1/submissions/{}/transitions"
CITY_CHAIN = ("centre", "district", "city")


def set_chain(testapp, chain, form="bp_check"):
    tm = transaction.TransactionManager(explicit=True)
    with tm:
        conn = testapp.app.registry.zodb.open(transaction_manager=tm)
        conn.root()["site"]["forms"][form].review_chain = tuple(chain)
    conn.close()


def grant(testapp, login, role, code):
    tm = transaction.TransactionManager(explicit=True)
    with tm:
        conn = testapp.app.registry.zodb.open(transaction_manager=tm)
        site = conn.root()["site"]
        grant_role(site["accounts"][login], role, site.unit_by_code(code))
    conn.close()


def take(checked, tokens, login, record, transition, status=200, comment=None):
    body = {"transition": transition}
    if comment is not None:
        body["comment"] = comment
    return checked("post_json", URL.format(record), status, params=body, headers=tokens[login])


def record_of(checked, tokens, login, record, status=200):
    return checked("get", f"/api/v1/submissions/{record}", status, headers=tokens[login])


def station_record(checked, tokens) -> str:
    return submit(checked, tokens["station"], org="110101001001").json["id"]


# Every transition × capacity × scope on a fresh record of a station (author `station`),
# chain centre → district → city: the answer each caller gets.
FRESH = [
    # approve: the centre first; nobody else yet; not the author, not staff, not outsiders.
    ("approve", "centre", 200, None),
    ("approve", "dongcheng", 403, "level"),
    ("approve", "city", 403, "level"),
    ("approve", "station", 403, "capacity"),
    ("approve", "staff", 403, "capacity"),
    ("approve", "xicheng", 403, None),  # outside their part of the tree
    ("approve", "hospital", 403, None),
    ("approve", "admin", 403, None),
    ("approve", "auditor", 403, None),
    # return: any reviewer of the chain above the record, with a comment.
    ("return", "centre", 200, None),
    ("return", "dongcheng", 200, None),
    ("return", "city", 200, None),
    ("return", "station", 403, "capacity"),
    ("return", "xicheng", 403, None),
    ("return", "hospital", 403, None),
    # resubmit and reopen do not apply to a record just submitted.
    ("resubmit", "station", 409, "state"),
    ("resubmit", "staff", 409, "state"),
    ("reopen", "centre", 409, "state"),
    ("reopen", "dongcheng", 409, "state"),
    ("reopen", "station", 403, "capacity"),
    ("submit", "station", 409, "state"),
    ("fly", "centre", 400, "unknown"),
]


@pytest.mark.parametrize(("transition", "login", "status", "reason"), FRESH)
def test_who_may_take_which_transition_on_a_fresh_record(
    checked, testapp, published, tokens, transition, login, status, reason
):
    set_chain(testapp, CITY_CHAIN)
    record = station_record(checked, tokens)
    comment = "请核对血压值" if transition in ("return", "reopen") else None
    res = take(checked, tokens, login, record, transition, status, comment)
    if reason is not None:
        assert res.json["reason"] == reason
        assert res.json["message"]  # in words, in the caller's language
    after = record_of(checked, tokens, "station", record).json
    if status == 200:
        expected = {"approve": "submitted", "return": "returned"}[transition]
        assert after["status"] == expected
    else:
        assert after["status"] == "submitted" and after["approved_levels"] == []


def test_the_chain_climbs_one_level_at_a_time_and_locks(checked, testapp, published, tokens):
    set_chain(testapp, CITY_CHAIN)
    record = station_record(checked, tokens)
    fresh = record_of(checked, tokens, "station", record).json
    assert fresh["chain"] == list(CITY_CHAIN) and fresh["locked"] is False
    assert fresh["transitions"] == []  # the author may edit it, but takes no transition now
    assert record_of(checked, tokens, "centre", record).json["transitions"] == [
        "approve",
        "return",
    ]

    state = take(checked, tokens, "centre", record, "approve").json
    assert state["approved_levels"] == ["centre"] and state["status"] == "submitted"
    assert state["locked"] is True and state["final"] is False
    # Locked for staff: an edit is refused with a clear message, and nothing changes.
    edit = checked(
        "put_json",
        f"/api/v1/submissions/{record}",
        409,
        params={"data": good_data(sbp=171)},
        headers=tokens["station"],
    )
    assert "审核" in edit.json["error"]
    assert record_of(checked, tokens, "station", record).json["data"]["sbp"] != 171

    # The centre approved last: it may reopen (with a comment), the district approves next.
    assert record_of(checked, tokens, "centre", record).json["transitions"] == ["reopen"]
    take(checked, tokens, "centre", record, "reopen", 422)  # no comment
    state = take(checked, tokens, "dongcheng", record, "approve").json
    assert state["approved_levels"] == ["centre", "district"]
    # Once the district approved, the centre may no longer reopen; the district may.
    assert take(checked, tokens, "centre", record, "reopen", 403, "改").json["reason"] == "level"
    state = take(checked, tokens, "dongcheng", record, "reopen", 200, "数据需复核").json
    assert state["approved_levels"] == ["centre"]
    take(checked, tokens, "dongcheng", record, "approve")
    state = take(checked, tokens, "city", record, "approve").json
    assert state["status"] == "approved" and state["final"] is True
    assert state["approved_levels"] == list(CITY_CHAIN)
    take(checked, tokens, "city", record, "approve", 409)

    history = checked(
        "get", f"/api/v1/submissions/{record}/history", 200, headers=tokens["station"]
    ).json["items"]
    assert [(h["transition"], h["level"]) for h in history] == [
        ("submit", None),
        ("approve", "centre"),
        ("approve", "district"),
        ("reopen", "district"),
        ("approve", "district"),
        ("approve", "city"),
    ]
    assert history[3]["comment"] == "数据需复核" and history[3]["actor"] == "dongcheng"
    assert audit_rows(testapp, event="submission.approve")


def test_return_resubmit_and_the_authors_inbox(checked, testapp, published, tokens):
    record = submit(checked, tokens["staff"]).json["id"]  # the centre's own record
    take(checked, tokens, "centre", record, "return", 422)  # a comment is required
    take(checked, tokens, "centre", record, "return", 422, "   ")
    state = take(checked, tokens, "centre", record, "return", 200, "收缩压填写有误").json
    assert state["status"] == "returned" and state["locked"] is False

    inbox = checked("get", "/api/v1/inbox", 200, headers=tokens["staff"]).json
    assert inbox["counts"]["returned"] == 1
    (item,) = [i for i in inbox["items"] if i["kind"] == "returned"]
    assert item["id"] == record and item["comment"] == "收缩压填写有误"
    assert (
        checked("get", "/api/v1/inbox", 200, headers=tokens["station"]).json["counts"]["returned"]
        == 0
    )

    # Fixed, then resubmitted: the centre sees it waiting again.
    checked(
        "put_json",
        f"/api/v1/submissions/{record}",
        200,
        params={"data": good_data(sbp=128)},
        headers=tokens["staff"],
    )
    take(checked, tokens, "staff", record, "resubmit")
    waiting = checked("get", "/api/v1/inbox", 200, headers=tokens["centre"]).json
    assert record in [i["id"] for i in waiting["items"] if i["kind"] == "review"]
    assert waiting["counts"]["review"] >= 1
    state = take(checked, tokens, "centre", record, "approve").json
    assert state["final"] is True  # a chain of the centre alone: final at once
    after = checked("get", "/api/v1/inbox", 200, headers=tokens["centre"]).json
    assert record not in [i.get("id") for i in after["items"]]


def test_nobody_approves_a_record_they_wrote(checked, testapp, published, tokens):
    grant(testapp, "staff", "centre_manager", "110101001")
    record = submit(checked, tokens["staff"]).json["id"]
    res = take(checked, tokens, "staff", record, "approve", 403)
    assert res.json["reason"] == "own_record"
    other = station_record(checked, tokens)
    take(checked, tokens, "staff", other, "approve", 200)


def test_bulk_review_moves_what_can_move_and_lists_the_rest(checked, testapp, published, tokens):
    records = [station_record(checked, tokens) for _ in range(3)]
    mine = submit(checked, tokens["staff"], org="110101001").json["id"]
    take(checked, tokens, "centre", records[0], "approve")  # already final
    ids = [*records, mine, "no-such-record"]
    res = checked(
        "post_json",
        "/api/v1/transitions",
        200,
        params={"transition": "approve", "ids": ids},
        headers=tokens["centre"],
    ).json
    outcome = {r["id"]: (r["ok"], r["status"]) for r in res["results"]}
    assert outcome[records[0]] == (False, 409)
    assert outcome[records[1]] == (True, 200) and outcome[records[2]] == (True, 200)
    assert outcome[mine] == (True, 200)
    assert outcome["no-such-record"] == (False, 404)
    assert res["moved"] == 3 and res["refused"] == 2
    for record in records[1:]:
        assert record_of(checked, tokens, "station", record).json["final"] is True
    # A district's manager cannot move the centre's level in bulk either.
    fresh = station_record(checked, tokens)
    res = checked(
        "post_json",
        "/api/v1/transitions",
        200,
        params={"transition": "approve", "ids": [fresh]},
        headers=tokens["xicheng"],
    ).json
    assert res["results"][0]["status"] == 403 and res["moved"] == 0


def test_period_approval_locks_and_unapproval_needs_a_reason(checked, testapp, published, tokens):
    body = {"form": "bp_check", "period": "2026-10", "org": "110101"}
    record = station_record(checked, tokens)
    refused = checked(
        "post_json", "/api/v1/period-approvals", 409, params=body, headers=tokens["dongcheng"]
    )
    assert "1" in refused.json["error"]  # one record is not final
    take(checked, tokens, "centre", record, "approve")
    inbox = checked("get", "/api/v1/inbox", 200, headers=tokens["dongcheng"]).json
    assert inbox["counts"]["periods"] == 1
    (ready,) = [i for i in inbox["items"] if i["kind"] == "period"]
    assert (ready["form"], ready["period"], ready["org"]) == ("bp_check", "2026-10", "110101")
    # Only a district or the city approves periods, in their own part of the tree.
    checked("post_json", "/api/v1/period-approvals", 403, params=body, headers=tokens["centre"])
    checked("post_json", "/api/v1/period-approvals", 403, params=body, headers=tokens["xicheng"])
    approved = checked(
        "post_json", "/api/v1/period-approvals", 201, params=body, headers=tokens["dongcheng"]
    ).json
    assert approved["approved"] is True and approved["records"] == approved["final"] == 1
    assert (
        checked("get", "/api/v1/inbox", 200, headers=tokens["dongcheng"]).json["counts"]["periods"]
        == 0
    )
    report = checked(
        "get",
        "/api/v1/reports/service-volume",
        200,
        headers=tokens["dongcheng"],
        params={"org": "110101", "period": "2026-10"},
    ).json
    assert report["period_approved"] == [{"form": "bp_check", "org": "110101", "level": "district"}]
    other = checked(
        "get",
        "/api/v1/reports/service-volume",
        200,
        headers=tokens["city"],
        params={"org": "110000", "period": "2026-10"},
    ).json
    assert other["period_approved"] == []  # the city as a whole is not approved
    # Locked: not even the centre may reopen; no new record for the period there.
    res = take(checked, tokens, "centre", record, "reopen", 409, "再看看")
    assert res.json["reason"] == "period_locked"
    late = submit(checked, tokens["station"], org="110101001001", status=422)
    assert "period" in late.json["errors"]
    submit(checked, tokens["station"], org="110101001001", period="2026-09")
    # The city approves too; then the district may not withdraw its own.
    city_body = {**body, "org": "110000"}
    checked("post_json", "/api/v1/period-approvals", 201, params=city_body, headers=tokens["city"])
    unapprove = "/api/v1/period-approvals/unapprove"
    checked("post_json", unapprove, 422, params=body, headers=tokens["dongcheng"])
    blocked = checked(
        "post_json", unapprove, 409, params={**body, "reason": "更正"}, headers=tokens["dongcheng"]
    )
    assert "110000" in blocked.json["error"]
    checked(
        "post_json",
        unapprove,
        200,
        params={**city_body, "reason": "区级更正"},
        headers=tokens["city"],
    )
    after = checked(
        "post_json", unapprove, 200, params={**body, "reason": "更正"}, headers=tokens["dongcheng"]
    ).json
    assert after["approved"] is False
    take(checked, tokens, "centre", record, "reopen", 200, "再看看")
    assert audit_rows(testapp, event="period.unapprove")


def test_queries_block_approval_until_resolved(checked, testapp, published, tokens):
    record = station_record(checked, tokens)
    queries_url = f"/api/v1/submissions/{record}/queries"
    ask = {"field": "sbp", "text": "收缩压 150 是否为复测值？"}
    # Only a reviewer of the record opens one; a field must be the form's.
    checked("post_json", queries_url, 403, params=ask, headers=tokens["station"])
    checked("post_json", queries_url, 403, params=ask, headers=tokens["xicheng"])
    bad = checked(
        "post_json", queries_url, 422, params={**ask, "field": "nope"}, headers=tokens["centre"]
    )
    assert bad.json["reason"] == "field"
    checked("post_json", queries_url, 422, params={"text": " "}, headers=tokens["centre"])
    query = checked("post_json", queries_url, 201, params=ask, headers=tokens["centre"]).json
    assert query["status"] == "open" and query["field"] == "sbp"
    refused = take(checked, tokens, "centre", record, "approve", 409)
    assert refused.json["reason"] == "open_queries"
    inbox = checked("get", "/api/v1/inbox", 200, headers=tokens["station"]).json
    assert inbox["counts"]["queries"] == 1

    messages = f"/api/v1/queries/{query['id']}/messages"
    checked(
        "post_json",
        messages,
        403,
        params={"kind": "answer", "text": "是"},
        headers=tokens["centre"],
    )
    checked("post_json", messages, 403, params={"kind": "resolve"}, headers=tokens["station"])
    answered = checked(
        "post_json",
        messages,
        200,
        params={"kind": "answer", "text": "是复测值"},
        headers=tokens["station"],
    ).json
    assert answered["status"] == "answered"
    take(checked, tokens, "centre", record, "approve", 409)  # answered is not resolved
    assert (
        checked("get", "/api/v1/inbox", 200, headers=tokens["centre"]).json["counts"]["queries"]
        == 1
    )
    again = checked(
        "post_json",
        messages,
        200,
        params={"kind": "reply", "text": "请附测量时间"},
        headers=tokens["centre"],
    ).json
    assert again["status"] == "open"
    checked(
        "post_json",
        messages,
        200,
        params={"kind": "answer", "text": "上午9点"},
        headers=tokens["station"],
    )
    resolved = checked(
        "post_json", messages, 200, params={"kind": "resolve"}, headers=tokens["centre"]
    ).json
    assert resolved["status"] == "resolved"
    assert [m["kind"] for m in resolved["messages"]] == [
        "open",
        "answer",
        "reply",
        "answer",
        "resolve",
    ]
    checked(
        "post_json",
        messages,
        409,
        params={"kind": "reply", "text": "再问"},
        headers=tokens["centre"],
    )
    take(checked, tokens, "centre", record, "approve", 200)
    listed = checked("get", queries_url, 200, headers=tokens["dongcheng"]).json["items"]
    assert len(listed) == 1 and listed[0]["messages"][1]["text"] == "是复测值"
    checked("get", queries_url, 403, headers=tokens["hospital"])
    checked(
        "post_json",
        "/api/v1/queries/nope/messages",
        404,
        params={"kind": "resolve"},
        headers=tokens["centre"],
    )


def test_the_review_count_is_bounded_and_says_so(checked, testapp, published, tokens, monkeypatch):
    from portal.services import inbox

    for _ in range(3):
        station_record(checked, tokens)
    full = checked("get", "/api/v1/inbox", 200, headers=tokens["centre"]).json
    assert full["counts"]["review"] == 3 and full["capped"] == []
    monkeypatch.setattr(inbox, "COUNT_CAP", 2)
    capped = checked("get", "/api/v1/inbox", 200, headers=tokens["centre"]).json
    assert capped["counts"]["review"] == 2 and capped["capped"] == ["review"]
