"""The data-entry pages: staff fill in a published form for their unit and period, save a
draft and resume it, submit it (errors at the fields, everything typed kept), and list and
read their unit's submissions, within their part of the tree."""

import datetime as dt

import pytest

from forms.periods import beijing_today
from portal.models import Submission
from portal.views.data_entry import recent_periods
from tests.conftest import login
from tests.functional.people import RECORD_NO, register_person

CENTRE = "/110000/110101/110101001/"
FORM = CENTRE + "forms/hypertension_followup"


def good(form, **values):
    """Fill the required fields of 高血压患者随访服务记录表 with valid values (`form` is a
    page's form: radios are named by deform's ids, found by their data-field)."""
    fields = {
        "name": "张三",
        "record_no": RECORD_NO,
        "birth_date": "1956-03-01",
        "visit_date": (beijing_today() - dt.timedelta(days=1)).isoformat(),
        "mgmt_start_date": "2020-01-06",
        "sbp": "150",
        "dbp": "90",
        **values,
    }
    for name, value in fields.items():
        form[name] = value
    for name, code in (("visit_mode", "1"), ("mgmt_status", "1")):
        radio = form.response.html.select_one(f"[data-field='{name}']")["name"]
        form[radio] = code
    return form


@pytest.fixture(autouse=True)
def person(testapp):
    """The centre's personal information record that the follow-ups name."""
    return register_person(testapp)


def rows(testapp):
    """The follow-ups, oldest first."""
    dbsession = testapp.app.registry.dbsession_factory()
    try:
        return (
            dbsession.query(Submission)
            .filter_by(form_name="hypertension_followup")
            .order_by(Submission.created)
            .all()
        )
    finally:
        dbsession.close()


def test_forms_list_and_navigation(testapp):
    login(testapp, "staff")
    home = testapp.get("/")
    assert home.html.select_one("[data-nav='entry']")["href"].endswith(CENTRE + "forms")
    assert home.html.select_one("[data-nav='submissions']")["href"].endswith(CENTRE + "submissions")
    page = testapp.get(CENTRE + "forms")
    assert page.html.select_one("tr[data-form='hypertension_followup']") is not None
    assert "高血压患者随访服务记录表" in page.text


def test_submit_errors_keep_values_then_success(testapp):
    login(testapp, "staff")
    form = good(testapp.get(FORM).forms["entry"], sbp="350", height="170", weight="65")
    assert form["entry_org"].value == "110101001"
    assert form["entry_period"].value == recent_periods("month", beijing_today())[0]
    res = form.submit("submit", status=200)
    # Refused at the field, in Chinese, with every value typed still there.
    sbp_item = res.html.select_one("[data-field='sbp']").find_parent(class_="form-item")
    assert "300" in sbp_item.select_one(".invalid-feedback, .help-block, .error").get_text()
    again = res.forms["entry"]
    assert again["sbp"].value == "350" and again["name"].value == "张三"
    assert again["height"].value == "170"
    assert rows(testapp) == []
    again["sbp"] = "150"
    done = again.submit("submit", status=303)
    assert done.location.endswith(CENTRE + "submissions")
    listing = done.follow()
    assert "已提交" in listing.text or "Submitted" in listing.text
    (row,) = rows(testapp)
    assert row.status == "submitted" and row.org_code == "110101001"
    assert row.data["sbp"] == 150 and row.data["bmi"] == 22.5
    assert listing.html.select_one(f"tr[data-id='{row.id}']") is not None
    # A double click: the same client_id again makes no second row.
    again.submit("submit", status=303)
    assert len(rows(testapp)) == 1


def test_draft_saved_resumed_and_submitted(testapp):
    login(testapp, "staff")
    form = testapp.get(FORM).forms["entry"]
    form["name"] = "李四"
    form["sbp"] = "400"  # out of range: a draft keeps it anyway
    form["entry_org"] = "110101001001"
    saved = form.submit("save_draft", status=303)
    (row,) = rows(testapp)
    assert row.status == "draft" and row.org_code == "110101001001"
    assert row.data == {"name": "李四", "sbp": 400, "visit_mode": None} or row.data["sbp"] == 400
    page = saved.follow()
    assert saved.location.endswith(CENTRE + "submissions/" + row.id)
    resumed = page.forms["entry"]
    assert resumed["name"].value == "李四" and resumed["sbp"].value == "400"
    assert resumed["entry_org"].value == "110101001001"
    # Saving twice updates the same draft.
    resumed.submit("save_draft", status=303)
    assert len(rows(testapp)) == 1
    good(resumed, name="李四")
    # The station's follow-up names the station's record of the person, not the centre's.
    page = resumed.submit("submit", status=200)
    item = page.html.select_one("[data-field='record_no']").find_parent(class_="form-item")
    assert "请先建档" in item.select_one(".invalid-feedback, .help-block, .error").get_text()
    register_person(testapp, org="110101001001")
    page.forms["entry"].submit("submit", status=303)
    (row,) = rows(testapp)
    assert row.status == "submitted" and row.data["name"] == "李四"
    # Submitted: read-only now.
    view = testapp.get(CENTRE + "submissions/" + row.id)
    assert "entry" not in view.forms or not view.html.select("button[name='submit']")
    assert "李四" in view.text
    testapp.post(CENTRE + "submissions/" + row.id, {"csrf_token": "x"}, status=400)


def test_list_filters(testapp):
    login(testapp, "staff")
    good(testapp.get(FORM).forms["entry"]).submit("submit", status=303)
    draft = testapp.get(FORM).forms["entry"]
    draft["name"] = "王五"
    draft.submit("save_draft", status=303)
    listing = testapp.get(CENTRE + "submissions")
    assert len(listing.html.select("#submissions tbody tr")) == 3  # with the person's record
    drafts = testapp.get(CENTRE + "submissions?status=draft")
    assert [tr["data-status"] for tr in drafts.html.select("#submissions tbody tr")] == ["draft"]
    other = testapp.get(CENTRE + "submissions?form=diabetes_followup")
    assert other.html.select("#submissions tbody tr") == []
    station = testapp.get(CENTRE + "submissions?unit=110101001001")
    assert station.html.select("#submissions tbody tr") == []
    # An unusable page number is the first page: too big for SQL, not a number, full-width.
    for page in ("99999999999999999999", "x", "0", "２"):
        shown = testapp.get(CENTRE + "submissions", params={"page": page})
        assert len(shown.html.select("#submissions tbody tr")) == 3, page


def test_scope(testapp):
    login(testapp, "dongcheng")
    testapp.get("/110000/110101/submissions", status=200)
    testapp.get("/110000/110102/submissions", status=403)
    testapp.get("/110000/110102/110102001/submissions", status=403)
    testapp.get(CENTRE + "forms", status=403)  # managers do not fill in forms
    testapp.reset()
    login(testapp, "staff")
    testapp.get("/110000/110101/110101002/forms", status=403)  # another centre
    testapp.get("/110000/110101/110101002/forms/hypertension_followup", status=403)
    # Tampering with the unit in the form does not help either.
    form = good(testapp.get(FORM).forms["entry"])
    form["entry_org"].force_value("110101002")
    form.submit("submit", status=403)
    assert rows(testapp) == []


def test_masked_for_managers(testapp):
    login(testapp, "staff")
    good(testapp.get(FORM).forms["entry"], name="张三丰").submit("submit", status=303)
    (row,) = rows(testapp)
    testapp.reset()
    login(testapp, "dongcheng")
    view = testapp.get("/110000/110101/submissions/" + row.id)
    assert view.html.select_one("#masked") is not None
    assert "张三丰" not in view.text
    # Read as a record, not as a form of disabled inputs: labels, masked value, units.
    assert view.html.select("main .card input, main .card select, main .card textarea") == []
    shown = {
        r["data-field"]: r.select_one(".record-text").get_text(" ", strip=True)
        for r in view.html.select(".record-value")
    }
    assert shown["name"] == "张**" and shown["entry_org"] == "东城光明社区卫生服务中心"
    assert shown["sbp"] == "150 mmHg" and shown["visit_mode"] == "门诊"
    testapp.reset()
    login(testapp, "staff")
    own = testapp.get(CENTRE + "submissions/" + row.id)
    assert own.html.select_one("#masked") is None and "张三丰" in own.text
