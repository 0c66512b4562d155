"""The report aggregates follow every change of a submission in its own transaction:
creating, editing (values and period), drafts, unit moves, and bulk writes; and they always
equal a full recomputation from the raw rows."""

import uuid

import pytest
from sqlalchemy import select

from portal.models import ReportAggregate, Submission
from portal.services import aggregates, record_changes
from tests.conftest import login, sql
from tests.functional.test_api_forms import submit


def differences(testapp) -> list[str]:
    registry = testapp.app.registry
    with sql(testapp) as s:
        conn = registry.zodb.open()
        try:
            catalogue = aggregates.catalogue_of(conn.root()["site"], registry)
            return aggregates.differences(s, catalogue)
        finally:
            conn.close()


def kept(testapp, org: str, period: str, key: str) -> int:
    with sql(testapp) as s:
        n = s.scalar(
            select(ReportAggregate.n).where(
                ReportAggregate.org_code == org,
                ReportAggregate.period == period,
                ReportAggregate.key == key,
            )
        )
    return n or 0


def test_creating_editing_and_moving_keep_the_aggregates_exact(checked, testapp, published, tokens):
    key = "form:bp_check"
    first = submit(checked, tokens["staff"]).json["id"]
    submit(checked, tokens["station"], org="110101001001")
    assert kept(testapp, "110101", "2026-10", key) == 2
    assert kept(testapp, "110101", "2026", key) == 2
    assert kept(testapp, "110101001001", "2026-Q4", key) == 1
    assert kept(testapp, "110000", "2026", key) == 2
    assert differences(testapp) == []

    # A change of period moves the record between months (and stays in the year).
    record = checked("get", f"/api/v1/submissions/{first}", 200, headers=tokens["staff"]).json
    checked(
        "put_json",
        f"/api/v1/submissions/{first}",
        200,
        headers=tokens["staff"],
        params={"data": record["data"], "period": "2026-09", "revision": 1},
    )
    assert kept(testapp, "110101", "2026-10", key) == 1
    assert kept(testapp, "110101", "2026-09", key) == 1
    assert kept(testapp, "110101", "2026-Q3", key) == 1
    assert kept(testapp, "110101", "2026", key) == 2
    assert differences(testapp) == []

    # A centre moves to another district: its sums go with it.
    login(testapp, "admin")
    form = testapp.get("/110000/110101/110101001/move").forms["org-move"]
    form["parent"] = "110102"
    form.submit("save", status=303)
    assert kept(testapp, "110101", "2026", key) == 0
    assert kept(testapp, "110102", "2026", key) == 2
    assert kept(testapp, "110000", "2026", key) == 2
    assert differences(testapp) == []


def test_a_failed_request_leaves_rows_and_aggregates_unchanged_together(
    checked, testapp, published, tokens
):
    submit(checked, tokens["staff"])
    before = kept(testapp, "110101", "2026-10", "form:bp_check")
    client_id = str(uuid.uuid4())
    bad = {"sbp": "not a number"}
    submit(checked, tokens["staff"], status=422, client_id=client_id, data=bad)
    assert kept(testapp, "110101", "2026-10", "form:bp_check") == before == 1
    assert differences(testapp) == []


def test_a_crash_after_the_aggregates_were_kept_undoes_both(checked, testapp, published, tokens):
    """A failure later in the request (here a listener after the aggregates' one raises, as
    a crash or a lost connection would) rolls back the row and its aggregates together."""
    submit(checked, tokens["staff"])

    def crash(changes):
        raise RuntimeError("simulated crash after the aggregates were written")

    record_changes.add_listener(testapp.app.registry, crash)
    client_id = str(uuid.uuid4())
    with pytest.raises(RuntimeError, match="simulated crash"):
        submit(checked, tokens["staff"], client_id=client_id)
    with sql(testapp) as s:
        assert s.scalar(select(Submission.id).where(Submission.client_id == client_id)) is None
    assert kept(testapp, "110101", "2026-10", "form:bp_check") == 1
    assert differences(testapp) == []
