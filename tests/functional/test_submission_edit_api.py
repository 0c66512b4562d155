"""PUT /api/v1/submissions/{id}: staff edit a submitted record while the workflow allows it;
every version is kept, the values are validated with the record's own form version, a stale
edit is refused, and every exchange is checked against openapi.json."""

import uuid

import pytest
from sqlalchemy import select

from portal.models import Submission, SubmissionRevision
from portal.services import submissions
from tests.conftest import audit_rows, bearer, sql
from tests.functional.form_samples import ID_NUMBER, PHONE, bp_form, good_data
from tests.functional.test_api_forms import submit, upload


@pytest.fixture
def record(checked, published, tokens):
    """A bp_check submission of centre 110101001 by `staff`: its id."""
    return submit(checked, tokens["staff"]).json["id"]


def put(checked, auth, submission_id, status=200, **body):
    return checked(
        "put_json", "/api/v1/submissions/" + submission_id, status, params=body, headers=auth
    )


def kept(testapp, submission_id):
    with sql(testapp) as s:
        query = (
            select(SubmissionRevision)
            .filter_by(submission_id=submission_id)
            .order_by(SubmissionRevision.revision)
        )
        return list(s.scalars(query))


def stored(testapp, submission_id):
    with sql(testapp) as s:
        return s.get(Submission, submission_id)


def set_status(testapp, submission_id, status):
    with sql(testapp) as s:
        s.get(Submission, submission_id).status = status
        s.commit()


def test_an_edit_keeps_the_values_it_replaces(checked, testapp, tokens, record):
    path = "/api/v1/submissions/" + record
    assert checked("get", path, 200, headers=tokens["staff"]).json["revision"] == 1
    before = stored(testapp, record)
    res = put(
        checked, tokens["staff"], record, data=good_data(sbp=140, pulse_pressure=1), revision=1
    )
    assert res.json == {"id": record, "status": "submitted", "form_version": 1, "revision": 2}
    row = stored(testapp, record)
    # The row holds the current values, with the calculation the server's own.
    assert row.data["sbp"] == 140 and row.data["pulse_pressure"] == 45
    assert row.updated > before.updated and row.author == "staff"
    first, second = kept(testapp, record)
    assert (first.revision, first.saved_by, first.saved) == (1, "staff", before.updated)
    assert first.data == before.data and first.period == "2026-10"
    assert (second.revision, second.saved_by, second.data) == (2, "staff", row.data)
    assert second.form_version == first.form_version == 1

    # Station staff edit it too (a unit above may fill in for its stations, not the reverse).
    station_record = submit(checked, tokens["station"], org="110101001001").json["id"]
    res = put(checked, tokens["staff"], station_record, data=good_data(dbp=80), period="2026-09")
    assert res.json["revision"] == 2
    assert stored(testapp, station_record).period == "2026-09"
    put(checked, tokens["station"], record, 403, data=good_data())

    got = checked("get", path, 200, headers=tokens["staff"]).json
    assert got["revision"] == 2 and got["data"]["sbp"] == 140

    [event, _station] = audit_rows(testapp, event="submission.edit")
    assert (event.actor, event.target, event.org_code) == ("staff", record, "110101001")
    assert event.detail == {
        "form": "bp_check",
        "version": 1,
        "revision": 2,
        "fields": ["sbp", "pulse_pressure"],
    }
    # The targets are UUIDs, already checked above: a value like "140" may occur in one.
    logged = repr([e.detail for e in audit_rows(testapp, event="submission.edit")])
    assert ID_NUMBER not in logged and "王小明" not in logged and "140" not in logged


def test_nothing_changed_saves_nothing(checked, testapp, tokens, record):
    res = put(checked, tokens["staff"], record, data=good_data(), revision=1)
    assert res.json["revision"] == 1
    assert kept(testapp, record) == []
    assert audit_rows(testapp, event="submission.edit") == []


def test_invalid_edits_are_refused_like_new_submissions(checked, testapp, tokens, record):
    data = good_data(sbp=400, smoker="1", cigarettes=-1, meds=[{"dose": 5}])
    res = put(checked, tokens["staff"], record, 422, data=data, period="2026-13")
    assert set(res.json["errors"]) == {"period", "sbp", "cigarettes", "meds.0.drug"}
    assert res.json["errors"]["sbp"] == "数值不能大于 300。"
    res = put(
        checked,
        {**tokens["staff"], "Accept-Language": "en"},
        record,
        422,
        data=good_data(sbp=120, dbp=130),
    )
    assert res.json["errors"] == {"dbp": "Must be below the systolic"}
    assert kept(testapp, record) == [] and stored(testapp, record).data["sbp"] == 150


def test_edits_are_validated_with_the_records_own_version(checked, testapp, admin, tokens, record):
    stricter = bp_form()
    stricter.get_field("sbp").max = 200
    upload(checked, admin, stricter)
    checked("post", "/api/v1/forms/bp_check/publish", 200, headers=bearer(admin))
    # Version 2 refuses 250 …
    res = submit(checked, tokens["staff"], 422, data=good_data(sbp=250))
    assert "200" in res.json["errors"]["sbp"]
    # … but the record was filled with version 1, which allows it, and stays at version 1.
    res = put(checked, tokens["staff"], record, data=good_data(sbp=250))
    assert res.json["form_version"] == 1 and stored(testapp, record).data["sbp"] == 250


def test_a_stale_edit_is_refused_and_nothing_is_lost(checked, testapp, tokens, record):
    put(checked, tokens["staff"], record, data=good_data(sbp=140), revision=1)
    res = put(checked, tokens["staff"], record, 409, data=good_data(sbp=130), revision=1)
    assert res.json["revision"] == 2
    assert "staff" in res.json["error"] and "2" in res.json["error"]
    assert stored(testapp, record).data["sbp"] == 140
    # Sent for the current revision, it is saved; without a revision it is saved too, and
    # both edits are kept.
    put(checked, tokens["staff"], record, data=good_data(sbp=130), revision=2)
    put(checked, tokens["staff"], record, data=good_data(sbp=120))
    assert [r.data["sbp"] for r in kept(testapp, record)] == [150, 140, 130, 120]


def test_a_concurrent_edit_is_retried_into_a_stale_refusal(
    checked, testapp, tokens, record, monkeypatch
):
    put(checked, tokens["staff"], record, data=good_data(sbp=140), revision=1)
    # As if another edit committed between our look-up of the revision and our insert: the
    # primary key refuses the row, and the retried request sees the new revision.
    lookups = []
    real = submissions.current_revision

    def racing(dbsession, submission_id):
        lookups.append(submission_id)
        return 1 if len(lookups) == 1 else real(dbsession, submission_id)

    monkeypatch.setattr(submissions, "current_revision", racing)
    res = put(checked, tokens["staff"], record, 409, data=good_data(sbp=130), revision=1)
    assert res.json["revision"] == 2 and len(lookups) == 2
    assert [r.data["sbp"] for r in kept(testapp, record)] == [150, 140]


@pytest.mark.parametrize(
    "status, message",
    [
        ("approved", "approved"),
        ("draft", "draft"),
    ],
)
def test_the_workflow_state_decides(checked, testapp, tokens, record, status, message):
    set_status(testapp, record, status)
    res = put(
        checked, {**tokens["staff"], "Accept-Language": "en"}, record, 409, data=good_data(sbp=140)
    )
    assert message in res.json["error"]
    assert kept(testapp, record) == [] and stored(testapp, record).data["sbp"] == 150


def test_returned_records_are_edited_like_submitted_ones(checked, testapp, tokens, record):
    set_status(testapp, record, "returned")
    res = put(checked, tokens["staff"], record, data=good_data(sbp=140))
    assert (res.json["status"], res.json["revision"]) == ("returned", 2)


def test_only_staff_within_scope_edit(checked, testapp, tokens, record):
    # Managers review staff data, they do not edit it; others do not even see it.
    for login_name in ("dongcheng", "city", "xicheng", "auditor", "admin", "hospital"):
        put(checked, tokens[login_name], record, 403, data=good_data(sbp=140))
    assert kept(testapp, record) == []
    denied = audit_rows(testapp, event="access", outcome="denied")
    assert {r.actor for r in denied} >= {"dongcheng", "city", "xicheng"}
    put(checked, tokens["staff"], str(uuid.uuid4()), 404, data=good_data())


def test_if_match_with_the_etag_read_refuses_a_stale_edit(checked, testapp, tokens, record):
    staff, path = tokens["staff"], "/api/v1/submissions/" + record
    etag = checked("get", path, 200, headers=staff).headers["ETag"]
    assert etag == '"r1"'

    def put_if(match, status, **data):
        return checked(
            "put_json",
            path,
            status,
            params={"data": good_data(**data)},
            headers={**staff, "If-Match": match},
        )

    saved = put_if(etag, 200, sbp=140)
    assert saved.json["revision"] == 2 and saved.headers["ETag"] == '"r2"'
    # Someone else saved meanwhile: the old tag no longer matches, nothing is saved.
    refused = put_if(etag, 412, sbp=130)
    assert refused.json["revision"] == 2 and refused.headers["ETag"] == '"r2"'
    assert "staff" in refused.json["error"]
    assert stored(testapp, record).data["sbp"] == 140
    # A weak, foreign or malformed tag matches no revision; `*` matches any.
    for match in ('W/"r2"', '"x2"', "r2", '"r2", "r3"'):
        res = put_if(match, 412, sbp=130)
        assert res.json["revision"] == 2, match
    assert put_if("*", 200, sbp=130).headers["ETag"] == '"r3"'
    assert put_if('"r3"', 200, sbp=120).json["revision"] == 4
    # The body's revision and If-Match must agree; the body's alone still gives 409.
    res = checked(
        "put_json",
        path,
        400,
        params={"data": good_data(), "revision": 3},
        headers={**staff, "If-Match": '"r4"'},
    )
    assert "If-Match" in res.json["error"]
    put(checked, staff, record, 409, data=good_data(sbp=110), revision=3)
    assert [r.data["sbp"] for r in kept(testapp, record)] == [150, 140, 130, 120]
    # Outside the caller's part of the tree the tag tells nothing: 403 first.
    res = checked(
        "put_json",
        path,
        403,
        params={"data": good_data()},
        headers={**tokens["xicheng"], "If-Match": '"r9"'},
    )
    assert "revision" not in res.json and "ETag" not in res.headers


def test_malformed_edits(checked, tokens, record):
    staff = tokens["staff"]
    checked(
        "put",
        "/api/v1/submissions/" + record,
        400,
        params="[1]",
        headers={**staff, "Content-Type": "application/json"},
    )
    put(checked, staff, record, 400, period="2026-10")  # no data
    put(checked, staff, record, 400, data=good_data(), period=202610)
    put(checked, staff, record, 400, data=good_data(), revision="2")
    put(checked, staff, record, 422, data=[1, 2])


def test_a_session_edit_needs_the_csrf_token(testapp, record):
    from tests.conftest import csrf_token, login

    login(testapp, "staff")
    testapp.put_json("/api/v1/submissions/" + record, {"data": good_data()}, status=400)
    token = csrf_token(testapp)
    testapp.put_json(
        "/api/v1/submissions/" + record,
        {"data": good_data(sbp=140)},
        headers={"X-CSRF-Token": token},
        status=200,
    )


def test_managers_read_the_revision_with_personal_fields_masked(checked, tokens, record):
    res = checked("get", "/api/v1/submissions/" + record, 200, headers=tokens["dongcheng"])
    assert res.json["masked"] is True and res.json["revision"] == 1
    assert PHONE not in res.text
