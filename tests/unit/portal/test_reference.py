"""portal.services.reference: the figures rule (own value, else the sum below, else none),
and the all-or-nothing import, on the demo tree with its paths in a SQLite database."""

import io

import pytest
from pyramid import testing
from sqlalchemy import select

from exports import tables
from portal.i18n import compile_catalogues
from portal.models import AuditEvent, Base, ReferenceValue, get_engine, get_session_factory
from portal.services import reference, unit_paths

CITY, DONGCHENG, XICHENG = "110000", "110101", "110102"
CENTRE, OTHER_CENTRE = "110101001", "110101002"
STATION_1, STATION_2 = "110101001001", "110101001002"
YEAR = 2025


@pytest.fixture
def dbsession(tmp_path, site):
    engine = get_engine({"sqlalchemy.url": f"sqlite:///{tmp_path}/p.sqlite"})
    Base.metadata.create_all(engine)
    session = get_session_factory(engine)()
    unit_paths.record(session, site.units.values())
    yield session
    session.close()
    engine.dispose()


@pytest.fixture
def request_(site, dbsession):
    compile_catalogues()  # as the app does at start: kinds are also known by their labels
    config = testing.setUp(settings={"pyramid.default_locale_name": "en"})
    config.add_translation_dirs("portal:locale/")
    request = testing.DummyRequest()
    request.root_site = site
    request.dbsession = dbsession
    request.client_addr = "127.0.0.1"
    yield request
    testing.tearDown()


def enter(dbsession, values: dict, year=YEAR):
    for (code, kind), value in values.items():
        dbsession.add(ReferenceValue(org_code=code, year=year, kind=kind, value=value))
    dbsession.flush()


# -- the rule -------------------------------------------------------------------------------
def test_a_units_own_value_overrides_the_sum_of_its_children(dbsession, site):
    enter(
        dbsession,
        {
            (DONGCHENG, "population"): 700_000,
            (CENTRE, "population"): 50_000,
            (OTHER_CENTRE, "population"): 60_000,
        },
    )
    found = reference.figures(dbsession, site, [DONGCHENG, CENTRE], YEAR)
    assert found[DONGCHENG] == {"population": 700_000}
    assert found[CENTRE] == {"population": 50_000}


def test_without_its_own_value_a_unit_sums_the_figures_below_it(dbsession, site):
    enter(
        dbsession,
        {
            # 东城: no value of its own. Centre 1 has one (its stations' are not added
            # again); centre 2 has none, so its station's counts.
            (CENTRE, "population"): 50_000,
            (STATION_1, "population"): 20_000,
            (STATION_2, "population"): 25_000,
            ("110101002001", "population"): 7_000,
            (XICHENG, "population"): 1_000_000,
            (STATION_1, "live_births"): 120,
        },
    )
    found = reference.figure_details(dbsession, site, [CITY, DONGCHENG, OTHER_CENTRE], YEAR)
    assert found[DONGCHENG]["population"] == reference.Figure(57_000, own=False)
    assert found[OTHER_CENTRE]["population"] == reference.Figure(7_000, own=False)
    assert found[CITY]["population"].value == 1_057_000
    assert found[DONGCHENG]["live_births"].value == 120


def test_no_figure_when_nothing_below_has_one(dbsession, site):
    enter(dbsession, {(XICHENG, "population"): 1_000_000})
    enter(dbsession, {(DONGCHENG, "population"): 1}, year=YEAR - 1)  # another year
    found = reference.figures(dbsession, site, [DONGCHENG, XICHENG, "999999"], YEAR)
    assert found[DONGCHENG] == {}
    assert "999999" not in found  # no such unit
    assert reference.figures(dbsession, site, [XICHENG], YEAR, kinds=["live_births"]) == {
        XICHENG: {}
    }


# -- changes --------------------------------------------------------------------------------
def test_set_and_delete_are_audited_and_refuse_bad_values(request_, site, dbsession):
    unit = site.unit_by_code(CENTRE)
    assert reference.set_value(request_, unit, YEAR, "population", 5000) is None
    assert reference.set_value(request_, unit, YEAR, "population", 6000) == 5000
    assert reference.delete_value(request_, unit, YEAR, "population") == 6000
    assert reference.delete_value(request_, unit, YEAR, "population") is None
    for value in (-1, float("nan")):
        with pytest.raises(reference.FigureError):
            reference.set_value(request_, unit, YEAR, "population", value)
    with pytest.raises(reference.FigureError):
        reference.set_value(request_, unit, YEAR, "no_such_kind", 1)
    dbsession.flush()
    events = [e.event for e in dbsession.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert events == ["reference.set", "reference.set", "reference.delete"]


# -- import ---------------------------------------------------------------------------------
def import_text(request, text, scope=DONGCHENG, filename="figures.csv"):
    unit = request.root_site.unit_by_code(scope)
    return reference.import_rows(request, io.BytesIO(text.encode()), filename, scope=unit)


def stored(dbsession) -> dict:
    rows = dbsession.scalars(select(ReferenceValue))
    return {(r.org_code, r.year, r.kind): r.value for r in rows}


def test_an_import_with_chinese_headings_and_labels(request_, dbsession):
    result = import_text(
        request_,
        "机构代码,年份,指标,数值\n"
        f'{DONGCHENG},2025,常住人口,"708,000"\n'
        f"{DONGCHENG},2025,0~6岁儿童数,35000\n"  # an ASCII tilde for the full-width one
        f"{CENTRE},2025,population_65,12000.5\n"
        f"{CENTRE},2025,Live births,300\n",
    )
    assert result.errors == []
    assert (result.created, result.updated) == (4, 0)
    assert stored(dbsession) == {
        (DONGCHENG, 2025, "population"): 708_000,
        (DONGCHENG, 2025, "children_0_6"): 35_000,
        (CENTRE, 2025, "population_65"): 12_000.5,
        (CENTRE, 2025, "live_births"): 300,
    }
    # Exported, it imports back unchanged.
    data = reference.export_table(dbsession, request_.root_site.unit_by_code(DONGCHENG), "xlsx")
    assert [r.values for r in tables.read_table(data, "x.xlsx").rows][0] == {
        "code": DONGCHENG,
        "year": "2025",
        "kind": "population",
        "value": "708000",
    }
    again = reference.import_rows(
        request_, io.BytesIO(data), "x.xlsx", request_.root_site.unit_by_code(DONGCHENG)
    )
    assert (again.errors, again.created, again.updated, again.unchanged) == ([], 0, 0, 4)


def test_an_import_is_all_or_nothing_and_reports_every_bad_row(request_, dbsession):
    enter(dbsession, {(CENTRE, "population"): 1})
    result = import_text(
        request_,
        "code,year,kind,value\n"
        f"{CENTRE},2025,population,50000\n"  # fine, but not imported
        "110101999,2025,population,1\n"  # no such unit
        f"{XICHENG},2025,population,1\n"  # outside 东城区
        f"{CENTRE},25,population,1\n"  # bad year
        f"{CENTRE},2025,人口总数,1\n"  # unknown kind
        f"{CENTRE},2025,live_births,-3\n"  # negative
        f"{CENTRE},2025,population_65,many\n"  # not a number
        f"{CENTRE},2025,人口,1\n"
        f"{CENTRE},2025,population,2\n",  # the same as row 2
    )
    messages = [request_.localizer.translate(e) for e in result.errors]
    assert [m.split(":")[0] for m in messages] == [
        "Row 3, column code",
        "Row 4, column code",
        "Row 5, column year",
        "Row 6, column kind",
        "Row 7, column value",
        "Row 8, column value",
        "Row 9, column kind",
        "Row 10",
    ]
    assert "No unit has the code 110101999" in messages[0]
    assert "is not below 东城区" in messages[1]
    assert "cannot be negative" in messages[4]
    assert "Enter a number" in messages[5]
    assert "already in row 2" in messages[7]
    assert stored(dbsession) == {(CENTRE, 2025, "population"): 1}
    dbsession.flush()
    [event] = dbsession.scalars(select(AuditEvent))
    assert (event.event, event.outcome, event.detail["errors"]) == (
        "reference.import",
        "failure",
        8,
    )


def test_a_file_without_the_columns_is_refused(request_):
    result = import_text(request_, "code,year,population\n110101,2025,1\n")
    messages = [request_.localizer.translate(e) for e in result.errors]
    assert any("Unknown column “population”" in m for m in messages)
    assert any("“kind” is missing" in m for m in messages)
