"""Reports and review: a report may count only the records approved at a review level or
above; its figures follow every transition (the same aggregate hook as saving), and its
header says which records it counts."""

import json
import time

from tests.conftest import login
from tests.functional.test_api_forms import submit
from tests.functional.test_review import take

URL = "/api/v1/reports/service-volume"
PARAMS = {"org": "110101", "period": "2026-10"}


def counted(checked, tokens) -> int:
    deadline = time.monotonic() + 60
    while True:  # 503 while the figures are recomputed for the new definition
        res = checked("get", URL, "*", headers=tokens["dongcheng"], params=PARAMS)
        if res.status_int == 200:
            break
        assert res.status_int == 503 and time.monotonic() < deadline
        time.sleep(0.05)
    report = res.json
    column = [c["key"] for c in report["columns"]].index("bp_check")
    return report["total"][column], report["approved_at_least"]


def test_a_report_of_approved_records_follows_every_transition(checked, testapp, published, tokens):
    records = [submit(checked, tokens["station"], org="110101001001").json["id"] for _ in range(3)]
    assert counted(checked, tokens) == (3, None)

    login(testapp, "admin")
    form = testapp.get("/reports/service-volume/edit").forms["report-edit"]
    layout = json.loads(form["layout"].value)
    form["layout"] = json.dumps({**layout, "approved_at_least": "province"})
    refused = form.submit(status=400)  # not a level
    assert "approved_at_least" in refused.text
    form = refused.forms["report-edit"]
    form["layout"] = json.dumps({**layout, "approved_at_least": "centre"})
    form.submit(status=303)
    assert counted(checked, tokens) == (0, "centre")  # rebuilt: nothing approved yet

    take(checked, tokens, "centre", records[0], "approve")
    take(checked, tokens, "centre", records[1], "approve")
    assert counted(checked, tokens) == (2, "centre")
    take(checked, tokens, "centre", records[1], "reopen", comment="再核对")
    assert counted(checked, tokens) == (1, "centre")
    take(checked, tokens, "centre", records[2], "return", comment="补填")
    assert counted(checked, tokens) == (1, "centre")

    page = testapp.get("/reports/service-volume", PARAMS)
    assert "只统计经中心及以上审核通过的记录" in page.text
    # A report that counts every record says so too, and still counts all three.
    kpi = testapp.get("/reports/public-health-kpi", {"org": "110101", "period": "2026"})
    assert "统计已提交的全部记录" in kpi.text
