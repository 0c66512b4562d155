"""Person links (issue 8): a person-level record names a submitted 个人基本信息表 of its own
unit by health record number; a unit has one such record per number, and one baseline
institution questionnaire per survey year. By page and by API."""

import datetime as dt
import uuid

from sqlalchemy import func, select

from forms.periods import beijing_today
from portal.models import Submission
from tests.conftest import api_token, bearer, login, sql
from tests.functional.people import RECORD_NO, personal_info, register_person

CENTRE = "/110000/110101/110101001/"
UNKNOWN = "11010100100199999"


def followup(record_no=RECORD_NO, **values) -> dict:
    """A valid hypertension follow-up (face to face, 150/90) of `record_no`."""
    return {
        "name": "张三",
        "record_no": record_no,
        "birth_date": "1956-03-01",
        "visit_date": (beijing_today() - dt.timedelta(days=1)).isoformat(),
        "mgmt_start_date": "2020-01-06",
        "mgmt_status": "1",
        "visit_mode": "1",
        "sbp": 150,
        "dbp": 90,
        **values,
    }


def post(checked, token, form, data, status, org="110101001", period="month", **kw):
    if period == "month":
        period = beijing_today().strftime("%Y-%m")
    body = {"org": org, "period": period, "client_id": str(uuid.uuid4()), "data": data}
    kw.setdefault("headers", bearer(token))
    return checked("post_json", f"/api/v1/forms/{form}/submissions", status, params=body, **kw)


def count(testapp, form):
    with sql(testapp) as s:
        return s.scalar(
            select(func.count()).select_from(Submission).where(Submission.form_name == form)
        )


def test_the_api_refuses_a_follow_up_of_an_unknown_person(checked, testapp):
    staff = api_token(testapp, "staff")
    res = post(checked, staff, "hypertension_followup", followup(UNKNOWN), 422)
    assert list(res.json["errors"]) == ["record_no"]
    assert "请先建档" in res.json["errors"]["record_no"]
    res = post(
        checked,
        staff,
        "hypertension_followup",
        followup(UNKNOWN),
        422,
        headers={**bearer(staff), "Accept-Language": "en"},
    )
    assert "create the record first" in res.json["errors"]["record_no"]
    assert count(testapp, "hypertension_followup") == 0
    # Registered, the same follow-up is taken.
    register_person(testapp, UNKNOWN)
    post(checked, staff, "hypertension_followup", followup(UNKNOWN), 201)
    assert count(testapp, "hypertension_followup") == 1


def test_another_units_record_and_a_draft_do_not_count(checked, testapp):
    staff = api_token(testapp, "staff")
    # The station has the person; the centre does not.
    register_person(testapp, org="110101001001")
    res = post(checked, staff, "hypertension_followup", followup(), 422)
    assert list(res.json["errors"]) == ["record_no"]
    post(checked, staff, "hypertension_followup", followup(), 201, org="110101001001")
    # A draft personal information record at the centre is not a record yet.
    login(testapp, "staff")
    form = testapp.get(CENTRE + "forms/personal_info").forms["entry"]
    form["name"], form["record_no"] = "张三", RECORD_NO
    form.submit("save_draft", status=303)
    with sql(testapp) as s:
        (draft,) = s.scalars(select(Submission).where(Submission.org_code == "110101001"))
        assert (draft.form_name, draft.status) == ("personal_info", "draft")
    res = post(checked, staff, "hypertension_followup", followup(), 422)
    assert list(res.json["errors"]) == ["record_no"]


def test_one_personal_information_record_per_number_and_unit(checked, testapp):
    staff = api_token(testapp, "staff")
    register_person(testapp)
    res = post(checked, staff, "personal_info", personal_info(), 422, period=None)
    assert (
        list(res.json["errors"]) == ["record_no"] and "一人一档" in res.json["errors"]["record_no"]
    )
    # Another number, or the same number at another unit, is another person.
    post(checked, staff, "personal_info", personal_info("11010100100100002"), 201, period=None)
    post(
        checked,
        staff,
        "personal_info",
        personal_info(),
        201,
        period=None,
        org="110101001001",
    )


def test_the_entry_page_refuses_an_unknown_person_at_the_field_and_keeps_the_values(testapp):
    login(testapp, "staff")
    form = testapp.get(CENTRE + "forms/hypertension_followup").forms["entry"]
    values = {k: v for k, v in followup(UNKNOWN).items() if k not in ("visit_mode", "mgmt_status")}
    for name, value in values.items():
        form[name] = str(value)
    for name in ("visit_mode", "mgmt_status"):
        form[form.response.html.select_one(f"[data-field='{name}']")["name"]] = "1"
    page = form.submit("submit", status=200)
    item = page.html.select_one("[data-field='record_no']").find_parent(class_="form-item")
    assert "请先建档" in item.select_one(".invalid-feedback").get_text()
    again = page.forms["entry"]
    assert again["record_no"].value == UNKNOWN and again["sbp"].value == "150"
    assert again["birth_date"].value == "1956-03-01"
    assert count(testapp, "hypertension_followup") == 0
    register_person(testapp, UNKNOWN)
    again.submit("submit", status=303)
    assert count(testapp, "hypertension_followup") == 1


# -- one baseline institution questionnaire per unit and survey year -------------------------
def institution(**values) -> dict:
    return {
        "org_name": "东城区某社区卫生服务中心",
        "org_type": "1",
        "sponsor": "1",
        "insurance_designated": "1",
        "staff_total": 40,
        "functions": ["1", "2"],
        "respondent_name": "王芳",
        "fill_date": beijing_today().isoformat(),
        **values,
    }


def test_a_second_baseline_questionnaire_for_the_year_is_refused_by_api(checked, testapp):
    """The issue allows refusing or replacing: a second one is refused, and the first is
    edited instead (its history kept)."""
    staff = api_token(testapp, "staff")
    year = str(beijing_today().year)
    post(checked, staff, "baseline_institution", institution(), 201, period=year)
    res = post(
        checked, staff, "baseline_institution", institution(staff_total=41), 422, period=year
    )
    assert list(res.json["errors"]) == ["period"] and year in res.json["errors"]["period"]
    assert count(testapp, "baseline_institution") == 1
    # Another unit answers for itself.
    post(
        checked,
        staff,
        "baseline_institution",
        institution(org_type="2"),
        201,
        period=year,
        org="110101001001",
    )


def test_a_second_baseline_questionnaire_for_the_year_is_refused_by_page(testapp):
    login(testapp, "staff")
    year = str(beijing_today().year)
    for status in (303, 200):
        form = testapp.get(CENTRE + "forms/baseline_institution").forms["entry"]
        form["entry_period"] = year
        for name in ("org_name", "respondent_name", "fill_date", "staff_total"):
            form[name] = str(institution()[name])
        for name in ("org_type", "sponsor", "insurance_designated"):
            form[form.response.html.select_one(f"[data-field='{name}']")["name"]] = "1"
        for checkbox in form.fields["checkbox"]:  # the six functions: 预防 and 医疗
            checkbox.checked = checkbox._value in ("1", "2")
        page = form.submit("submit", status=status)
    assert "请修改已提交的问卷" in page.text
    assert page.forms["entry"]["org_name"].value == institution()["org_name"]
    assert count(testapp, "baseline_institution") == 1


def test_a_record_number_other_records_name_cannot_change(checked, testapp):
    staff = api_token(testapp, "staff")
    person = register_person(testapp)
    renumbered = personal_info("11010100100100003")
    # Nobody names it yet: a typo in the number may be corrected.
    checked(
        "put_json",
        f"/api/v1/submissions/{person}",
        200,
        headers=bearer(staff),
        params={"data": renumbered, "revision": 1},
    )
    post(checked, staff, "hypertension_followup", followup("11010100100100003"), 201)
    # Now a follow-up names it: changing it would orphan the follow-up.
    res = checked(
        "put_json",
        f"/api/v1/submissions/{person}",
        422,
        headers=bearer(staff),
        params={"data": personal_info(), "revision": 2},
    )
    assert list(res.json["errors"]) == ["record_no"]
    assert "11010100100100003" in res.json["errors"]["record_no"]
    # Other edits of the record are still taken.
    checked(
        "put_json",
        f"/api/v1/submissions/{person}",
        200,
        headers=bearer(staff),
        params={"data": {**renumbered, "phone": "13900000000"}, "revision": 2},
    )
