"""Administering the org tree through its pages: add, edit, move, deactivate, reactivate,
export and import, who may do it, and what a bad form or a bad file does (nothing)."""

import io

import openpyxl
import pytest
from sqlalchemy import select

from exports import tables
from portal import models
from portal.demo import DIVISIONS_CSV
from tests.conftest import csrf_token, login, sql, write_ini

DONGCHENG = "/110000/110101/"
XICHENG = "/110000/110102/"
CENTRE = DONGCHENG + "110101001/"  # 东城 centre with stations 110101001001 and …002
OTHER_CENTRE = DONGCHENG + "110101002/"
STATION = CENTRE + "110101001001/"


@pytest.fixture
def admin(testapp):
    login(testapp, "admin")
    testapp.set_cookie("_LOCALE_", "en")
    return testapp


def unit_json(testapp, code, status=200):
    return testapp.get(f"/api/v1/orgunits/{code}", status=status).json


def audit_rows(testapp, **filters):
    with testapp.app.registry.dbsession_factory() as s:
        query = select(models.AuditEvent).filter_by(**filters).order_by(models.AuditEvent.id)
        return list(s.scalars(query))


def field_error(page, formid, name):
    """The error text deform shows at the field called name, or None."""
    form = page.html.find("form", id=formid)
    control = form.find(attrs={"name": name})
    item = control.find_parent("div", id=lambda v: v and v.startswith("item-"))
    error = item.find(class_="invalid-feedback")
    return error.get_text(" ", strip=True) if error else None


def flash_text(page):
    node = page.html.find(id="flash")
    return node.get_text(" ", strip=True) if node else ""


def action_keys(page):
    return {a["data-action"] for a in page.html.select("#unit-actions [data-action]")}


# -- the unit page's buttons ---------------------------------------------------------------
def test_admin_sees_the_actions_a_district_manager_sees_only_export(testapp):
    login(testapp, "admin")
    assert action_keys(testapp.get(DONGCHENG)) == {
        "add",
        "edit",
        "move",
        "deactivate",
        "import",
        "export.csv",
        "export.xlsx",
    }
    # A station has nothing below it, so nothing can be added there.
    assert "add" not in action_keys(testapp.get(STATION))
    testapp.reset()
    login(testapp, "dongcheng")
    assert action_keys(testapp.get(DONGCHENG)) == {"export.csv", "export.xlsx"}


# -- add -------------------------------------------------------------------------------------
def test_admin_adds_a_centre(admin):
    form = admin.get(DONGCHENG + "add").forms["org-add"]
    assert [value for value, *_ in form["type"].options] == ["", "centre", "hospital"]
    form["code"] = "110101009"
    form["name"] = "东城新街社区卫生服务中心"
    form["type"] = "centre"
    form["valid_from"] = "2026-01-01"
    res = form.submit("save", status=303)
    assert res.location.endswith(DONGCHENG + "110101009/")
    page = res.follow()
    assert "东城新街社区卫生服务中心" in flash_text(page)
    assert page.html.find(id="unit-name").get_text(strip=True) == "东城新街社区卫生服务中心"
    unit = unit_json(admin, "110101009")
    assert (unit["parent"], unit["type"], unit["active"], unit["valid_from"]) == (
        "110101",
        "centre",
        True,
        "2026-01-01",
    )
    assert "110101009" in unit_json(admin, "110101")["children"]
    [row] = audit_rows(admin, event="org.create", target="110101009")
    assert row.actor == "admin" and row.org_path == "/110000/110101/110101009/"
    assert row.detail == {"name": "东城新街社区卫生服务中心", "type": "centre", "parent": "110101"}
    # Its path is in SQL, where its submissions will read it.
    with sql(admin) as s:
        assert s.get(models.UnitPath, "110101009").path == "/110000/110101/110101009/"


def test_a_bad_add_form_keeps_what_was_typed_and_shows_each_error_at_its_field(admin):
    form = admin.get(DONGCHENG + "add").forms["org-add"]
    form["code"] = "11O101"  # a letter O, not a zero
    form["name"] = "新中心"
    form["valid_from"] = "2026-13-01"
    page = form.submit("save", status=200)
    assert "digits" in field_error(page, "org-add", "code")
    assert field_error(page, "org-add", "type") == "Required"
    assert "YYYY-MM-DD" in field_error(page, "org-add", "valid_from")
    assert field_error(page, "org-add", "name") is None
    again = page.forms["org-add"]
    assert (again["code"].value, again["name"].value, again["valid_from"].value) == (
        "11O101",
        "新中心",
        "2026-13-01",
    )
    # A code that is taken is refused at the code field too, naming who has it.
    again["code"] = "110101001"
    again["type"] = "centre"
    again["valid_from"] = ""
    page = again.submit("save", status=200)
    assert "already used" in field_error(page, "org-add", "code")
    assert page.forms["org-add"]["name"].value == "新中心"
    assert unit_json(admin, "110101")["children"].count("110101001") == 1
    assert not audit_rows(admin, event="org.create")


def test_a_type_not_allowed_below_the_parent_is_refused(admin):
    form = admin.get(CENTRE + "add").forms["org-add"]
    form["code"] = "110101001009"
    form["name"] = "伪医院"
    form["type"].force_value("hospital")  # not offered below a centre
    page = form.submit("save", status=200)
    assert field_error(page, "org-add", "type")
    unit_json(admin, "110101001009", status=404)


@pytest.mark.parametrize(
    "locale, summary", [("zh_CN", "提交的内容有误"), ("en", "There was a problem")]
)
def test_the_form_and_its_messages_are_in_the_users_language(admin, locale, summary):
    admin.set_cookie("_LOCALE_", locale)
    form = admin.get(DONGCHENG + "add").forms["org-add"]
    form["code"] = "110101001"
    page = form.submit("save", status=200)
    assert summary in page.html.find("form", id="org-add").find(class_="alert").get_text()
    # The field's message went through the translator: interpolated, never a message id.
    message = field_error(page, "org-add", "code")
    assert "110101001" in message and "org_code_taken" not in message


# -- edit ------------------------------------------------------------------------------------
def test_admin_edits_a_unit(admin):
    form = admin.get(CENTRE + "edit").forms["org-edit"]
    assert form["name"].value == unit_json(admin, "110101001")["name"]
    assert "code" not in form.fields  # a code never changes
    form["name"] = "东城和平社区卫生服务中心（新址）"
    form["valid_from"] = "2020-05-01"
    page = form.submit("save", status=303).follow()
    assert "saved" in flash_text(page)
    unit = unit_json(admin, "110101001")
    assert (unit["name"], unit["valid_from"]) == ("东城和平社区卫生服务中心（新址）", "2020-05-01")
    [row] = audit_rows(admin, event="org.update", target="110101001")
    assert row.detail["changes"]["name"][1] == "东城和平社区卫生服务中心（新址）"


def test_saving_an_unchanged_form_changes_and_audits_nothing(admin):
    page = admin.get(CENTRE + "edit").forms["org-edit"].submit("save", status=303).follow()
    assert "Nothing was changed" in flash_text(page)
    assert not audit_rows(admin, event="org.update")


def test_a_refusal_from_the_tree_rules_is_shown_at_its_field(admin, monkeypatch):
    """Rules the form cannot check beforehand (a unit added by someone else in the
    meantime, say) still come back at the field they concern, with the input kept."""
    from portal.services import orgtree

    def refuse(message, field=None):
        def add_unit(*args, **kw):
            raise orgtree.OrgTreeError(message, field)

        monkeypatch.setattr(orgtree, "add_unit", add_unit)

    refuse(orgtree.placement_problem("district", "station"), "type")
    form = admin.get(DONGCHENG + "add").forms["org-add"]
    form["code"] = "110101009"
    form["name"] = "新中心"
    form["type"] = "centre"
    page = form.submit("save", status=200)
    assert field_error(page, "org-add", "type") == (
        "A unit of type “Community health service station” cannot be placed below one of "
        "type “District”."
    )
    assert page.forms["org-add"]["name"].value == "新中心"
    # A refusal that concerns no one field is shown above the form.
    refuse(orgtree.code_format_problem(""))
    page = page.forms["org-add"].submit("save", status=200)
    assert page.html.find("form", id="org-add").find(class_="error-msg").get_text() == (
        "Enter the unit's code."
    )


def test_an_empty_name_is_refused_at_the_field(admin):
    form = admin.get(CENTRE + "edit").forms["org-edit"]
    old_name = form["name"].value
    form["name"] = "   "
    page = form.submit("save", status=200)
    assert field_error(page, "org-edit", "name") == "Required"
    assert unit_json(admin, "110101001")["name"] == old_name


# -- move ------------------------------------------------------------------------------------
def test_admin_moves_a_station_to_another_centre(admin):
    form = admin.get(STATION + "move").forms["org-move"]
    offered = [value for value, *_ in form["parent"].options]
    assert "110101002" in offered and "110101001" not in offered  # not where it is now
    assert all(len(code) in (0, 9) for code in offered)  # centres only
    form["parent"] = "110101002"
    res = form.submit("save", status=303)
    assert res.location.endswith(OTHER_CENTRE + "110101001001/")
    assert "moved" in flash_text(res.follow())
    admin.get(STATION, status=404)
    assert unit_json(admin, "110101001001")["parent"] == "110101002"
    assert "110101001001" not in unit_json(admin, "110101001")["children"]
    [row] = audit_rows(admin, event="org.move", target="110101001001")
    assert row.detail == {"from": "110101001", "to": "110101002"}
    assert row.org_path == "/110000/110101/110101002/110101001001/"


def test_a_unit_cannot_be_moved_into_its_own_subtree(admin):
    form = admin.get(CENTRE + "move").forms["org-move"]
    offered = [value for value, *_ in form["parent"].options]
    assert "110102" in offered and "110101" not in offered  # other districts only
    form["parent"].force_value("110101001001")  # its own station
    page = form.submit("save", status=200)
    assert field_error(page, "org-move", "parent") == "Choose one of the listed values."
    assert unit_json(admin, "110101001")["parent"] == "110101"


def test_pages_for_impossible_actions_say_why_and_offer_no_form(admin):
    # A district can only be below the city, where it already is.
    page = admin.get(DONGCHENG + "move")
    assert "no unit this one could be moved to" in page.html.find(id="warning").get_text()
    assert "org-move" not in page.forms
    assert page.html.find(id="back")["href"].endswith(DONGCHENG)
    # 崇文区 has been inactive since 2010: nothing is added below it, it is not deactivated
    # twice, and an active unit is not reactivated.
    for path, view in (
        ("/110000/110103/", "add"),
        ("/110000/110103/", "deactivate"),
        (DONGCHENG, "reactivate"),
    ):
        page = admin.get(path + view)
        assert page.html.find(id="warning") and not page.html.find("form", class_="deform")
        admin.post(
            path + view,
            {
                "csrf_token": csrf_token(admin),
                "save": "save",
                "code": "110103001",
                "name": "x",
                "type": "centre",
                "valid_to": "2026-01-01",
            },
            status=200,
        )
    unit_json(admin, "110103001", status=404)
    assert (unit_json(admin, "110103")["valid_to"], unit_json(admin, "110101")["active"]) == (
        "2010-07-01",
        True,
    )
    assert not [r for r in audit_rows(admin) if r.event.startswith("org.")]


# -- deactivate and reactivate ---------------------------------------------------------------
def test_admin_deactivates_a_station_naming_its_successor(admin):
    form = admin.get(STATION + "deactivate").forms["org-deactivate"]
    form["valid_to"] = "2026-03-31"
    form["successor"] = "110101001002"
    page = form.submit("save", status=303).follow()
    assert "deactivated" in flash_text(page)
    assert page.html.find(id="unit-name").find_next("span", class_="text-bg-secondary")
    unit = unit_json(admin, "110101001001")
    assert unit["active"] is False
    assert (unit["valid_to"], unit["successor"]) == ("2026-03-31", "110101001002")
    [row] = audit_rows(admin, event="org.deactivate", target="110101001001")
    assert row.detail["valid_to"] == [None, "2026-03-31"]
    # And back again.
    form = admin.get(STATION + "reactivate").forms["org-reactivate"]
    form.submit("save", status=303)
    unit = unit_json(admin, "110101001001")
    assert (unit["active"], unit["valid_to"], unit["successor"]) == (True, None, None)


def test_bad_successor_and_dates_are_shown_at_their_fields(admin):
    form = admin.get(STATION + "deactivate").forms["org-deactivate"]
    form["valid_to"] = "2026-03-31"
    form["successor"] = "110101001001"  # itself
    page = form.submit("save", status=200)
    assert "own successor" in field_error(page, "org-deactivate", "successor")
    again = page.forms["org-deactivate"]
    assert (again["valid_to"].value, again["successor"].value) == ("2026-03-31", "110101001001")
    again["successor"] = "110103"  # 崇文区: inactive since 2010
    page = again.submit("save", status=200)
    assert "inactive" in field_error(page, "org-deactivate", "successor")
    again = page.forms["org-deactivate"]
    again["successor"] = "999999"
    again["valid_to"] = ""
    page = again.submit("save", status=200)
    assert "999999" in field_error(page, "org-deactivate", "successor")
    assert field_error(page, "org-deactivate", "valid_to") == "Required"
    assert unit_json(admin, "110101001001")["active"] is True


def test_a_unit_with_active_units_below_is_not_deactivated(admin):
    page = admin.get(CENTRE + "deactivate")
    assert "still active" in page.html.find(id="warning").get_text()
    page = page.forms["org-deactivate"].submit("save", status=200)
    assert "110101001001" in page.html.find("form", id="org-deactivate").get_text()
    assert unit_json(admin, "110101001")["active"] is True
    assert not audit_rows(admin, event="org.deactivate")


# -- who may -------------------------------------------------------------------------------
ADMIN_VIEWS = ("add", "edit", "move", "deactivate", "reactivate", "import")


@pytest.mark.parametrize("view", ADMIN_VIEWS)
def test_a_district_manager_cannot_change_their_own_district(testapp, view):
    login(testapp, "dongcheng")
    testapp.get(DONGCHENG + view, status=403)
    token = csrf_token(testapp)
    testapp.post(
        DONGCHENG + view,
        {
            "csrf_token": token,
            "save": "save",
            "code": "110101008",
            "name": "x",
            "type": "centre",
            "parent": "110000",
            "valid_to": "2026-01-01",
        },
        status=403,
    )
    unit = unit_json(testapp, "110101")
    assert (unit["name"], unit["parent"], unit["active"]) == ("东城区", "110000", True)
    unit_json(testapp, "110101008", status=404)
    assert audit_rows(testapp, event="access", outcome="denied")


@pytest.mark.parametrize("view", ("", "export.csv", "export.xlsx", *ADMIN_VIEWS))
def test_a_district_manager_cannot_see_another_district(testapp, view):
    login(testapp, "dongcheng")
    testapp.get(XICHENG + view, status=403)


@pytest.fixture
def district_admin(settings):
    """A system admin for 东城区 only, added to storage before the app opens it."""
    import transaction

    from portal import make_config
    from portal.services import two_factor
    from portal.services.accounts import create_account, grant_role
    from tests.conftest import DEMO_TOTP_SECRET

    config = make_config(settings)
    tm = transaction.TransactionManager(explicit=True)
    try:
        with tm:
            conn = config.registry.zodb.open(transaction_manager=tm)
            site = conn.root()["site"]
            account = create_account(
                site, "dcadmin", "东城系统管理员", "110101", "Dongcheng-Admin-2026"
            )
            grant_role(account, "sysadmin", site.unit_by_code("110101"))
            # Administrators log in with a second factor (tests.conftest.login gives it).
            two_factor.enrol(account, DEMO_TOTP_SECRET)
        conn.close()
    finally:
        config.registry.zodb.close()
        config.registry.sql_engine.dispose()
    return "dcadmin", "Dongcheng-Admin-2026"


def test_an_admin_of_one_district_changes_only_that_district(district_admin, testapp):
    login(testapp, *district_admin)
    testapp.set_cookie("_LOCALE_", "en")
    # Moving a station: only centres of 东城区 are offered, though 西城区 has some too.
    form = testapp.get(STATION + "move").forms["org-move"]
    assert [v for v, *_ in form["parent"].options] == ["", "110101002"]
    form["parent"].force_value("110102001")
    page = form.submit("save", status=200)
    assert field_error(page, "org-move", "parent") == "Choose one of the listed values."
    # A centre could only go to another district: none of which is theirs.
    assert "org-move" not in testapp.get(CENTRE + "move").forms
    # The district itself may be edited, but not the city above it or the district beside.
    testapp.get(DONGCHENG + "edit")
    testapp.get("/110000/edit", status=403)
    testapp.get(XICHENG + "edit", status=403)
    assert unit_json(testapp, "110101001001")["parent"] == "110101001"


def test_an_anonymous_export_goes_to_the_login_page(testapp):
    res = testapp.get(DONGCHENG + "export.csv", status=303)
    assert "/login" in res.location


def test_a_post_without_the_csrf_token_changes_nothing(admin):
    form = admin.get(DONGCHENG + "add").forms["org-add"]
    form["code"] = "110101009"
    form["name"] = "无令牌中心"
    form["type"] = "centre"
    form["csrf_token"] = ""
    form.submit("save", status=400)
    admin.post(CENTRE + "edit", {"name": "改名", "save": "save"}, status=400)
    unit_json(admin, "110101009", status=404)
    assert unit_json(admin, "110101001")["name"] != "改名"
    assert not audit_rows(admin, event="org.create")


# -- export ----------------------------------------------------------------------------------
def test_csv_export_opens_in_excel_and_lists_the_subtree(admin):
    res = admin.get(DONGCHENG + "export.csv")
    assert res.content_type == "text/csv"
    assert res.headers["Content-Disposition"].startswith('attachment; filename="orgunits-110101-')
    assert res.body.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
    table = tables.read_table(res.body, "x.csv")
    assert table.columns == [
        "code",
        "name",
        "type",
        "parent",
        "active",
        "valid_from",
        "valid_to",
        "successor",
    ]
    rows = {row.values["code"]: row.values for row in table.rows}
    assert table.rows[0].values["code"] == "110101"  # the unit itself first, then below
    assert rows["110101"]["parent"] == "110000" and rows["110101"]["name"] == "东城区"
    assert rows["110101001001"]["parent"] == "110101001"
    assert "110102" not in rows
    # 2 centres with 2 stations each, the hospital, and the district itself
    assert len(rows) == 1 + 2 + 4 + 1
    assert audit_rows(admin, event="org.export", target="110101")[0].detail == {"format": "csv"}


def test_xlsx_export_has_a_bold_frozen_header(admin):
    res = admin.get(DONGCHENG + "export.xlsx")
    assert res.content_type.endswith("spreadsheetml.sheet")
    ws = openpyxl.load_workbook(io.BytesIO(res.body)).active
    assert [c.value for c in ws[1]][:3] == ["code", "name", "type"]
    assert ws["A1"].font.b and ws.freeze_panes == "A2"
    assert ws["A2"].value == "110101" and ws["A2"].data_type == "s"  # text, not a number
    assert ws.max_row == 1 + 8


def test_a_district_manager_may_export_their_district(testapp):
    login(testapp, "dongcheng")
    res = testapp.get(DONGCHENG + "export.csv")
    assert b"110101001" in res.body


# -- import ----------------------------------------------------------------------------------
def import_file(testapp, path, name, body, status=303):
    form = testapp.get(path + "import").forms["org-import"]
    form["upload"] = (name, body)
    return form.submit("save", status=status)


@pytest.mark.parametrize("fmt", [tables.CSV, tables.XLSX])
def test_export_then_import_round_trip(admin, fmt):
    exported = admin.get(DONGCHENG + f"export.{fmt}").body
    table = tables.read_table(exported, f"x.{fmt}")
    rows = [dict(row.values) for row in table.rows]
    # Unchanged, the file changes nothing.
    res = import_file(admin, DONGCHENG, f"same.{fmt}", exported)
    assert "0 new and 0 changed" in flash_text(res.follow())
    # Rename one unit, move a station, deactivate another, add a centre with a station.
    by_code = {row["code"]: row for row in rows}
    by_code["110101002"]["name"] = "东城改名中心"
    by_code["110101001002"]["parent"] = "110101002"
    by_code["110101002001"].update(active="no", valid_to="2026-06-30", successor="110101002002")
    rows += [
        {
            "code": "110101003",
            "name": "东城第三中心",
            "type": "centre",
            "parent": "110101",
            "active": "yes",
            "valid_from": "2026-01-01",
            "valid_to": "",
            "successor": "",
        },
        {
            "code": "110101003001",
            "name": "东城第三中心第1站",
            "type": "station",
            "parent": "110101003",
            "active": "yes",
            "valid_from": "",
            "valid_to": "",
            "successor": "",
        },
    ]
    writer = tables.write_xlsx if fmt == tables.XLSX else tables.write_csv
    res = import_file(admin, DONGCHENG, f"changed.{fmt}", writer(table.columns, rows))
    assert "2 new and 3 changed" in flash_text(res.follow())
    assert unit_json(admin, "110101002")["name"] == "东城改名中心"
    assert unit_json(admin, "110101001002")["parent"] == "110101002"
    gone = unit_json(admin, "110101002001")
    assert (gone["active"], gone["valid_to"], gone["successor"]) == (
        False,
        "2026-06-30",
        "110101002002",
    )
    assert unit_json(admin, "110101003001")["parent"] == "110101003"
    assert unit_json(admin, "110101003")["valid_from"] == "2026-01-01"
    events = [r.event for r in audit_rows(admin) if r.event.startswith("org.")]
    assert events.count("org.create") == 2
    assert {"org.update", "org.move", "org.deactivate", "org.import"} <= set(events)
    # Exporting again gives what was imported.
    again = tables.read_table(admin.get(DONGCHENG + f"export.{fmt}").body, f"y.{fmt}")
    assert {r.values["code"]: r.values for r in again.rows} == {r["code"]: r for r in rows}


BAD_ROWS = """\
code,name,type,parent,active,valid_from,valid_to,successor
110101005,好中心,centre,110101,yes,,,
11010100X,坏编码,centre,110101,yes,,,
110101006,,centre,110101,yes,,,
110101007,错类型,clinic,110101,yes,,,
110101005001,好站,station,110101005,yes,,,
110101008,错日期,centre,110101,maybe,2026-02-30,,
110101005,重复,centre,110101,yes,,,
110101009001,无上级,station,110101009,yes,,,
110101001,错放,centre,110101001,yes,,,
110102001,越界,centre,110102,yes,,,
"""


def test_a_file_with_bad_rows_reports_each_by_row_and_changes_nothing(admin):
    page = import_file(admin, DONGCHENG, "bad.csv", BAD_ROWS.encode(), status=200)
    items = page.html.select("#import-errors li")
    reported = {(li["data-row"], li["data-column"]) for li in items}
    assert reported == {
        ("3", "code"),  # not digits
        ("4", "name"),  # empty
        ("5", "type"),  # unknown type
        ("7", "active"),  # "maybe"
        ("7", "valid_from"),  # 30 February
        ("8", "code"),  # same code as row 2
        ("9", "parent"),  # no such unit
        ("10", "parent"),  # a unit cannot be its own parent
        ("11", "code"),  # 110102001 belongs to 西城区, outside 东城区
    }
    assert len(items) == len(reported)  # one message per problem
    texts = [li.get_text(" ", strip=True) for li in items]
    assert any(t.startswith("Row 8, column code:") and "row 2" in t for t in texts)
    # All or nothing: the good rows were not imported either.
    unit_json(admin, "110101005", status=404)
    unit_json(admin, "110101005001", status=404)
    [row] = audit_rows(admin, event="org.import")
    assert row.outcome == "failure" and row.detail["errors"] == len(items)
    assert not audit_rows(admin, event="org.create")


def test_an_import_cannot_reach_outside_the_unit_it_is_made_in(admin):
    body = (
        "code,name,type,parent\n"
        "110102001,西城中心,centre,110102\n"  # exists elsewhere
        "110102099,新西城中心,centre,110102\n"  # new, but below 西城区
        "110101001,东城和平社区卫生服务中心,centre,110102\n"
    )  # moved out of 东城区
    page = import_file(admin, DONGCHENG, "x.csv", body.encode(), status=200)
    reported = {(li["data-row"], li["data-column"]) for li in page.html.select("#import-errors li")}
    assert reported == {("2", "code"), ("3", "parent"), ("4", "parent")}
    assert unit_json(admin, "110101001")["parent"] == "110101"


def test_an_unreadable_file_is_refused_with_a_clear_message(admin):
    page = import_file(admin, DONGCHENG, "units.xlsx", b"this is not a workbook", status=200)
    [error] = page.html.select("#import-errors li")
    assert "not an Excel file" in error.get_text()
    page = import_file(admin, DONGCHENG, "units.csv", b"code;name\n1;2\n", status=200)
    errors = " ".join(li.get_text() for li in page.html.select("#import-errors li"))
    assert "“type” is missing" in errors and "“parent” is missing" in errors


def test_a_district_manager_cannot_import(testapp):
    login(testapp, "dongcheng")
    testapp.get(DONGCHENG + "import", status=403)


# -- the CLI ---------------------------------------------------------------------------------
@pytest.fixture
def ini(settings, tmp_path):
    """A .ini naming the test's (cloned demo) storage, as an operator's would."""
    return write_ini(tmp_path / "portal.ini", settings)


def site_units(settings):
    """{code: (name, parent code, active)} of every unit, read straight from storage."""
    import transaction

    from portal import make_config

    config = make_config(settings)
    tm = transaction.TransactionManager(explicit=True)
    try:
        with tm:
            conn = config.registry.zodb.open(transaction_manager=tm)
            units = {
                code: (u.name, u.parent_unit.code if u.parent_unit else None, u.active)
                for code, u in conn.root()["site"].units.items()
            }
            conn.close()
        return units
    finally:
        config.registry.zodb.close()
        config.registry.sql_engine.dispose()


def test_cli_imports_the_shipped_divisions_file_and_a_new_branch(ini, settings, tmp_path, capsys):
    from portal.scripts import cli

    # The GB/T 2260 list calls the type "level" and has no active column.
    assert cli.main(["orgs-import", ini, DIVISIONS_CSV]) == 0
    assert "0 new and 0 changed" in capsys.readouterr().out
    branch = tmp_path / "branch.xlsx"
    branch.write_bytes(
        tables.write_xlsx(
            ["code", "name", "level", "parent", "valid_to", "successor"],
            [
                ["110105009", "朝阳新中心", "centre", "110105", None, None],
                ["110105009001", "朝阳新中心第1站", "station", "110105009", None, None],
                ["110105009002", "朝阳旧站", "station", "110105009", "2020-01-01", "110105009001"],
            ],
        )
    )
    assert cli.main(["orgs-import", ini, str(branch)]) == 0
    assert "3 new and 0 changed" in capsys.readouterr().out
    units = site_units(settings)
    assert units["110105009001"] == ("朝阳新中心第1站", "110105009", True)
    assert units["110105009002"] == ("朝阳旧站", "110105009", False)


def test_cli_refuses_a_bad_file_with_row_numbers_and_imports_nothing(
    ini, settings, tmp_path, capsys
):
    from portal.scripts import cli

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,name,type,parent\n"
        "110105009,朝阳新中心,centre,110105\n"
        "110105010,坏中心,centre,999999\n"
        "110105011,坏类型,clinic,110105\n",
        encoding="utf-8",
    )
    before = site_units(settings)
    assert cli.main(["orgs-import", ini, str(bad)]) == 1
    *problems, summary = capsys.readouterr().err.splitlines()
    # One line per problem, in row order, each naming its row and column (in the default
    # language, so only the parts that do not depend on it are checked here).
    assert len(problems) == 2
    assert "3" in problems[0] and "parent" in problems[0] and "999999" in problems[0]
    assert "4" in problems[1] and "type" in problems[1] and "clinic" in problems[1]
    assert summary == f"error: nothing imported: 2 problem(s) in {bad}"
    assert site_units(settings) == before


def test_cli_says_when_the_file_is_missing(ini, capsys):
    from portal.scripts import cli

    assert cli.main(["orgs-import", ini, "/nonexistent/units.csv"]) == 1
    assert "/nonexistent/units.csv" in capsys.readouterr().err
