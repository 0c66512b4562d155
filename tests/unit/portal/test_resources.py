"""The content tree: units, lineage, paths, levels and the code index."""

import pytest

from portal.demo import load_demo, load_divisions
from portal.evolve import evolve, latest_version
from portal.resources import OrgUnit, Site


@pytest.fixture
def site():
    site = Site()
    evolve(site)
    load_divisions(site)
    load_demo(site)
    return site


def test_divisions_current_and_historical(site):
    city = site.unit_by_code("110000")
    districts = [u for u in city.units() if u.type == "district"]
    assert len([d for d in districts if d.active]) == 16
    historical = {d.code: d.successor for d in districts if not d.active}
    assert historical == {
        "110103": "110101",
        "110104": "110102",
        "110228": "110118",
        "110229": "110119",
    }
    assert "110110" not in site.units  # there is no 110110


def test_demo_tree_has_centres_stations_and_hospitals(site):
    for district in site.unit_by_code("110000").units():
        if district.type != "district" or not district.active:
            continue
        centres = [u for u in district.units() if u.type == "centre"]
        assert len(centres) >= 2
        for centre in centres:
            assert len([s for s in centre.units() if s.type == "station"]) >= 2
    hospitals = [u for u in site.units.values() if u.type == "hospital"]
    assert len(hospitals) == 2


def test_lineage_path_and_level(site):
    station = site.unit_by_code("110101001001")
    assert station.lineage_codes() == ["110000", "110101", "110101001", "110101001001"]
    assert station.path == "/110000/110101/110101001/110101001001/"
    assert [station.level, station.parent_unit.level] == [4, 3]
    assert site.unit_by_code("110000").parent_unit is None
    assert site.unit_by_code("110000").level == 1


def test_walk_visits_the_whole_subtree(site):
    district = site.unit_by_code("110101")
    codes = [u.code for u in district.walk()]
    assert codes[0] == "110101"
    assert set(codes) == {c for c, u in site.units.items() if u.path.startswith(district.path)}


def test_folder_refuses_duplicates_and_unknown_types():
    unit = OrgUnit("110000", "北京市", "city")
    unit.add("110101", OrgUnit("110101", "东城区", "district"))
    with pytest.raises(KeyError):
        unit.add("110101", OrgUnit("110101", "东城区", "district"))
    with pytest.raises(ValueError):
        OrgUnit("1", "x", "village")


def test_evolve_runs_each_step_once():
    site = Site()
    assert evolve(site) == [
        "step0001_base_structure",
        "step0002_forms",
        "step0003_attachments",
        "step0004_reports",
        "step0005_report_dimensions",
        "step0006_report_indicators_v2",
    ]
    assert site.evolve_version == latest_version() == 6
    assert hasattr(site, "units") and "accounts" in site and "forms" in site
    assert "public-health-kpi" in site["reports"] and site["reports"].indicator_dicts()
    assert {d["name"] for d in site["reports"].dimension_dicts()} == {"sex", "age_band"}
    kpi = site["reports"]["public-health-kpi"].definition()
    assert kpi["disaggregations"] == ["sex", "age_band"]


def test_a_site_from_before_form_version_2_gets_the_new_rules_unless_changed():
    from reports import builtin

    site = Site()
    evolve(site)
    folder = site["reports"]
    old = {"early_registered": "${gest_weeks} < 13", "newborns_visited": None}
    edited = "${gest_weeks} < 12"  # an admin's own rule
    folder.set_indicators(
        [
            {**i, "filter": old.get(i["name"], i.get("filter"))}
            if i["name"] != "early_registered"
            else {**i, "filter": edited}
            for i in folder.indicator_dicts()
        ]
    )
    site.evolve_version = 5
    assert evolve(site) == ["step0006_report_indicators_v2"]
    by_name = {i["name"]: i for i in folder.indicator_dicts()}
    shipped = {i["name"]: i for i in builtin.INDICATORS}
    assert by_name["newborns_visited"]["filter"] == shipped["newborns_visited"]["filter"]
    assert by_name["early_registered"]["filter"] == edited
    assert len(site["attachments"]) == 0 and len(site["attachments"].pending) == 0
    assert evolve(site) == []


def test_a_site_made_before_attachments_gets_their_folder():
    site = Site()
    evolve(site)
    site.remove("attachments")
    site.evolve_version = 2
    assert evolve(site)[:2] == ["step0003_attachments", "step0004_reports"]
    assert "attachments" in site
