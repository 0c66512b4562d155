"""portal.services.orgtree: the tree's rules, export, and the all-or-nothing import, on an
in-memory demo tree (no storage, no web server)."""

import datetime as dt
import io

import pytest
from pyramid import testing

from exports import tables
from portal import evolve, resources
from portal.demo import DIVISIONS_CSV
from portal.i18n import _
from portal.resources import OrgUnit, Site
from portal.services import orgtree
from portal.services.orgtree import OrgTreeError
from portal.vocab import unit_type_title

HEADER = "code,name,type,parent,active,valid_from,valid_to,successor\n"


class AuditSession:
    """Stands in for the SQL session: collects the audit rows added to it."""

    def __init__(self):
        self.added = []

    def add(self, row):
        self.added.append(row)


@pytest.fixture
def request_(site):
    config = testing.setUp(settings={"pyramid.default_locale_name": "en"})
    request = testing.DummyRequest()
    request.root_site = site
    request.dbsession = AuditSession()
    request.client_addr = "127.0.0.1"
    yield request
    testing.tearDown()
    del config


@pytest.fixture(autouse=True)
def sql_calls(monkeypatch):
    """What the tree asks SQL for, in order: ("paths", {code: path}) for the unit paths it
    records and ("relocate", old path, new path) for the submissions it moves; the record
    seam's ("moved", [(old path, new path), …]) is kept apart in `moved`. The SQL side
    is tested in test_submissions_relocate.py and test_unit_paths.py, and end to end in the
    functional tests."""
    calls = []

    def relocate(dbsession, old_path, new_path):
        calls.append(("relocate", old_path, new_path))
        return 0

    def record(dbsession, units):
        calls.append(("paths", {unit.code: unit.path for unit in units}))

    def units_moved(dbsession, moves):
        MOVED.append(list(moves))

    monkeypatch.setattr(orgtree, "relocate_submissions", relocate)
    monkeypatch.setattr(orgtree.unit_paths, "record", record)
    monkeypatch.setattr(orgtree.record_changes, "units_moved", units_moved)
    MOVED.clear()
    return calls


# What the tree told the record seam (the aggregates follow moves through it).
MOVED: list = []


def relocations(sql_calls) -> list[tuple[str, str]]:
    """The submissions' moves the tree asked SQL for, as (old path, new path)."""
    return [call[1:] for call in sql_calls if call[0] == "relocate"]


def events(request):
    return [(row.event, row.outcome, row.target) for row in request.dbsession.added]


def import_text(request, text, scope=None, filename="units.csv", **kw):
    return orgtree.import_file(request, io.BytesIO(text.encode()), filename, scope=scope, **kw)


def messages(request, result):
    return [request.localizer.translate(error) for error in result.errors]


def codes_below(unit):
    return [u.code for u in unit.walk()]


def snapshot(site):
    """Everything about every unit, to prove that a refused import changed nothing."""
    return {
        code: (u.name, u.type, u.path, u.active, u.valid_from, u.valid_to, u.successor)
        for code, u in site.units.items()
    }


# -- add --------------------------------------------------------------------------------------
def test_add_unit_puts_it_in_the_tree_and_the_code_index(site):
    district = site.unit_by_code("110101")
    unit = orgtree.add_unit(
        site, district, " 110101009 ", " 新中心 ", "centre", valid_from=dt.date(2026, 1, 1)
    )
    assert district["110101009"] is unit and site.unit_by_code("110101009") is unit
    assert (unit.name, unit.type, unit.active, unit.path) == (
        "新中心",
        "centre",
        True,
        "/110000/110101/110101009/",
    )


@pytest.mark.parametrize(
    "code, name, unit_type, field",
    [
        ("", "x", "centre", "code"),
        ("1101", "x", "centre", "code"),  # too short
        ("１１０１０１００９", "x", "centre", "code"),  # full-width digits are not digits here
        ("110101001", "x", "centre", "code"),  # taken
        ("110101009", "", "centre", "name"),
        ("110101009", "x" * 101, "centre", "name"),
        ("110101009", "a\x00b", "centre", "name"),
        ("110101009", "x", "station", "type"),  # a station belongs below a centre
        ("110101009", "x", "clinic", "type"),
    ],
)
def test_add_unit_refuses_what_breaks_the_rules(site, code, name, unit_type, field):
    with pytest.raises(OrgTreeError) as e:
        orgtree.add_unit(site, site.unit_by_code("110101"), code, name, unit_type)
    assert e.value.field == field
    assert site.unit_by_code("110101009") is None


def test_nothing_is_added_below_an_inactive_unit(site):
    with pytest.raises(OrgTreeError):
        orgtree.add_unit(site, site.unit_by_code("110103"), "110103001", "x", "centre")


def test_allowed_types_follow_the_parent_and_the_units_below():
    city = OrgUnit("110000", "c", "city")
    district = city.add("110101", OrgUnit("110101", "d", "district"))
    assert orgtree.allowed_types(city) == ["district", "hospital"]
    assert orgtree.allowed_types(city, district) == ["district", "hospital"]
    district.add("110101001", OrgUnit("110101001", "c", "centre"))
    assert orgtree.allowed_types(city, district) == ["district"]  # a hospital holds nothing
    assert orgtree.allowed_types(Site()) == ["city"]


# -- update -----------------------------------------------------------------------------------
def test_update_unit_reports_what_changed(site):
    unit = site.unit_by_code("110101901")  # a hospital below 东城区
    changes = orgtree.update_unit(unit, name="新名", type="centre", valid_from=dt.date(2020, 1, 1))
    assert changes == {
        "name": ("北京市东城区示范医院", "新名"),
        "type": ("hospital", "centre"),
        "valid_from": (None, dt.date(2020, 1, 1)),
    }
    assert orgtree.update_unit(unit, name="新名", type="centre") == {}
    assert orgtree.audit_detail(changes)["valid_from"] == [None, "2020-01-01"]


def test_a_type_change_must_suit_the_parent_and_the_units_below(site):
    with pytest.raises(OrgTreeError, match="org_type_children"):
        orgtree.update_unit(site.unit_by_code("110101"), type="hospital")
    with pytest.raises(OrgTreeError, match="org_type_not_allowed"):
        orgtree.update_unit(site.unit_by_code("110101001"), type="district")
    assert site.unit_by_code("110101").type == "district"


def test_a_start_after_the_end_is_refused(site):
    unit = site.unit_by_code("110103")  # valid until 2010-07-01
    with pytest.raises(OrgTreeError) as e:
        orgtree.update_unit(unit, valid_from=dt.date(2011, 1, 1))
    assert e.value.field == "valid_from"


# -- move -------------------------------------------------------------------------------------
def test_move_unit_takes_the_subtree_along_and_keeps_the_index(site, sql_calls):
    centre = site.unit_by_code("110101001")
    old = orgtree.move_unit(site, centre, site.unit_by_code("110102"), dbsession=None)
    # The subtree's new paths are recorded before the submissions are moved.
    assert sql_calls == [
        ("paths", {u.code: u.path for u in centre.walk()}),
        ("relocate", "/110000/110101/110101001/", "/110000/110102/110101001/"),
    ]
    assert sql_calls[0][1]["110101001"] == "/110000/110102/110101001/"
    assert MOVED == [[("/110000/110101/110101001/", "/110000/110102/110101001/")]]
    assert old.code == "110101"
    assert "110101001" not in old and site.unit_by_code("110102")["110101001"] is centre
    station = site.unit_by_code("110101001001")
    assert station.path == "/110000/110102/110101001/110101001001/"
    assert all(site.units[code].code == code for code in site.units)
    assert len(site.units) == len(list(site.unit_by_code("110000").walk()))


def test_move_targets_are_the_right_type_and_not_where_the_unit_is(site):
    station = site.unit_by_code("110101001001")
    targets = orgtree.move_targets(site, station)
    assert {t.type for t in targets} == {"centre"}
    assert site.unit_by_code("110101001") not in targets
    assert site.unit_by_code("110101002") in targets
    assert orgtree.move_targets(site, site.unit_by_code("110000")) == []
    assert [t.path for t in targets] == sorted(t.path for t in targets)


@pytest.mark.parametrize(
    "code, target, message",
    [
        ("110000", "110101", "org_move_top"),
        ("110101001", "110101", "org_move_same"),
        ("110101001", "110101002", "org_type_not_allowed"),  # a centre below a centre
        ("110101001", "110103", "org_parent_inactive"),  # active unit below an inactive one
    ],
)
def test_move_unit_refuses(site, sql_calls, code, target, message):
    unit = site.unit_by_code(code)
    path = unit.path
    with pytest.raises(OrgTreeError, match=message):
        orgtree.move_unit(site, unit, site.unit_by_code(target), dbsession=None)
    assert unit.path == path
    assert relocations(sql_calls) == []


def test_a_unit_cannot_be_moved_into_its_own_subtree(site, monkeypatch, sql_calls):
    # With today's types nothing can hold its own ancestor; the rule must hold anyway.
    monkeypatch.setitem(resources.ALLOWED_CHILDREN, "station", ("centre",))
    centre = site.unit_by_code("110101001")
    with pytest.raises(OrgTreeError, match="org_move_into_self"):
        orgtree.move_unit(site, centre, site.unit_by_code("110101001001"), dbsession=None)
    assert site.unit_by_code("110101001001") not in orgtree.move_targets(site, centre)
    with pytest.raises(OrgTreeError, match="org_move_into_self"):
        orgtree.move_unit(site, centre, centre, dbsession=None)
    assert relocations(sql_calls) == []


# -- deactivate and reactivate ----------------------------------------------------------------
def test_deactivate_and_reactivate(site):
    station = site.unit_by_code("110101001001")
    changes = orgtree.deactivate_unit(site, station, dt.date(2026, 3, 31), " 110101001002 ")
    assert changes["active"] == (True, False)
    assert (station.active, station.valid_to, station.successor) == (
        False,
        dt.date(2026, 3, 31),
        "110101001002",
    )
    with pytest.raises(OrgTreeError, match="org_already_inactive"):
        orgtree.deactivate_unit(site, station, dt.date(2026, 3, 31))
    orgtree.reactivate_unit(station)
    assert (station.active, station.valid_to, station.successor) == (True, None, None)
    with pytest.raises(OrgTreeError, match="org_already_active"):
        orgtree.reactivate_unit(station)


@pytest.mark.parametrize(
    "successor, message",
    [
        ("110101001001", "org_successor_self"),
        ("999999", "org_no_such_unit"),
        ("110103", "org_successor_inactive"),
        ("abc", "org_code_format"),
    ],
)
def test_a_successor_must_exist_be_active_and_not_be_the_unit(site, successor, message):
    station = site.unit_by_code("110101001001")
    with pytest.raises(OrgTreeError, match=message) as e:
        orgtree.deactivate_unit(site, station, dt.date(2026, 3, 31), successor)
    assert e.value.field == "successor" and station.active


def test_a_unit_with_active_units_below_stays_active(site):
    centre = site.unit_by_code("110101001")
    with pytest.raises(OrgTreeError, match="org_active_below") as e:
        orgtree.deactivate_unit(site, centre, dt.date(2026, 3, 31))
    assert e.value.message.mapping["codes"] == "110101001001, 110101001002"
    for station in centre.units():
        orgtree.deactivate_unit(site, station, dt.date(2026, 3, 31))
    orgtree.deactivate_unit(site, centre, dt.date(2026, 3, 31))
    # ...and a station comes back only once its centre has.
    with pytest.raises(OrgTreeError, match="org_parent_inactive"):
        orgtree.reactivate_unit(site.unit_by_code("110101001001"))


def test_deactivation_needs_an_end_on_or_after_the_start(site):
    unit = site.unit_by_code("110118")  # 密云区, valid from 2015-11-13
    with pytest.raises(OrgTreeError, match="org_dates_order"):
        orgtree.deactivate_unit(site, unit, dt.date(2015, 1, 1))
    with pytest.raises(OrgTreeError, match="org_valid_to_required"):
        orgtree.deactivate_unit(site, unit, None)


# -- messages ---------------------------------------------------------------------------------
def test_translate_translates_titles_inside_messages(request_):
    message = orgtree.placement_problem("centre", "hospital")
    assert message.mapping["child"] == unit_type_title("hospital")
    assert orgtree.translate(request_.localizer, message) == (
        "A unit of type “Hospital” cannot be placed below one of type "
        "“Community health service centre”."
    )
    plain = _("x", default="Plain ${n}", mapping={"n": 1})
    assert orgtree.translate(request_.localizer, plain) == "Plain 1"


# -- export -----------------------------------------------------------------------------------
def test_export_rows_list_the_subtree_parents_first(site):
    rows = orgtree.export_rows(site.unit_by_code("110101"))
    codes = [row["code"] for row in rows]
    assert codes[0] == "110101" and set(codes) == set(codes_below(site.unit_by_code("110101")))
    for index, row in enumerate(rows[1:], start=1):
        assert row["parent"] in codes[:index]
    assert rows[0] == {
        "code": "110101",
        "name": "东城区",
        "type": "district",
        "parent": "110000",
        "active": "yes",
        "valid_from": None,
        "valid_to": None,
        "successor": "",
    }
    old = orgtree.export_rows(site.unit_by_code("110103"))[0]
    assert (old["active"], old["valid_to"], old["successor"]) == (
        "no",
        dt.date(2010, 7, 1),
        "110101",
    )


@pytest.mark.parametrize("fmt", [tables.CSV, tables.XLSX])
def test_an_exported_tree_imports_back_unchanged(site, request_, sql_calls, fmt):
    before = snapshot(site)
    data = orgtree.export_table(site.unit_by_code("110000"), fmt)
    result = orgtree.import_file(request_, io.BytesIO(data), f"tree.{fmt}")
    assert (result.errors, result.created, result.updated) == ([], 0, 0)
    assert result.unchanged == len(site.units)
    assert snapshot(site) == before
    assert events(request_) == [("org.import", "success", None)]
    assert relocations(sql_calls) == []


# -- import: whole files ----------------------------------------------------------------------
def test_the_divisions_file_builds_the_city_on_an_empty_site(request_):
    site = request_.root_site = Site()
    evolve.evolve(site)
    with open(DIVISIONS_CSV, "rb") as f:
        result = orgtree.import_file(request_, f, "beijing_divisions.csv", actor="cli")
    assert result.errors == [] and result.created == 21
    city = site.unit_by_code("110000")
    assert site["110000"] is city and len(city.units()) == 20
    chongwen = site.unit_by_code("110103")  # merged into 东城区 in 2010
    assert (chongwen.active, chongwen.valid_to, chongwen.successor) == (
        False,
        dt.date(2010, 7, 1),
        "110101",
    )
    assert site.unit_by_code("110118").valid_from == dt.date(2015, 11, 13)
    assert site.unit_by_code("110118").active
    assert [e for e in events(request_) if e[0] != "org.create"] == [
        ("org.import", "success", None)
    ]
    assert all(row.actor == "cli" for row in request_.dbsession.added)


def test_an_import_is_all_or_nothing_and_reports_every_bad_row(site, request_):
    before = snapshot(site)
    result = import_text(
        request_,
        HEADER
        + (
            "110101005,好中心,centre,110101,yes,,,\n"
            "110101006,坏,centre,110101,yes,2026-02-01,2026-01-01,\n"
            "110101007,早,centre,110101,yes,,,110101001\n"
            "110101008,后,centre,110101009,yes,,,\n"
            "110101009,先,centre,110101,yes,,,\n"
        ),
    )
    assert messages(request_, result) == [
        "Row 3, column valid_to: “Valid until” cannot be before “Valid from”.",
        "Row 4, column successor: Only an inactive unit has a successor; leave this empty "
        "or set active to no.",
        "Row 5, column parent: The unit above (110101009) must come before this row, not in row 6.",
    ]
    assert snapshot(site) == before
    assert result.created == result.updated == 0
    [row] = request_.dbsession.added
    assert (row.event, row.outcome, row.detail["errors"], row.detail["rows"]) == (
        "org.import",
        "failure",
        3,
        5,
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", ["The file is empty."]),
        (
            "code,name\n1,2\n",
            [
                "The column “type” is missing from the header (row 1).",
                "The column “parent” is missing from the header (row 1).",
            ],
        ),
        (
            HEADER.strip() + ",notes\n",
            [
                "Unknown column “notes” (row 1); the columns are: code, name, type, parent, "
                "active, valid_from, valid_to, successor.",
            ],
        ),
        (
            "code,name,type,level,parent\n",
            ["The columns “type” and “level” are the same; keep one."],
        ),
        (HEADER, ["The file has a header but no units."]),
        ("code,code\n", ["The column “code” appears twice in the header."]),
    ],
)
def test_files_that_are_not_unit_lists_are_refused(site, request_, text, expected):
    assert messages(request_, import_text(request_, text)) == expected


def test_a_legacy_excel_file_is_refused_by_name(request_):
    result = orgtree.import_file(
        request_, io.BytesIO(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0"), "units.xls"
    )
    assert "(.xls)" in messages(request_, result)[0]


def test_a_too_big_file_is_refused_before_it_is_read(request_, monkeypatch):
    monkeypatch.setattr(orgtree, "MAX_IMPORT_BYTES", 10)
    assert messages(request_, import_text(request_, HEADER)) == ["The file is larger than 0 MB."]


# -- import: rows -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "row, column, fragment",
    [
        ("11010100X,x,centre,110101,,,,", "code", "6 to 20 digits"),
        (",x,centre,110101,,,,", "code", "Enter the unit's code"),
        ("110101005,,centre,110101,,,,", "name", "Enter the unit's name"),
        ("110101005,x,,110101,,,,", "type", "Choose the unit's type"),
        ("110101005,x,clinic,110101,,,,", "type", "Unknown type “clinic”"),
        ("110101005,x,station,110101,,,,", "type", "cannot be placed below"),
        ("110101005,x,centre,,,,,", "parent", "Enter the code of the unit above"),
        ("110101005,x,centre,999999,,,,", "parent", "No unit has the code 999999"),
        ("110101005,x,centre,1101X1,,,,", "parent", "6 to 20 digits"),
        ("110101005,x,centre,110101005,,,,", "parent", "its own parent"),
        ("110101005,x,centre,110103,yes,,,", "active", "The unit above (110103) is inactive"),
        ("110101005,x,centre,110101,maybe,,,", "active", "“maybe” is not yes or no"),
        ("110101005,x,centre,110101,,2026-1-1,,", "valid_from", "YYYY-MM-DD"),
        ("110101005,x,centre,110101,,20260101,,", "valid_from", "YYYY-MM-DD"),
        ("110101005,x,centre,110101,no,,2026-02-30,", "valid_to", "is not a date"),
        ("110101005,x,centre,110101,no,,,110101005", "successor", "its own successor"),
        ("110101005,x,centre,110101,no,,,110103", "successor", "is inactive"),
        ("110101005,x,centre,110101,no,,,999999", "successor", "No unit has the code"),
        ("110101005,x,centre,110101,no,,,abc", "successor", "6 to 20 digits"),
        ("110101,东城区,hospital,110000,,,,", "type", "cannot hold the units below"),
        ("110101001,x,centre,110101,no,,,", "active", "still active (110101001001, 110101001002)"),
    ],
)
def test_each_bad_row_is_named_with_its_column(site, request_, row, column, fragment):
    before = snapshot(site)
    [message] = messages(request_, import_text(request_, HEADER + row + "\n"))
    assert message.startswith(f"Row 2, column {column}: ")
    assert fragment in message
    assert snapshot(site) == before


def test_errors_name_the_files_own_heading(request_):
    result = import_text(request_, "CODE,Name,Level,Parent\n110101005,x,clinic,110101\n")
    assert messages(request_, result)[0].startswith("Row 2, column level: ")


def test_values_beyond_the_last_column_are_an_error(request_):
    result = import_text(request_, "code,name,type,parent\n110101005,x,centre,110101,oops\n")
    assert messages(request_, result) == ["Row 2: The row has values beyond the last column: oops."]


def test_a_repeated_code_names_the_first_row(request_):
    result = import_text(
        request_, HEADER + "110101005,a,centre,110101,,,,\n110101005,b,centre,110101,,,,\n"
    )
    assert messages(request_, result) == [
        "Row 3, column code: The code 110101005 is already in row 2."
    ]


def test_a_bad_row_does_not_cascade_into_its_children(request_):
    result = import_text(
        request_, HEADER + "110101005,,centre,110101,,,,\n110101005001,x,station,110101005,,,,\n"
    )
    assert messages(request_, result) == ["Row 2, column name: Enter the unit's name."]


def test_yes_no_words(site, request_):
    text = HEADER + "".join(
        f"11010100{i}00{j},s,station,11010100{i},{word},,2026-01-01,\n"
        for i, words in ((1, ("no", "N", "false")), (2, ("0", "否", "FALSE")))
        for j, word in enumerate(words, start=3)
    )
    text = HEADER + "110101001,c,centre,110101,是,,,\n" + text[len(HEADER) :]
    result = import_text(request_, text)
    assert result.errors == [] and result.created == 6
    assert not any(site.unit_by_code(f"11010100{i}00{j}").active for i in (1, 2) for j in (3, 4, 5))


# -- import: what an accepted file does ------------------------------------------------------
def test_an_import_creates_updates_moves_and_deactivates(site, request_, sql_calls):
    result = import_text(
        request_,
        HEADER
        + (
            "110101002,东城改名中心,centre,110101,yes,,,\n"
            "110101001002,站,station,110101002,yes,,,\n"  # moved from 110101001
            "110101002001,旧站,station,110101002,no,,2026-06-30,110101009001\n"
            "110101009,新中心,centre,110101,yes,2026-01-01,,\n"
            "110101009001,新站,station,110101009,,,,\n"  # successor named in an earlier row
        ),
        actor="cli",
    )
    assert result.errors == []
    assert (result.created, result.updated, result.unchanged) == (2, 3, 0)
    assert site.unit_by_code("110101002").name == "东城改名中心"
    assert site.unit_by_code("110101001002").path == "/110000/110101/110101002/110101001002/"
    old = site.unit_by_code("110101002001")
    assert (old.active, old.valid_to, old.successor) == (
        False,
        dt.date(2026, 6, 30),
        "110101009001",
    )
    assert site.unit_by_code("110101009001").active  # empty active, no end date: active
    assert events(request_) == [
        ("org.update", "success", "110101002"),
        ("org.move", "success", "110101001002"),
        ("org.update", "success", "110101001002"),
        ("org.deactivate", "success", "110101002001"),
        ("org.update", "success", "110101002001"),
        ("org.create", "success", "110101009"),
        ("org.create", "success", "110101009001"),
        ("org.import", "success", None),
    ]
    move = request_.dbsession.added[1]
    assert move.detail == {"from": "110101001", "to": "110101002"}
    assert move.actor == "cli"
    assert move.org_path == "/110000/110101/110101002/110101001002/"
    # The moved unit's and the new units' paths are recorded, then the submissions move.
    assert sql_calls == [
        (
            "paths",
            {
                "110101001002": "/110000/110101/110101002/110101001002/",
                "110101009": "/110000/110101/110101009/",
                "110101009001": "/110000/110101/110101009/110101009001/",
            },
        ),
        (
            "relocate",
            "/110000/110101/110101001/110101001002/",
            "/110000/110101/110101002/110101001002/",
        ),
    ]


def test_a_successor_may_come_later_in_the_file(site, request_):
    result = import_text(
        request_,
        HEADER
        + (
            "110101002001,旧站,station,110101002,no,,2026-06-30,110101002009\n"
            "110101002009,新站,station,110101002,yes,,,\n"
        ),
    )
    assert result.errors == []
    assert site.unit_by_code("110101002001").successor == "110101002009"


def test_a_unit_and_everything_below_it_may_be_deactivated_together(site, request_):
    result = import_text(
        request_,
        HEADER
        + (
            "110101001,c,centre,110101,no,,2026-06-30,\n"
            "110101001001,a,station,110101001,no,,2026-06-30,\n"
            "110101001002,b,station,110101001,no,,2026-06-30,\n"
        ),
    )
    assert result.errors == []
    assert not any(u.active for u in site.unit_by_code("110101001").walk())


def test_an_active_unit_cannot_stay_below_one_being_deactivated(site, request_):
    result = import_text(
        request_,
        HEADER
        + ("110101001,c,centre,110101,no,,2026-06-30,\n110101001001,a,station,110101001,yes,,,\n"),
    )
    assert messages(request_, result) == [
        "Row 2, column active: Units below are still active (110101001002): move or "
        "deactivate them first.",
        "Row 3, column active: The unit above (110101001) is inactive; an active unit "
        "cannot be below it.",
    ]


def test_columns_left_out_keep_what_the_unit_has(site, request_):
    chongwen = site.unit_by_code("110103")
    result = import_text(request_, "code,name,type,parent\n110103,崇文区（旧）,district,110000\n")
    assert result.errors == [] and result.updated == 1
    assert (chongwen.name, chongwen.active, chongwen.valid_to, chongwen.successor) == (
        "崇文区（旧）",
        False,
        dt.date(2010, 7, 1),
        "110101",
    )


def test_an_end_date_in_the_past_without_an_active_column_deactivates(site, request_):
    result = import_text(
        request_,
        "code,name,type,parent,valid_to\n"
        "110101001001,s,station,110101001,2020-01-01\n"
        "110101001002,s,station,110101001,2999-01-01\n",
    )
    assert result.errors == []
    assert not site.unit_by_code("110101001001").active
    assert site.unit_by_code("110101001002").active


def test_moves_apply_in_any_order_without_looping_on_the_way(
    site, request_, monkeypatch, sql_calls
):
    # Let a centre hold a centre, then swap two of them: applied row by row, the first move
    # would put 110101001 below a unit that is still below it.
    monkeypatch.setitem(resources.ALLOWED_CHILDREN, "centre", ("station", "centre"))
    a, b = site.unit_by_code("110101001"), site.unit_by_code("110101002")
    orgtree.move_unit(site, b, a, dbsession=None)
    del sql_calls[:]
    result = import_text(
        request_,
        "code,name,type,parent\n"
        f"110101001,{a.name},centre,110101002\n"
        f"110101002,{b.name},centre,110101\n",
    )
    assert result.errors == []
    assert a.path == "/110000/110101/110101002/110101001/"
    assert b.path == "/110000/110101/110101002/"
    assert set(codes_below(site.unit_by_code("110000"))) == set(site.units)
    # The submissions follow, the deeper unit first: 110101002's took its prefix out of
    # 110101001's subtree before that subtree's prefix is replaced.
    assert relocations(sql_calls) == [
        ("/110000/110101/110101001/110101002/", "/110000/110101/110101002/"),
        ("/110000/110101/110101001/", "/110000/110101/110101002/110101001/"),
    ]


def test_an_import_cannot_make_a_loop(site, request_, monkeypatch):
    monkeypatch.setitem(resources.ALLOWED_CHILDREN, "centre", ("station", "centre"))
    before = snapshot(site)
    result = import_text(
        request_,
        "code,name,type,parent\n110101001,a,centre,110101002\n110101002,b,centre,110101001\n",
    )
    assert [m.split(":")[0] for m in messages(request_, result)] == [
        "Row 2, column parent",
        "Row 3, column parent",
    ]
    assert "below itself" in messages(request_, result)[0]
    assert snapshot(site) == before


# -- import: scope ----------------------------------------------------------------------------
def test_a_scoped_import_stays_inside_its_unit(site, request_):
    scope = site.unit_by_code("110101")
    result = import_text(
        request_,
        HEADER
        + (
            "110101,东城区,district,110000,yes,,,\n"  # the unit itself: fine
            "110102001,x,centre,110102,yes,,,\n"  # exists in 西城区
            "110102099,x,centre,110102,yes,,,\n"  # new, below 西城区
            "110101001,x,centre,110102,yes,,,\n"  # moving out of 东城区
            "110000,北京市,city,,yes,,,\n"  # the city above
            "110199,x,city,,yes,,,\n"  # a new top-level unit
            "110101009,x,centre,110101,yes,,,\n"  # fine
        ),
        scope=scope,
    )
    assert [m.split(":")[0] for m in messages(request_, result)] == [
        "Row 3, column code",
        "Row 4, column parent",
        "Row 5, column parent",
        "Row 6, column code",
        "Row 7, column parent",
    ]
    assert "Only units below 东城区 (110101) can be imported here." in messages(request_, result)[0]


def test_a_scoped_import_cannot_move_its_own_unit(site, request_):
    result = import_text(
        request_,
        HEADER + "110101001,c,centre,110102,yes,,,\n",
        scope=site.unit_by_code("110101001"),
    )
    assert messages(request_, result) == [
        "Row 2, column parent: The unit you are importing into cannot be moved by its own import."
    ]


def test_a_scoped_import_may_add_below_new_units(site, request_):
    result = import_text(
        request_,
        HEADER + ("110101009,c,centre,110101,yes,,,\n110101009001,s,station,110101009,yes,,,\n"),
        scope=site.unit_by_code("110101"),
    )
    assert result.errors == [] and result.created == 2
