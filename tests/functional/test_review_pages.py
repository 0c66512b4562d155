"""Review on the pages: a record's review panel, a refused transition shown at its field with
the comment kept, bulk review on the submission list, period approval there, the chain in
the form builder, and CSRF on every one of these POSTs."""

from tests.conftest import csrf_token, login
from tests.functional.test_api_forms import submit
from tests.functional.test_review import set_chain, take

CENTRE = "/110000/110101/110101001/"


def transition_forms(page) -> dict:
    return {
        f.fields["transition"][0].value: f for f in page.forms.values() if "transition" in f.fields
    }


def record_page(testapp, record):
    return testapp.get(f"{CENTRE}submissions/{record}")


def test_a_return_without_comment_is_told_at_its_field_and_keeps_nothing_lost(
    checked, testapp, published, tokens
):
    record = submit(checked, tokens["staff"]).json["id"]
    login(testapp, "centre")
    page = record_page(testapp, record)
    forms = transition_forms(page)
    assert set(forms) >= {"approve", "return"}
    returning = forms["return"]
    returning["comment"] = "   "
    refused = returning.submit(status=200)
    field = refused.html.select_one("#review form[data-transition='return'] textarea")
    assert "is-invalid" in field["class"]
    assert "请填写意见" in refused.html.select_one("#review .invalid-feedback").get_text()
    returning = transition_forms(refused)["return"]
    returning["comment"] = "请补充舒张压"
    done = returning.submit(status=303).follow()
    assert "已退回" in done.html.select_one("#status").get_text()
    assert "请补充舒张压" in done.html.select_one("#review-history").get_text()


def test_review_posts_need_the_csrf_token_and_the_right(checked, testapp, published, tokens):
    record = submit(checked, tokens["staff"]).json["id"]
    login(testapp, "centre")
    url = f"{CENTRE}submissions/{record}/transition"
    testapp.post(url, {"transition": "approve"}, status=400)  # no CSRF token
    testapp.reset()
    login(testapp, "xicheng")
    testapp.post(url, {"transition": "approve", "csrf_token": csrf_token(testapp)}, status=403)
    state = checked("get", f"/api/v1/submissions/{record}", 200, headers=tokens["staff"]).json
    assert state["approved_levels"] == [] and state["status"] == "submitted"


def test_bulk_review_from_the_list(checked, testapp, published, tokens):
    records = [submit(checked, tokens["station"], org="110101001001").json["id"] for _ in range(3)]
    take(checked, tokens, "centre", records[0], "return", comment="先退回")
    login(testapp, "centre")
    listing = testapp.get(f"{CENTRE}submissions", {"form": "bp_check"})
    form = listing.forms["bulk-review"]
    for box in form.fields["ids"]:
        box.checked = box._value in records
    form["transition"] = "approve"
    done = form.submit(status=303).follow()
    flashes = done.html.select_one("#flash").get_text(" ", strip=True)
    assert "2" in flashes  # two moved; the returned one is listed with why
    assert "当前的状态" in flashes
    for record in records[1:]:
        state = checked("get", f"/api/v1/submissions/{record}", 200, headers=tokens["staff"])
        assert state.json["final"] is True
    # Staff have no bulk review.
    testapp.reset()
    login(testapp, "staff")
    assert "bulk-review" not in testapp.get(f"{CENTRE}submissions").forms


def period_form(page, action):
    return next(
        f
        for f in page.forms.values()
        if "action" in f.fields and f.fields["action"][0].value == action
    )


def test_a_district_approves_a_period_from_the_list(checked, testapp, published, tokens):
    record = submit(checked, tokens["station"], org="110101001001").json["id"]
    login(testapp, "dongcheng")
    url, filters = "/110000/110101/submissions", {"form": "bp_check", "period": "2026-10"}
    listing = testapp.get(url, filters)
    assert listing.html.select_one("#period-approval")["data-approved"] == "no"
    refused = period_form(listing, "approve").submit(status=200)
    assert "尚未终审" in refused.html.select_one("#period-approval .alert").get_text()
    take(checked, tokens, "centre", record, "approve")
    period_form(testapp.get(url, filters), "approve").submit(status=303)
    approved = testapp.get(url, filters)
    assert approved.html.select_one("#period-approval")["data-approved"] == "yes"
    # Withdrawing needs a reason: told at the field.
    again = period_form(approved, "unapprove").submit(status=200)
    assert again.html.select_one("#unapprove-reason.is-invalid") is not None
    withdraw = period_form(again, "unapprove")
    withdraw["reason"] = "数据更正"
    withdraw.submit(status=303)
    after = testapp.get(url, filters).html.select_one("#period-approval")
    assert after["data-approved"] == "no"
    # A centre's manager sees where it stands but approves no period.
    testapp.reset()
    login(testapp, "centre")
    centre_list = testapp.get(f"{CENTRE}submissions", filters)
    assert centre_list.html.select_one("#period-approval") is not None
    assert not [f for f in centre_list.forms.values() if "action" in f.fields]


def choose(form, levels):
    for box in form.fields["checkbox"]:
        box.checked = box._value in levels


def test_the_admin_sets_a_forms_review_chain(checked, testapp, published, tokens):
    login(testapp, "admin")
    page = testapp.get("/forms/bp_check/review")
    form = page.forms["form-review"]
    choose(form, [])
    refused = form.submit("save", status=200)
    assert "请至少选择一级" in refused.text
    form = refused.forms["form-review"]
    choose(form, ["centre", "city"])
    form.submit("save", status=303)
    record = submit(checked, tokens["station"], org="110101001001").json["id"]
    state = checked("get", f"/api/v1/submissions/{record}", 200, headers=tokens["centre"]).json
    assert state["chain"] == ["centre", "city"]
    set_chain(testapp, ["centre"])
    testapp.reset()
    login(testapp, "dongcheng")
    testapp.get("/forms/bp_check/review", status=403)


def test_a_query_is_asked_answered_and_resolved_on_the_record_page(
    checked, testapp, published, tokens
):
    record = submit(checked, tokens["staff"]).json["id"]
    login(testapp, "centre")
    page = record_page(testapp, record)
    asking = page.forms["query-open"]
    asking["field"] = "sbp"
    refused = asking.submit(status=200)  # no text: told at the field, the field kept
    assert refused.html.select_one("#query-text.is-invalid") is not None
    assert refused.html.select_one("#query-field option[selected]")["value"] == "sbp"
    asking = refused.forms["query-open"]
    asking["text"] = "收缩压偏高，请确认"
    page = asking.submit(status=303).follow()
    note = page.html.select_one(".record-value[data-field='sbp'] .record-query")
    assert "收缩压偏高" in note.get_text()  # beside the field it concerns
    assert "approve" not in transition_forms(page)  # open queries block approval

    testapp.reset()
    login(testapp, "staff")
    page = record_page(testapp, record)
    (thread,) = [f for f in page.forms.values() if "query" in f.fields]
    thread["text"] = "已复测，无误"
    page = thread.submit("action", index=0, status=303).follow()
    assert "已复测" in page.html.select_one("#queries").get_text()

    testapp.reset()
    login(testapp, "centre")
    page = record_page(testapp, record)
    (thread,) = [f for f in page.forms.values() if "query" in f.fields]
    page = thread.submit("action", value="resolve", status=303).follow()
    assert page.html.select_one(".record-value[data-field='sbp'] .record-query") is None
    assert "approve" in transition_forms(page)
    testapp.post(f"{CENTRE}submissions/{record}/query", {"action": "open", "text": "x"}, status=400)
