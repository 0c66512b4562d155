"""The forms and submissions API: definitions in, versions out, submissions scoped, validated,
idempotent and masked; every exchange checked against openapi.json."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from forms.model import Choice, FormDefinition, Text
from forms.xlsform import export_xlsform, import_xlsform
from portal import models
from portal.models import Submission
from portal.services import submissions
from tests.conftest import bearer
from tests.functional.form_samples import ID_NUMBER, PHONE, bad_workbook, bp_form, good_data


def upload(checked, token, definition_or_bytes, status=201, **kw):
    data = definition_or_bytes
    if isinstance(data, FormDefinition):
        data = export_xlsform(data)
    return checked(
        "post",
        "/api/v1/forms",
        status,
        headers={**bearer(token), **kw.pop("headers", {})},
        upload_files=[("file", "form.xlsx", data)],
        **kw,
    )


def submit(
    checked,
    auth,
    status=201,
    org="110101001",
    period="2026-10",
    client_id=None,
    data=None,
    headers=None,
):
    body = {
        "org": org,
        "period": period,
        "client_id": client_id or str(uuid.uuid4()),
        "data": good_data() if data is None else data,
    }
    return checked(
        "post_json",
        "/api/v1/forms/bp_check/submissions",
        status,
        params=body,
        headers={**auth, **(headers or {})},
    )


def sql(testapp):
    return testapp.app.registry.dbsession_factory()


def audit_rows(testapp, event):
    with sql(testapp) as s:
        query = select(models.AuditEvent).filter_by(event=event).order_by(models.AuditEvent.id)
        return list(s.scalars(query))


# -- definitions ---------------------------------------------------------------------------
def test_upload_publish_read_and_download(checked, admin, tokens):
    res = upload(checked, admin, bp_form())
    assert res.json["name"] == "bp_check" and res.json["version"] == 1
    assert res.json["status"] == "draft" and res.json["created"] is True
    # A draft is for its editors only.
    drafts = checked("get", "/api/v1/forms", 200, headers=bearer(admin)).json
    ours = [(f["name"], f["status"], f["version"]) for f in drafts if f["name"] == "bp_check"]
    assert ours == [("bp_check", "draft", 1)]
    staff_sees = {
        f["name"] for f in checked("get", "/api/v1/forms", 200, headers=tokens["staff"]).json
    }
    assert "bp_check" not in staff_sees and "hypertension_followup" in staff_sees
    checked("get", "/api/v1/forms/bp_check", 404, headers=tokens["staff"])

    res = checked("post", "/api/v1/forms/bp_check/publish", 200, headers=bearer(admin))
    assert res.json["name"] == "bp_check" and res.json["version"] == 1
    assert res.json["changes"] == [] and res.json["data_loss"] is False

    listed = checked("get", "/api/v1/forms", 200, headers=tokens["station"]).json
    assert [f for f in listed if f["name"] == "bp_check"] == [
        {
            "name": "bp_check",
            "title": {"zh": "血压随访", "en": "Blood pressure follow-up"},
            "category": "医疗",
            "levels": ["station", "centre"],
            "period_type": "month",
            "version": 1,
            "status": "published",
            "draft_version": None,
        }
    ]
    definition = checked("get", "/api/v1/forms/bp_check", 200, headers=tokens["city"]).json
    assert definition == bp_form(version=1).to_dict()
    dbp = next(f for f in definition["fields"] if f["name"] == "dbp")
    assert dbp["constraint"] == ". < ${sbp}" and dbp["type"] == "integer"

    res = checked("get", "/api/v1/forms/bp_check/xlsform", 200, headers=tokens["auditor"])
    assert res.content_type.endswith("spreadsheetml.sheet")
    assert "bp_check-v1.xlsx" in res.headers["Content-Disposition"]
    assert import_xlsform(res.body).definition == bp_form(version=1)


def test_editing_a_published_form_makes_a_new_draft_with_its_differences(
    checked, admin, published, tokens, testapp
):
    changed = bp_form()
    changed.fields = [f for f in changed.fields if f.name != "phone"]
    changed.choice_lists["yes_no"] = [Choice("1", Text("是", "Yes")), Choice("0", Text("否"))]
    res = upload(checked, admin, changed, headers={"Accept-Language": "en"})
    assert res.json["version"] == 2 and res.json["created"] is False
    kinds = {(c["kind"], c["field"]): c for c in res.json["changes"]}
    assert kinds[("field_removed", "phone")]["data_loss"] is True
    assert kinds[("options_removed", "smoker")]["data_loss"] is True
    assert "phone" in kinds[("field_removed", "phone")]["text"]

    # Until it is published, everyone keeps working with version 1.
    listed = {
        f["name"]: f for f in checked("get", "/api/v1/forms", 200, headers=bearer(admin)).json
    }
    assert (listed["bp_check"]["version"], listed["bp_check"]["draft_version"]) == (1, 2)
    assert (
        checked("get", "/api/v1/forms", 200, headers=tokens["staff"]).json[0]["draft_version"]
        is None
    )
    assert submit(checked, tokens["staff"]).json["form_version"] == 1

    res = checked("post", "/api/v1/forms/bp_check/publish", 200, headers=bearer(admin))
    assert res.json["version"] == 2 and res.json["data_loss"] is True
    latest = checked("get", "/api/v1/forms/bp_check", 200, headers=tokens["staff"]).json
    assert latest["version"] == 2 and "phone" not in [f["name"] for f in latest["fields"]]
    first = checked("get", "/api/v1/forms/bp_check?version=1", 200, headers=tokens["staff"])
    assert "phone" in [f["name"] for f in first.json["fields"]]
    checked("get", "/api/v1/forms/bp_check?version=3", 404, headers=tokens["staff"])
    checked("get", "/api/v1/forms/bp_check?version=x", 400, headers=tokens["staff"])
    res = checked("get", "/api/v1/forms/bp_check/xlsform?version=1", 200, headers=bearer(admin))
    assert import_xlsform(res.body).definition == bp_form(version=1)
    # Nothing left to publish.
    checked("post", "/api/v1/forms/bp_check/publish", 409, headers=bearer(admin))
    events = [(r.event, r.target, r.detail) for r in audit_rows(testapp, "form.publish")]
    assert events == [
        ("form.publish", "bp_check", {"version": 1, "data_loss": False}),
        ("form.publish", "bp_check", {"version": 2, "data_loss": True}),
    ]
    assert [r.detail for r in audit_rows(testapp, "form.import")] == [
        {"version": 1, "created": True},
        {"version": 2, "created": False},
    ]


def test_only_the_system_administrator_uploads_and_publishes(checked, testapp, tokens, published):
    for login_name in ("staff", "city", "security", "auditor"):
        upload(checked, None, bp_form(), status=403, headers=tokens[login_name])
        checked("post", "/api/v1/forms/bp_check/publish", 403, headers=tokens[login_name])
    testapp.post("/api/v1/forms", upload_files=[("file", "f.xlsx", b"x")], status=401)
    checked("get", "/api/v1/forms", 401)
    checked("get", "/api/v1/forms/bp_check", 401)
    checked("get", "/api/v1/submissions/whatever", 401)
    # A role anywhere is enough to read the definitions.
    checked("get", "/api/v1/forms/bp_check", 200, headers=tokens["hospital"])
    checked("get", "/api/v1/forms/nothing", 404, headers=tokens["hospital"])
    checked("get", "/api/v1/forms/nothing/xlsform", 404, headers=tokens["hospital"])


def test_a_bad_xlsform_is_refused_by_row_in_the_callers_language(checked, admin, testapp):
    res = upload(checked, admin, bad_workbook(), status=422)
    errors = res.json["errors"]
    assert [(e["sheet"], e["row"]) for e in errors] == [("survey", 3), ("survey", 4)]
    assert errors[0]["column"] == "A" and errors[0]["id"] == "xlsform.unknown_type"
    assert "第 3 行" in errors[0]["text"] and "temperature" in errors[0]["text"]
    english = upload(
        checked, admin, bad_workbook(), status=422, headers={"Accept-Language": "en-GB,en;q=0.8"}
    ).json["errors"]
    assert "row 3" in english[0]["text"]
    by_parameter = upload(checked, admin, bad_workbook(), status=422, params={"_LOCALE_": "en"})
    assert by_parameter.json["errors"][0]["text"] == english[0]["text"]
    # Pages stay Chinese whatever the browser prefers, until someone chooses English.
    testapp.reset()
    assert "登录" in testapp.get("/login", headers={"Accept-Language": "en"}).text
    # Nothing was half-imported: only the shipped forms are there.
    names = {f["name"] for f in checked("get", "/api/v1/forms", 200, headers=bearer(admin)).json}
    assert "bp_check" not in names and "hypertension_followup" in names
    assert audit_rows(testapp, "form.import") == []
    res = checked(
        "post", "/api/v1/forms", 400, headers=bearer(admin), params={"file": "not a file"}
    )
    assert "file" in res.json["error"]


def test_a_draft_that_is_not_ready_cannot_be_published(checked, admin):
    upload(checked, admin, bp_form(category=None, levels=()))
    res = checked("post", "/api/v1/forms/bp_check/publish", 422, headers=bearer(admin))
    ids = {e["id"] for e in res.json["errors"]}
    assert ids == {"definition.category_missing", "definition.levels_missing"}
    checked("post", "/api/v1/forms/nothing/publish", 404, headers=bearer(admin))
    listed = checked("get", "/api/v1/forms", 200, headers=bearer(admin)).json
    assert {f["name"]: f["status"] for f in listed}["bp_check"] == "draft"


# -- submissions ---------------------------------------------------------------------------
def test_a_valid_submission_is_stored_clean(checked, published, tokens, testapp):
    data = good_data(smoker="2", cigarettes=20, pulse_pressure=999)
    res = submit(checked, tokens["staff"], data=data)
    assert res.json["status"] == "submitted" and res.json["form_version"] == 1
    assert res.location.endswith("/api/v1/submissions/" + res.json["id"])
    with sql(testapp) as s:
        row = s.get(Submission, res.json["id"])
    assert (row.form_name, row.form_version, row.org_code, row.period, row.author) == (
        "bp_check",
        1,
        "110101001",
        "2026-10",
        "staff",
    )
    assert row.org_path == "/110000/110101/110101001/"
    # Not relevant (a non-smoker): dropped; the calculation is the server's own.
    assert "cigarettes" not in row.data and row.data["pulse_pressure"] == 55
    assert row.data["meds"] == [{"drug": "氨氯地平", "dose": 5}]
    [event] = audit_rows(testapp, "submission.create")
    assert (event.actor, event.target, event.org_code) == ("staff", row.id, "110101001")
    assert ID_NUMBER not in repr(event.detail)
    # Station staff fill in for their own station; centre staff for their stations too.
    submit(checked, tokens["station"], org="110101001001")
    submit(checked, tokens["staff"], org="110101001002")


def test_invalid_data_gets_errors_by_field(checked, published, tokens, testapp):
    data = good_data(
        sbp=400,
        dbp=120,
        smoker="1",
        cigarettes=-1,
        phone="12345",
        meds=[{"dose": 5}, {"drug": "x", "dose": "lots"}],
        extra=1,
    )
    res = submit(checked, tokens["staff"], 422, data=data, period="2026-13")
    errors = res.json["errors"]
    assert set(errors) == {
        "period",
        "sbp",
        "cigarettes",
        "phone",
        "meds.0.drug",
        "meds.1.dose",
        "extra",
    }
    assert errors["sbp"] == "数值不能大于 300。"
    assert "2026-10" in errors["period"]
    res = submit(
        checked,
        tokens["staff"],
        422,
        data=good_data(sbp=120, dbp=130),
        headers={"Accept-Language": "en"},
    )
    assert res.json["errors"] == {"dbp": "Must be below the systolic"}
    with sql(testapp) as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 0


@pytest.mark.parametrize(
    "period, problem",
    [
        (None, "2026-10"),
        ("2026-Q3", "2026-10"),
        ("2026", "2026-10"),
        ("2999-01", "2999-01"),
    ],
)
def test_the_period_must_fit_the_form(checked, published, tokens, period, problem):
    res = submit(checked, tokens["staff"], 422, period=period, headers={"Accept-Language": "en"})
    assert list(res.json["errors"]) == ["period"] and problem in res.json["errors"]["period"]


def test_a_form_without_periods_takes_none(checked, admin, tokens):
    upload(checked, admin, bp_form(period_type="none"))
    checked("post", "/api/v1/forms/bp_check/publish", 200, headers=bearer(admin))
    assert "period" in submit(checked, tokens["staff"], 422).json["errors"]
    submit(checked, tokens["staff"], period=None)


@pytest.mark.parametrize(
    "login_name, org",
    [
        ("staff", "110101002"),  # another centre of the district
        ("staff", "110102001"),  # another district
        ("staff", "110101"),  # above their unit
        ("station", "110101001"),  # their centre
        ("station", "110101001002"),  # a sibling station
        ("dongcheng", "110101001"),  # managers do not fill in forms
        ("admin", "110101001"),
        ("staff", "999999999"),  # no such unit
    ],
)
def test_submitting_outside_ones_part_of_the_tree_is_refused(
    checked, published, tokens, testapp, login_name, org
):
    res = submit(checked, tokens[login_name], 403, org=org)
    assert res.json["error"]
    [denied] = [r for r in audit_rows(testapp, "access") if r.outcome == "denied"]
    assert denied.actor == login_name and denied.detail["reason"] == res.json["error"]


def test_a_form_is_filled_in_only_at_its_levels(checked, admin, tokens):
    upload(checked, admin, bp_form(levels=("station",)))
    checked("post", "/api/v1/forms/bp_check/publish", 200, headers=bearer(admin))
    res = submit(checked, tokens["staff"], 403, org="110101001")
    assert "station" in res.json["error"] and "centre" in res.json["error"]
    submit(checked, tokens["staff"], org="110101001001")


def test_a_repeated_client_id_returns_the_original(checked, published, tokens, testapp):
    client_id = str(uuid.uuid4())
    first = submit(checked, tokens["staff"], client_id=client_id)
    # A retry, even with other data, is the same submission, not a new one.
    again = submit(
        checked, tokens["staff"], 200, client_id=client_id.upper(), data=good_data(sbp=170)
    )
    assert again.json == first.json
    assert again.json["id"] == first.json["id"]
    # Someone else's key is not theirs to see.
    submit(checked, tokens["station"], 409, client_id=client_id, org="110101001001")
    with sql(testapp) as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 1
        assert s.get(Submission, first.json["id"]).data["sbp"] == 150


def test_malformed_requests(checked, published, tokens):
    headers = tokens["staff"]
    path = "/api/v1/forms/bp_check/submissions"
    checked("post", path, 400, params=b"[1]", content_type="application/json", headers=headers)
    submit(checked, headers, 400, client_id="not-a-uuid")
    submit(checked, headers, 400, org=110101001)
    submit(checked, headers, 400, period=202610)
    res = submit(checked, headers, 422, data=["not", "an", "object"])
    assert list(res.json["errors"]) == [""]
    checked(
        "post_json",
        "/api/v1/forms/nothing/submissions",
        404,
        headers=headers,
        params={"org": "110101001", "client_id": str(uuid.uuid4()), "data": {}},
    )
    body = {
        "org": "110101001",
        "period": "2026-10",
        "client_id": str(uuid.uuid4()),
        "data": good_data(),
        "form_version": 7,
    }
    checked("post_json", path, 404, params=body, headers=headers)
    checked("get", "/api/v1/submissions/" + str(uuid.uuid4()), 404, headers=headers)


def test_personal_fields_are_masked_unless_the_role_may_see_them(
    checked, published, tokens, testapp
):
    created = submit(checked, tokens["station"], org="110101001001").json
    path = "/api/v1/submissions/" + created["id"]
    for login_name in ("station", "staff"):  # survey staff of the unit (or above it)
        res = checked("get", path, 200, headers=tokens[login_name]).json
        assert res["masked"] is False
        assert (res["data"]["id_number"], res["data"]["phone"]) == (ID_NUMBER, PHONE)
    for login_name in ("dongcheng", "city"):  # managers
        res = checked("get", path, 200, headers=tokens[login_name]).json
        assert res["masked"] is True
        assert res["data"]["id_number"] == "110105********002X"
        assert res["data"]["phone"] == "138****5678"
        assert res["data"]["name"] == "王**" and res["data"]["sbp"] == 150
    assert res["org"] == "110101001001" and res["author"] == "station"
    for login_name in ("xicheng", "auditor", "admin", "hospital"):
        checked("get", path, 403, headers=tokens[login_name])
    reads = audit_rows(testapp, "submission.read")
    assert [(r.actor, r.detail["masked"]) for r in reads] == [
        ("station", False),
        ("staff", False),
        ("dongcheng", True),
        ("city", True),
    ]
    assert all(r.target == created["id"] and r.org_code == "110101001001" for r in reads)
    logged = " ".join(repr((r.target, r.detail)) for r in audit_rows(testapp, "submission.read"))
    assert ID_NUMBER not in logged and PHONE not in logged and "王小明" not in logged


def add_rows(testapp, rows):
    """Submissions written straight to SQL: (org code, org path, period, status) each."""
    with sql(testapp) as s:
        for index, (code, path, period, status) in enumerate(rows):
            s.add(
                Submission(
                    id=str(uuid.uuid4()),
                    form_name="bp_check",
                    form_version=1,
                    org_code=code,
                    org_path=path,
                    period=period,
                    status=status,
                    author="staff",
                    created=models.utcnow(),
                    updated=models.utcnow(),
                    client_id=str(uuid.uuid4()),
                    data={"sbp": 100 + index},
                )
            )
        s.commit()


CENTRE = "/110000/110101/110101001/"
STATION = CENTRE + "110101001001/"
OTHER_CENTRE = "/110000/110101/110101002/"
XICHENG = "/110000/110102/110102001/"


def test_lists_are_scoped_filtered_and_paged(checked, published, tokens, testapp):
    add_rows(
        testapp,
        [("110101001", CENTRE, "2026-09", "submitted")] * 40
        + [("110101001001", STATION, "2026-10", "submitted")] * 15
        + [("110101002", OTHER_CENTRE, "2026-10", "draft")] * 5
        + [("110102001", XICHENG, "2026-10", "submitted")] * 7,
    )
    path = "/api/v1/forms/bp_check/submissions"

    def listed(login_name, query="", status=200):
        return checked("get", path + query, status, headers=tokens[login_name])

    first = listed("dongcheng").json
    assert first["total"] == 60 and len(first["items"]) == 50
    second = listed("dongcheng", "?page=2").json
    assert second["total"] == 60 and len(second["items"]) == 10
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
    assert "data" not in first["items"][0]
    assert listed("staff").json["total"] == 55
    assert listed("station").json["total"] == 15
    assert listed("xicheng").json["total"] == 7
    assert listed("city").json["total"] == 67
    assert listed("dongcheng", "?org=110101001001").json["total"] == 15
    assert listed("dongcheng", "?period=2026-10").json["total"] == 20
    assert listed("dongcheng", "?status=draft").json["total"] == 5
    assert listed("staff", "?period=2026-10&status=submitted").json["total"] == 15
    items = listed("city", "?org=110102").json["items"]
    assert {i["org"] for i in items} == {"110102001"}
    listed("dongcheng", "?org=110102", 403)
    listed("station", "?org=110101001", 403)
    listed("staff", "?org=999", 403)
    listed("admin", "", 403)
    listed("auditor", "", 403)
    checked("get", "/api/v1/forms/nothing/submissions", 404, headers=tokens["staff"])
    # A page that is not a whole number from 1 is refused, also one too big for SQL.
    for page in ("0", "-1", "x", "1.5", "99999999999999999999", "1000000000"):
        assert "page" in listed("staff", "?page=" + page, 400).json["error"]
    assert listed("staff", "?page=999999999").json["items"] == []


def test_a_concurrent_duplicate_is_retried_into_the_original(
    checked, published, tokens, monkeypatch
):
    client_id = str(uuid.uuid4())
    first = submit(checked, tokens["staff"], client_id=client_id).json
    # As if the insert had found the client_id taken by a transaction that the look-up after
    # it cannot see yet: the request is retried, and the retry finds the original.
    lookups = []
    real = submissions.by_client_id

    def racing(dbsession, key):
        lookups.append(key)
        return None if len(lookups) == 1 else real(dbsession, key)

    monkeypatch.setattr(submissions, "by_client_id", racing)
    again = submit(checked, tokens["staff"], 200, client_id=client_id).json
    assert again == first and len(lookups) == 2


def test_simultaneous_requests_with_one_client_id_make_one_submission(
    checked, published, tokens, testapp, monkeypatch
):
    """Two requests with the same client_id reach the insert together: one makes the
    submission (201), the other waits for it and answers with it (200)."""
    together = threading.Barrier(2, timeout=30)
    real = submissions._insert

    def insert_together(*args):
        together.wait()
        return real(*args)

    monkeypatch.setattr(submissions, "_insert", insert_together)
    client_id = str(uuid.uuid4())
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(
                lambda _: testapp.post_json(
                    "/api/v1/forms/bp_check/submissions",
                    {
                        "org": "110101001",
                        "period": "2026-10",
                        "client_id": client_id,
                        "data": good_data(),
                    },
                    headers=tokens["staff"],
                    status="*",
                ),
                range(2),
            )
        )
    assert sorted(a.status_int for a in answers) == [200, 201]
    assert answers[0].json == answers[1].json
    with sql(testapp) as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 1
    assert len(audit_rows(testapp, "submission.create")) == 1


def test_a_failure_after_the_insert_leaves_no_submission_and_no_audit_row(
    checked, published, tokens, testapp, monkeypatch
):
    """The submission and its audit row are written by Core statements, in the request's
    transaction: when the request fails afterwards, neither remains."""

    def fail(*args):
        raise RuntimeError("fails after the insert")

    monkeypatch.setattr(submissions.attachments, "bind", fail)
    with pytest.raises(RuntimeError):
        submit(checked, tokens["staff"])
    monkeypatch.undo()
    with sql(testapp) as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 0
    assert audit_rows(testapp, "submission.create") == []
    submit(checked, tokens["staff"])  # and the writer after it is not kept waiting
    assert len(audit_rows(testapp, "submission.create")) == 1
