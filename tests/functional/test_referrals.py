"""Two-way referral through the API: sending a slip to a partner hospital, the hospital's
desk accepting and referring back with its 回转单, the sender confirming; who may do which
step, what the desk may see (the referral, and nothing else of the centre's), deadlines."""

import datetime as dt
import uuid

import pytest
from sqlalchemy import update

from forms.periods import beijing_today
from portal.models import Referral
from tests.conftest import audit_rows, sql
from tests.functional.people import RECORD_NO, register_person

STATION = "110101001001"
HOSPITAL = "110101901"  # the demo's 北京市东城区示范医院, desk `hospital`
OTHER_HOSPITAL = "110108901"
BACK = {
    "diagnosis": "原发性高血压2级",
    "follow_plan": "继续服药，每月随访",
    "main_results": "心电图正常",
}


def slip(direction="1", **values) -> dict:
    today = beijing_today()
    return {
        "direction": direction,
        "name": "张三",
        "sex": "1",
        "age": 70,
        "record_no": RECORD_NO,
        "to_hospital": "东城区示范医院",
        "impression": "高血压控制不佳",
        "present_history": "近两周血压 170/100 mmHg",
        "to_community_org": "东城光明社区卫生服务中心",
        "diagnosis": "原发性高血压",
        "follow_plan": "继续随访",
        "from_org": "光明第1社区卫生服务站",
        "referring_doctor": "李医生",
        "referral_date": today.isoformat(),
        **values,
    }


def submit_slip(checked, tokens, login="station", org=STATION, **values) -> str:
    res = checked(
        "post_json",
        "/api/v1/forms/referral_slip/submissions",
        201,
        params={
            "org": org,
            "period": beijing_today().strftime("%Y-%m"),
            "client_id": str(uuid.uuid4()),
            "data": slip(**values),
        },
        headers=tokens[login],
    )
    return res.json["id"]


@pytest.fixture
def sent(checked, testapp, tokens):
    """A slip of the station's, sent to the demo hospital; its referral's JSON."""
    register_person(testapp, org=STATION, login="station")
    record = submit_slip(checked, tokens)
    return checked(
        "post_json",
        "/api/v1/referrals",
        201,
        params={"submission": record, "hospital": HOSPITAL},
        headers=tokens["station"],
    ).json


def move(checked, tokens, login, referral, transition, status=200, **body):
    return checked(
        "post_json",
        f"/api/v1/referrals/{referral}/transitions",
        status,
        params={"transition": transition, **body},
        headers=tokens[login],
    )


def test_partners_are_the_hospitals_of_the_tree(checked, tokens):
    partners = checked("get", "/api/v1/referrals/partners", 200, headers=tokens["station"]).json
    assert [p["code"] for p in partners] == [HOSPITAL, OTHER_HOSPITAL]


def test_a_referral_goes_out_and_comes_back(checked, testapp, tokens, sent):
    referral = sent["id"]
    assert sent["status"] == "sent" and sent["to_org"] == HOSPITAL
    assert sent["patient"]["name"] == "张三" and "impression" in sent["patient"]
    # The desk sees it, with the patient, but not the slip itself.
    incoming = checked(
        "get", "/api/v1/referrals", 200, headers=tokens["hospital"], params={"direction": "in"}
    ).json["items"]
    assert [r["id"] for r in incoming] == [referral]
    assert incoming[0]["submission"] is None
    assert incoming[0]["transitions"] == ["accept", "reject"]
    # Nobody but the desk accepts; the sender only closes, at the end.
    move(checked, tokens, "station", referral, "accept", 403)
    move(checked, tokens, "dongcheng", referral, "accept", 403)
    move(checked, tokens, "hospital", referral, "close", 403)
    move(checked, tokens, "hospital", referral, "treat", 409)
    state = move(checked, tokens, "hospital", referral, "accept").json
    assert state["status"] == "accepted" and state["accepted_at"]
    move(checked, tokens, "hospital", referral, "treat")
    # The 回转单 needs its diagnosis and plan: told by field, nothing changed.
    refused = move(checked, tokens, "hospital", referral, "return", 422, back={"diagnosis": " "})
    assert set(refused.json["errors"]) == {"diagnosis", "follow_plan"}
    assert (
        checked("get", f"/api/v1/referrals/{referral}", 200, headers=tokens["hospital"]).json[
            "status"
        ]
        == "treated"
    )
    state = move(checked, tokens, "hospital", referral, "return", back=BACK).json
    assert state["status"] == "returned" and state["back"]["diagnosis"] == BACK["diagnosis"]
    # The sending side sees it back, and the station confirms it has the patient.
    waiting = checked("get", "/api/v1/inbox", 200, headers=tokens["station"]).json["counts"]
    assert waiting["referrals_confirm"] == 1
    move(checked, tokens, "dongcheng", referral, "close", 403)  # managers read, staff close
    state = move(checked, tokens, "staff", referral, "close").json  # the centre's staff too
    assert state["status"] == "closed" and state["closed_at"]
    history = checked("get", f"/api/v1/referrals/{referral}", 200, headers=tokens["dongcheng"])
    assert [h["transition"] for h in history.json["history"]] == [
        "send",
        "accept",
        "treat",
        "return",
        "close",
    ]
    assert history.json["submission"] == sent["submission"]
    assert audit_rows(testapp, event="referral.read")


def test_a_rejection_needs_a_reason(checked, tokens, sent):
    refused = move(checked, tokens, "hospital", sent["id"], "reject", 422)
    assert refused.json["reason"] == "comment"
    state = move(checked, tokens, "hospital", sent["id"], "reject", comment="本院无床位").json
    assert state["status"] == "rejected" and state["transitions"] == []


def test_the_desk_sees_its_referrals_and_nothing_else(checked, testapp, tokens, sent):
    desk = tokens["hospital"]
    record = sent["submission"]
    checked("get", f"/api/v1/submissions/{record}", 403, headers=desk)
    checked("get", f"/api/v1/submissions/{record}/history", 403, headers=desk)
    checked("get", "/api/v1/forms/referral_slip/submissions", 403, headers=desk)
    assert checked("get", "/api/v1/referrals", 200, headers=tokens["xicheng"]).json["items"] == []
    checked("get", f"/api/v1/referrals/{sent['id']}", 403, headers=tokens["xicheng"])
    # Another hospital's desk does not see it either.
    grant_desk(testapp, "xicheng_desk", OTHER_HOSPITAL)
    other = tokens["xicheng_desk"]
    assert checked("get", "/api/v1/referrals", 200, headers=other).json["items"] == []
    checked("get", f"/api/v1/referrals/{sent['id']}", 403, headers=other)
    move(checked, tokens, "xicheng_desk", sent["id"], "accept", 403)


def grant_desk(testapp, login, hospital):
    import transaction

    from portal.demo import DEMO_PASSWORD
    from portal.services.accounts import create_account, grant_role

    tm = transaction.TransactionManager(explicit=True)
    with tm:
        conn = testapp.app.registry.zodb.open(transaction_manager=tm)
        site = conn.root()["site"]
        account = create_account(site, login, "另一医院转诊员", hospital, DEMO_PASSWORD)
        grant_role(account, "referral_desk", site.unit_by_code(hospital))
    conn.close()


def test_only_an_outgoing_submitted_slip_is_sent_once(checked, testapp, tokens, sent):
    again = checked(
        "post_json",
        "/api/v1/referrals",
        409,
        params={"submission": sent["submission"], "hospital": HOSPITAL},
        headers=tokens["station"],
    )
    assert again.json["reason"] == "already_sent"
    back_slip = submit_slip(checked, tokens, direction="2")
    checked(
        "post_json",
        "/api/v1/referrals",
        409,
        params={"submission": back_slip, "hospital": HOSPITAL},
        headers=tokens["station"],
    )
    fresh = submit_slip(checked, tokens)
    bad = checked(
        "post_json",
        "/api/v1/referrals",
        422,
        params={"submission": fresh, "hospital": STATION},
        headers=tokens["station"],
    )
    assert bad.json["reason"] == "hospital"
    for login in ("dongcheng", "hospital", "xicheng"):
        checked(
            "post_json",
            "/api/v1/referrals",
            403,
            params={"submission": fresh, "hospital": HOSPITAL},
            headers=tokens[login],
        )


def sent_back(testapp, referral_id: str, days: int) -> None:
    """The referral sent `days` earlier than it was."""
    with sql(testapp) as s, s.begin():
        row = s.get(Referral, referral_id)
        s.execute(
            update(Referral)
            .where(Referral.id == referral_id)
            .values(sent_at=row.sent_at - dt.timedelta(days=days))
        )


def test_overdue_steps_show_in_both_inboxes(checked, testapp, tokens, sent):
    assert sent["overdue"] is None
    sent_back(testapp, sent["id"], days=3)
    late = checked("get", f"/api/v1/referrals/{sent['id']}", 200, headers=tokens["hospital"])
    assert late.json["overdue"] == "accept"
    for login in ("hospital", "station"):
        counts = checked("get", "/api/v1/inbox", 200, headers=tokens[login]).json["counts"]
        assert counts["referrals_overdue"] == 1
    move(checked, tokens, "hospital", sent["id"], "accept")
    accepted = checked("get", f"/api/v1/referrals/{sent['id']}", 200, headers=tokens["hospital"])
    assert accepted.json["overdue"] is None  # accepted; 30 days to refer back
    sent_back(testapp, sent["id"], days=30)
    still = checked("get", f"/api/v1/referrals/{sent['id']}", 200, headers=tokens["hospital"])
    assert still.json["overdue"] == "return"


def test_the_admin_lists_the_partner_hospitals(checked, testapp, tokens):
    from tests.conftest import csrf_token, login

    login(testapp, "admin")
    page = testapp.get("/referrals/partners")
    assert {box["value"] for box in page.html.select("input[name=partner][checked]")} == {
        HOSPITAL,
        OTHER_HOSPITAL,
    }  # every hospital until a list is kept
    testapp.post("/referrals/partners", {"partner": OTHER_HOSPITAL}, status=400)  # no CSRF
    testapp.post(
        "/referrals/partners",
        {"partner": [OTHER_HOSPITAL, "110101001"], "csrf_token": csrf_token(testapp)},
        status=303,
    )
    partners = checked("get", "/api/v1/referrals/partners", 200, headers=tokens["station"]).json
    assert [p["code"] for p in partners] == [OTHER_HOSPITAL]  # a centre is never a partner
    register_person(testapp, org=STATION, login="station")
    record = submit_slip(checked, tokens)
    refused = checked(
        "post_json",
        "/api/v1/referrals",
        422,
        params={"submission": record, "hospital": HOSPITAL},
        headers=tokens["station"],
    )
    assert refused.json["reason"] == "hospital"
    testapp.reset()
    login(testapp, "dongcheng")
    testapp.get("/referrals/partners", status=403)
