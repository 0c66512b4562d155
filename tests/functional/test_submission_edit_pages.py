"""Editing a submitted record on the data-entry pages: the edit button, the form filled with
the current values, errors at the field, a stale edit told apart with everything typed kept,
the workflow's refusals, and the history on the record's page (masked for managers)."""

import pytest
from sqlalchemy import select

from portal.models import Submission, SubmissionRevision
from tests.conftest import audit_rows, csrf_token, login, sql
from tests.functional.people import register_person
from tests.functional.test_data_entry import CENTRE, FORM, good, rows


@pytest.fixture
def record(testapp):
    """A hypertension follow-up submitted by `staff` for its centre (still logged in)."""
    login(testapp, "staff")
    register_person(testapp)
    good(testapp.get(FORM).forms["entry"], name="张三").submit("submit", status=303)
    (row,) = rows(testapp)
    return row


def view_url(row):
    return CENTRE + "submissions/" + row.id


def kept(testapp, row):
    with sql(testapp) as s:
        query = (
            select(SubmissionRevision)
            .filter_by(submission_id=row.id)
            .order_by(SubmissionRevision.revision)
        )
        return list(s.scalars(query))


def set_status(testapp, row, status):
    with sql(testapp) as s:
        s.get(Submission, row.id).status = status
        s.commit()


def flash_text(page):
    return page.html.select_one("#flash").get_text(" ", strip=True)


def history(page):
    """{revision: {field: (before, after)}} as the history section shows it."""
    shown = {}
    for item in page.html.select("#history li[data-revision]"):
        shown[int(item["data-revision"])] = {
            tr["data-field"]: tuple(td.get_text(strip=True) for td in tr.select("td")[1:])
            for tr in item.select("tr[data-field]")
        }
    return shown


def test_staff_edit_a_submitted_record_and_see_its_history(testapp, record):
    view = testapp.get(view_url(record))
    assert view.html.select_one("#history") is None  # never edited: nothing to list
    edit = testapp.get(view.html.select_one("a#edit")["href"])
    form = edit.forms["entry"]
    assert (form["name"].value, form["sbp"].value, form["entry_revision"].value) == (
        "张三",
        "150",
        "1",
    )
    assert [o[0] for o in form["entry_org"].options] == ["110101001"]
    assert "save_draft" not in form.fields
    form["sbp"] = "140"
    form["name"] = "张三丰"
    form["weight"] = "70"
    form["height"] = "170"
    done = form.submit("save", status=303)
    assert done.location.endswith(view_url(record))
    page = done.follow()
    assert flash_text(page) == "您的修改已保存。"
    assert page.html.select_one("#status").get_text(strip=True) == "已提交"
    shown = history(page)
    assert list(shown) == [2, 1]
    assert shown[2]["sbp"] == ("150", "140") and shown[2]["name"] == ("张三", "张三丰")
    assert shown[2]["bmi"] == ("—", "24.2")  # recomputed by the server
    assert shown[1] == {}
    assert "staff" in page.html.select_one("#history li[data-revision='2']").get_text()
    (row,) = rows(testapp)
    assert row.data["sbp"] == 140 and row.data["bmi"] == 24.2
    assert [r.data["sbp"] for r in kept(testapp, record)] == [150, 140]
    [event] = audit_rows(testapp, event="submission.edit")
    assert event.detail["revision"] == 2 and "张三丰" not in repr(event.detail)
    assert set(event.detail["fields"]) == {"name", "sbp", "weight", "height", "bmi"}
    history_reads = [
        r for r in audit_rows(testapp, event="submission.read") if r.detail.get("revisions")
    ]
    assert [(r.actor, r.detail["revisions"], r.detail["masked"]) for r in history_reads] == [
        ("staff", 2, False)
    ]


def test_errors_are_shown_at_the_field_with_everything_typed_kept(testapp, record):
    form = testapp.get(view_url(record) + "/edit").forms["entry"]
    form["sbp"] = "350"
    form["name"] = "李四"
    res = form.submit("save", status=200)
    sbp_item = res.html.select_one("[data-field='sbp']").find_parent(class_="form-item")
    assert "300" in sbp_item.select_one(".invalid-feedback, .help-block, .error").get_text()
    again = res.forms["entry"]
    assert (again["sbp"].value, again["name"].value) == ("350", "李四")
    assert again["entry_revision"].value == "1"
    assert kept(testapp, record) == [] and rows(testapp)[0].data["name"] == "张三"


def test_a_stale_edit_is_refused_with_what_changed_and_everything_typed_kept(testapp, record):
    mine = testapp.get(view_url(record) + "/edit").forms["entry"]
    theirs = testapp.get(view_url(record) + "/edit").forms["entry"]
    theirs["sbp"] = "130"
    theirs.submit("save", status=303)
    mine["dbp"] = "85"
    mine["name"] = "张三丰"
    res = mine.submit("save", status=200)
    notice = res.html.select_one("#notice").get_text()
    assert "staff" in notice and "收缩压" in notice
    again = res.forms["entry"]
    assert (again["dbp"].value, again["name"].value, again["sbp"].value) == ("85", "张三丰", "150")
    assert again["entry_revision"].value == "2"
    assert [r.data["sbp"] for r in kept(testapp, record)] == [150, 130]
    # Saved again knowingly: it replaces their version, which stays in the history.
    again.submit("save", status=303)
    assert [(r.data["sbp"], r.data["dbp"]) for r in kept(testapp, record)] == [
        (150, 90),
        (130, 90),
        (150, 85),
    ]


@pytest.mark.parametrize(
    "status, message",
    [
        ("approved", "已审核通过"),
        ("draft", "草稿"),
    ],
)
def test_the_workflow_state_decides(testapp, record, status, message):
    opened = testapp.get(view_url(record) + "/edit").forms["entry"]
    set_status(testapp, record, status)
    view = testapp.get(view_url(record))
    assert view.html.select_one("#edit") is None
    res = testapp.get(view_url(record) + "/edit", status=303)
    assert message in flash_text(res.follow())
    # A form opened before: refused with a message, everything typed still there.
    opened["sbp"] = "140"
    res = opened.submit("save", status=200)
    assert message in res.html.select_one("#notice").get_text()
    assert res.forms["entry"]["sbp"].value == "140"
    assert kept(testapp, record) == [] and rows(testapp)[0].data["sbp"] == 150


def test_managers_read_the_history_masked_and_never_edit(testapp, record):
    form = testapp.get(view_url(record) + "/edit").forms["entry"]
    form["name"] = "李四光"
    form.submit("save", status=303)
    testapp.reset()
    login(testapp, "dongcheng")
    page = testapp.get("/110000/110101/submissions/" + record.id)
    assert page.html.select_one("#edit") is None
    before, after = history(page)[2]["name"]
    assert before != "张三" and after != "李四光" and after.startswith("李")
    assert "李四光" not in page.text and "张三" not in page.text
    testapp.get(view_url(record) + "/edit", status=403)
    testapp.post(view_url(record) + "/edit", {"csrf_token": csrf_token(testapp)}, status=403)
    # One read audited: the record and its two revisions, masked.
    [read] = audit_rows(testapp, event="submission.read", actor="dongcheng")
    assert read.detail["revisions"] == 2 and read.detail["masked"] is True
    testapp.reset()
    login(testapp, "xicheng")
    testapp.get(view_url(record) + "/edit", status=403)
    assert kept(testapp, record)[-1].data["name"] == "李四光"


def test_addresses_that_are_not_a_record_here(testapp, record):
    testapp.get(CENTRE + "submissions/no-such-id/edit", status=404)
    testapp.get(view_url(record) + "/edit/more", status=404)
    # A record is edited at its own unit's address (or above), not at another unit's.
    testapp.get(
        "/110000/110101/110101001/110101001001/submissions/" + record.id + "/edit", status=404
    )
