"""Demo data: every generated record is what the server would store for it, the values are
plausible, the records respect levels, periods and scope, and a seed reproduces them."""

import collections
import datetime as dt
import json
import random
import re
import statistics

import pytest

from forms.identifiers import normalise_phone, parse_resident_id
from forms.model import Field, Text
from portal.demo import load_demo_tree, load_divisions
from portal.demo_data import (
    CHUNK,
    SAMPLE_EVERY,
    DemoDataError,
    Generator,
    batches,
    make_plan,
    population,
)
from portal.demo_data import generate as generate_module
from portal.demo_data.generate import _uuid
from portal.demo_data.records import BUILDERS
from portal.demo_data.synthetic import age_on, bmi, half_up
from portal.evolve import evolve
from portal.resources import Site
from portal.services import forms as form_service

TODAY = dt.date(2026, 11, 28)
NOW = dt.datetime(2026, 11, 28, 4, 0)  # UTC: noon in Beijing
# The date field each form's record is about: it must lie in the record's period.
EVENT_DATE = {
    "hypertension_followup": "visit_date",
    "diabetes_followup": "visit_date",
    "health_check": "check_date",
    "personal_info": "record_date",
    "elderly_selfcare": "assess_date",
    "immunization_card": None,  # the card is older
    "infectious_disease_report": "report_date",
    "newborn_visit": "visit_date",
    "prenatal_first": "visit_date",
    "health_education_activity": "activity_date",
    "referral_slip": "referral_date",
    "rehabilitation_record": "service_date",
    "family_planning_service": "service_date",
    "baseline_institution": "fill_date",
    "baseline_household": "interview_date",
}


def demo_site() -> Site:
    """The demo tree with the shipped forms published (no accounts: they are not needed)."""
    site = Site()
    evolve(site)
    load_divisions(site)
    load_demo_tree(site)
    form_service.load_shipped_forms(site)
    return site


@pytest.fixture(scope="module")
def site():
    return demo_site()


@pytest.fixture(scope="module")
def rows(site):
    """12 000 rows as `portal demo-data` makes them."""
    plan = make_plan(site, 12_000, seed=11, today=TODAY, now=NOW)
    return [row for batch in batches(plan) for row in batch]


def data_of(rows, form):
    return [json.loads(r["data"]) for r in rows if r["form_name"] == form]


# -- valid as stored -------------------------------------------------------------------------
@pytest.mark.parametrize("today", [TODAY, dt.date(2028, 2, 29), dt.date(2027, 1, 1)])
def test_every_form_s_records_validate_and_are_stored_as_the_server_stores_them(
    site, today, monkeypatch
):
    """Every record of a run, of every shipped form, validated by the form's FormValidator
    and compared, as JSON text, with what the generator stores (a run checks one in
    SAMPLE_EVERY; here every one)."""
    monkeypatch.setattr(generate_module, "SAMPLE_EVERY", 1)
    plan = make_plan(site, 3000, seed=today.toordinal(), today=today, now=NOW)
    assert sorted(spec.name for spec in plan.forms) == sorted(BUILDERS)
    assert plan.skipped == {}
    generator = Generator(plan)
    rows = [row for index, blocks in plan.chunks for row in generator.chunk(index, blocks)]
    assert generator.samples == len(rows)  # each one checked (DemoDataError if not valid)
    per_form = collections.Counter(r["form_name"] for r in rows)
    assert set(per_form) == set(BUILDERS)
    assert per_form["hypertension_followup"] > 100 and per_form["prenatal_first"] >= 1


def test_a_run_checks_a_sample_and_stops_at_a_bad_record(site, monkeypatch):
    plan = make_plan(site, 4 * CHUNK, seed=3, today=TODAY, now=NOW)
    generator = Generator(plan)
    first = generator.chunk(*plan.chunks[0])
    # The first record of each form in a chunk and one in SAMPLE_EVERY are checked.
    assert len(plan.forms) <= generator.samples <= len(plan.forms) + len(first) // SAMPLE_EVERY

    original = BUILDERS["elderly_selfcare"]

    def broken(visit):
        record = original(visit)
        record["total_score"] = 99  # a calculation the server would recompute
        return record

    monkeypatch.setitem(BUILDERS, "elderly_selfcare", broken)
    with pytest.raises(
        DemoDataError,
        match="elderly_selfcare v1: the server would store other values for total_score",
    ):
        generator.chunk(*plan.chunks[1])


def test_calculations_match_the_form_expressions():
    # round() in the expression language rounds half away from zero on the shortest decimal.
    assert half_up(24.25, 1) == 24.3 and half_up(2.675, 2) == 2.68 and half_up(25.0, 1) == 25
    assert isinstance(bmi(72.0, 120.0), int) and bmi(72.0, 120.0) == 50
    assert bmi(68.6, 165.3) == 25.1


def test_generated_uuids_are_version_4():
    import uuid

    rng = random.Random(1)
    for _ in range(100):
        value = uuid.UUID(_uuid(rng))
        assert value.version == 4 and value.variant == uuid.RFC_4122


# -- plausible -------------------------------------------------------------------------------
def test_blood_pressure_bmi_and_glucose_look_like_the_patients(rows):
    followups = data_of(rows, "hypertension_followup")
    assert len(followups) > 1500
    # Phone visits (mode 3) have no readings, face-to-face ones always have them.
    by_phone = [d for d in followups if d["visit_mode"] == "3"]
    assert 0.03 * len(followups) < len(by_phone) < 0.3 * len(followups)
    assert not any("sbp" in d or "weight" in d or d.get("visit_class") == "1" for d in by_phone)
    hypertension = [d for d in followups if d["visit_mode"] != "3"]
    assert all("sbp" in d and "dbp" in d for d in hypertension)
    # 控制满意 only under target: below 140/90, or 150/90 from 65 on.
    for d in hypertension:
        if d.get("visit_class") == "1":
            assert d["dbp"] < 90 and d["sbp"] < (150 if d["age"] >= 65 else 140)
        elif d.get("visit_class") == "2":
            assert d["dbp"] >= 90 or d["sbp"] >= (150 if d["age"] >= 65 else 140)
    sbp = [d["sbp"] for d in hypertension]
    dbp = [d["dbp"] for d in hypertension]
    assert 130 <= statistics.mean(sbp) <= 142 and 10 <= statistics.stdev(sbp) <= 20
    assert 78 <= statistics.mean(dbp) <= 90
    assert all(d < s for s, d in zip(sbp, dbp, strict=True))
    controlled = sum(d["visit_class"] == "1" for d in hypertension) / len(hypertension)
    assert 0.3 <= controlled <= 0.7
    with_bmi = [d for d in hypertension if "bmi" in d]
    assert 24 <= statistics.mean(d["bmi"] for d in with_bmi) <= 27.5
    # A patient comes back: several follow-ups per health record number.
    visits = collections.Counter(d["record_no"] for d in hypertension)
    assert statistics.mean(visits.values()) > 1.5

    diabetes = [d for d in data_of(rows, "diabetes_followup") if d["visit_mode"] != "3"]
    assert 6.5 <= statistics.mean(d["fbg"] for d in diabetes) <= 9.0
    elderly = data_of(rows, "elderly_selfcare")
    bands = collections.Counter(d["band"] for d in elderly)
    assert bands["1"] > 0.6 * len(elderly) and bands["4"] < 0.1 * len(elderly)


def test_people_have_consistent_ids_ages_and_phones(rows):
    checked = 0
    for form, sex_key, birth_key in [
        ("personal_info", "sex", "birth_date"),
        ("family_planning_service", "sex", "birth_date"),
        ("infectious_disease_report", "sex", "birth_date"),
    ]:
        for d in data_of(rows, form):
            if "id_number" not in d:
                continue
            person = parse_resident_id(d["id_number"], TODAY)
            assert person.birth_date.isoformat() == d[birth_key]
            assert person.sex == {"1": "male", "2": "female"}[d[sex_key]]
            checked += 1
    for d in data_of(rows, "referral_slip"):  # no birth date field: the age must agree
        if "id_number" in d:
            birth = parse_resident_id(d["id_number"], TODAY).birth_date
            assert d["age"] <= age_on(birth, TODAY) <= d["age"] + 2  # records of 24 months
    assert checked > 300
    phones = [d["phone"] for d in data_of(rows, "personal_info")]
    assert all(normalise_phone(p) == p for p in phones)
    mobiles = [p for p in phones if "-" not in p]
    assert len(mobiles) > 0.8 * len(phones)
    assert all(re.fullmatch(r"1[3-9]\d{9}", p) for p in mobiles)
    ages = [d["age"] for d in data_of(rows, "health_check")]
    assert min(ages) >= 18 and max(ages) <= 100
    assert sum(a >= 65 for a in ages) > 0.4 * len(ages)  # check-ups are mostly the elderly's


def test_newborns_are_visited_in_their_first_month_and_pregnancies_dated(rows):
    newborns = data_of(rows, "newborn_visit")
    assert newborns
    within_a_week = 0
    for d in newborns:
        visit = dt.date.fromisoformat(d["visit_date"])
        age = visit - dt.date.fromisoformat(d["birth_date"])
        assert 0 <= age.days <= 28
        after = (visit - dt.date.fromisoformat(d["discharge_date"])).days
        assert 0 < after <= 14
        within_a_week += after <= 7
    assert within_a_week >= 0.8 * len(newborns)  # 规范: within 7 days of discharge
    pregnancies = data_of(rows, "prenatal_first")
    assert pregnancies
    for d in pregnancies:
        if d["lmp_known"] == "2":  # 不详: 孕周 from the ultrasound, no LMP
            assert "lmp" not in d
            continue
        lmp = dt.date.fromisoformat(d["lmp"])
        assert dt.date.fromisoformat(d["edd"]) - lmp == dt.timedelta(days=280)
        assert (dt.date.fromisoformat(d["visit_date"]) - lmp).days // 7 == d["gest_weeks"]
    early = sum(d["gest_weeks"] < 13 for d in pregnancies)
    assert early >= 0.75 * len(pregnancies)  # registered before 13 weeks, most of them


def test_busier_units_and_months(site, rows):
    per_unit = collections.Counter(r["org_code"] for r in rows)
    types = {u.code: u.type for u in site.units.values()}
    centres = [n for code, n in per_unit.items() if types[code] == "centre"]
    stations = [n for code, n in per_unit.items() if types[code] == "station"]
    assert statistics.mean(centres) > 1.5 * statistics.mean(stations)
    chaoyang = sum(n for code, n in per_unit.items() if code.startswith("110105"))
    yanqing = sum(n for code, n in per_unit.items() if code.startswith("110119"))
    assert chaoyang > 4 * yanqing  # 3.45 million residents against 0.35 million
    months = collections.Counter(
        r["period"][5:] for r in rows if r["period"] and len(r["period"]) == 7
    )
    assert months["02"] < 0.85 * months["03"]  # the Spring Festival


# -- levels, periods, scope, determinism -----------------------------------------------------
def test_records_respect_levels_periods_and_dates(site, rows):
    levels = {name: form.latest.definition().levels for name, form in site["forms"].items()}
    first_month = "2024-12"
    for row in rows:
        unit = site.unit_by_code(row["org_code"])
        assert unit.type in levels[row["form_name"]] and unit.active
        assert row["org_path"] == unit.path
        assert row["author"] == "demo-data" and row["status"] == "submitted"
        assert row["created"] <= NOW.isoformat(" ", "microseconds")
        data = json.loads(row["data"])
        period = row["period"]
        if row["form_name"] == "immunization_card":
            assert period is None and data["card_date"] <= TODAY.isoformat()
            assert all(dose["dose_date"] <= TODAY.isoformat() for dose in data.get("doses", ()))
            continue
        day = data[EVENT_DATE[row["form_name"]]]
        assert day <= TODAY.isoformat()
        if row["form_name"] == "personal_info":
            # A resident's record was made whenever they were registered, often long ago.
            assert period is None and data["birth_date"] <= day
        elif row["form_name"].startswith("baseline_"):
            assert period == day[:4]
        else:
            assert first_month <= day[:7] and period == day[:7]
    assert len({r["client_id"] for r in rows}) == len({r["id"] for r in rows}) == len(rows)


def test_org_limits_the_units_and_months_the_window(site):
    plan = make_plan(site, 500, seed=2, today=TODAY, now=NOW, org="110101", months=3)
    rows = [row for batch in batches(plan) for row in batch]
    assert rows and all(r["org_path"].startswith("/110000/110101/") for r in rows)
    assert {r["period"] for r in rows} - {None, "2026"} <= {"2026-09", "2026-10", "2026-11"}
    with pytest.raises(DemoDataError, match="no organisation unit with code 999"):
        make_plan(site, 10, org="999")


def test_a_seed_reproduces_the_records_with_or_without_workers(site, monkeypatch):
    monkeypatch.setattr(generate_module, "CHUNK", 400)  # a few chunks, quickly
    plan = make_plan(site, 1000, seed=99, today=TODAY, now=NOW)
    assert len(plan.chunks) >= 3
    alone = [row for batch in batches(plan) for row in batch]
    assert alone == [row for batch in batches(plan) for row in batch]
    assert alone == [row for batch in batches(plan, workers=2) for row in batch]
    other = make_plan(site, 1000, seed=100, today=TODAY, now=NOW)
    assert [r["data"] for r in next(iter(batches(other)))] != [r["data"] for r in alone[:400]]


# -- forms that cannot be filled ------------------------------------------------------------
def test_forms_without_a_builder_or_changed_since_are_left_out(monkeypatch):
    site = demo_site()
    hypertension = site["forms"]["hypertension_followup"]
    changed = hypertension.latest.definition()
    changed.fields.append(Field("smoker_since", "date", label=Text("吸烟起始"), required=True))
    form_service.save_draft(site, changed)
    form_service.publish(hypertension, "admin")
    custom = hypertension.latest.definition()
    custom.name = "custom_form"
    form_service.save_draft(site, custom)
    form_service.publish(site["forms"]["custom_form"], "admin")

    plan = make_plan(site, 1000, seed=4, today=TODAY, now=NOW)
    assert plan.skipped["custom_form"] == "no demo data builder for this form"
    assert "smoker_since" in plan.skipped["hypertension_followup"]
    assert "hypertension_followup" not in {spec.name for spec in plan.forms}
    assert len(plan.forms) == len(BUILDERS) - 1

    monkeypatch.setattr(generate_module, "BUILDERS", {})
    with pytest.raises(DemoDataError, match="no published form"):
        make_plan(site, 100, seed=4)


# -- a population ----------------------------------------------------------------------------
def test_every_person_has_one_personal_info_and_every_record_links_to_it(rows):
    """The person-link rules (portal/services/person_links.py) hold for a whole run: one
    personal_info per health record number and unit; every other record that names a record
    number names one of its unit's personal_info records."""
    registered = collections.Counter(
        (r["org_code"], json.loads(r["data"])["record_no"])
        for r in rows
        if r["form_name"] == "personal_info"
    )
    assert len(registered) > 1000
    assert max(registered.values()) == 1
    linked = 0
    for row in rows:
        data = json.loads(row["data"])
        if row["form_name"] != "personal_info" and "record_no" in data:
            assert (row["org_code"], data["record_no"]) in registered, row["form_name"]
            linked += 1
    assert linked > 2000
    for _code, number in registered:
        assert re.fullmatch(r"\d{17}", number)  # 6 county, 3 street, 3 committee, 5 serial
    # One institution questionnaire per unit and survey year.
    surveys = collections.Counter(
        (r["org_code"], r["period"]) for r in rows if r["form_name"] == "baseline_institution"
    )
    assert surveys and max(surveys.values()) == 1
    units = {r["org_code"] for r in rows}
    assert {code for code, _year in surveys} == units
    assert {year for _code, year in surveys} == {"2024", "2025", "2026"}


def test_the_population_has_beijing_s_age_and_sex_mix():
    residents = [
        person
        for number in range(60)
        for person in population.block_residents(7, "110101001", number, 200, TODAY)
    ]
    ages = [age_on(p.birth, TODAY) for p in residents]
    share = lambda test: sum(map(test, ages)) / len(ages)  # noqa: E731
    print(f"60+ {share(lambda a: a >= 60):.1%}, 65+ {share(lambda a: a >= 65):.1%}")
    assert 0.19 <= share(lambda a: a >= 60) <= 0.23  # PRIMER: about 21%
    assert 0.13 <= share(lambda a: a >= 65) <= 0.16  # and 14-15%
    assert 0.03 <= share(lambda a: a <= 6) <= 0.08
    men = sum(p.sex == "1" for p in residents)
    assert 1.0 <= men / (len(residents) - men) <= 1.09  # about 104 men to 100 women
    # Patients by age: none under 35, hypertension far commoner with age.
    hypertension = [p for p, a in zip(residents, ages, strict=True) if p.hypertension]
    assert hypertension and min(age_on(p.birth, TODAY) for p in hypertension) >= 35
    old = [p for p, a in zip(residents, ages, strict=True) if a >= 65]
    middle = [p for p, a in zip(residents, ages, strict=True) if 35 <= a < 50]
    rate = lambda group: sum(p.hypertension for p in group) / len(group)  # noqa: E731
    assert rate(old) > 2 * rate(middle) and 0.25 <= rate(old) <= 0.6


def test_reference_figures_count_the_people_the_records_are_for(site, rows):
    plan = make_plan(site, 12_000, seed=11, today=TODAY, now=NOW)
    own = population.own_counts(plan.units, plan.years, plan.seed, today=TODAY)
    records = collections.Counter(r["org_code"] for r in rows if r["form_name"] == "personal_info")
    for unit in plan.units:
        # Everyone living there today has their one personal_info record.
        assert own[unit.code][2026]["population"] == records[unit.code]
    added = population.subtree_figures(plan.units, own)
    city = {kind: added[("110000", 2026, kind)] for kind in population.KINDS}
    assert city["population"] == sum(records.values())
    assert 0.13 <= city["population_65"] / city["population"] <= 0.17
    assert 0 < city["live_births"] < 0.015 * city["population"]
    centre = "110101001"
    stations = [u.code for u in plan.units if u.code.startswith(centre)]
    assert len(stations) > 1  # the centre and its stations: the centre's figure covers them
    assert added[(centre, 2025, "population")] == sum(
        own[code][2025]["population"] for code in stations
    )


def test_services_keep_the_standard_s_schedules(rows):
    # Follow-ups about quarterly: a patient's visits a median two to three months apart.
    visits = collections.defaultdict(list)
    for d in data_of(rows, "hypertension_followup"):
        visits[d["record_no"]].append(dt.date.fromisoformat(d["visit_date"]))
        assert d["mgmt_start_date"] <= d["visit_date"] and d["mgmt_status"] in "1234"
    gaps = [
        (b - a).days
        for days in visits.values()
        for a, b in zip(sorted(days), sorted(days)[1:], strict=False)
    ]
    assert 55 <= statistics.median(gaps) <= 95
    modes = collections.Counter(
        d["visit_mode"] for d in data_of(rows, "hypertension_followup")
    )  # 1 clinic, 2 home, 3 phone: mostly face to face
    assert modes["1"] + modes["2"] > 0.75 * sum(modes.values())
    # Infectious disease cards: mostly filed within 24 hours of the diagnosis.
    cards = data_of(rows, "infectious_disease_report")
    assert cards
    delays = [
        dt.datetime.fromisoformat(d["report_time"]) - dt.datetime.fromisoformat(d["diagnosis_time"])
        for d in cards
    ]
    assert all(delay >= dt.timedelta(0) for delay in delays)
    assert sum(delay <= dt.timedelta(hours=24) for delay in delays) >= 0.8 * len(cards)
    # Health checks: the 65+ items for those 65 and over.
    checks = data_of(rows, "health_check")
    assert sum(d["age"] >= 65 for d in checks) > 0.4 * len(checks)
    assert all(d["sex"] in ("1", "2") for d in checks)


def test_a_small_run_makes_people_not_questionnaires(site):
    plan = make_plan(site, 400, seed=5, today=TODAY, now=NOW)  # 96 units, 3 survey years
    assert "baseline_institution" in plan.skipped
    rows = [row for batch in batches(plan) for row in batch]
    assert 300 <= len(rows) <= 500
    assert not any(r["form_name"] == "baseline_institution" for r in rows)
    assert sum(r["form_name"] == "personal_info" for r in rows) > 50
    bigger = make_plan(site, 1000, seed=5, today=TODAY, now=NOW)
    assert "baseline_institution" not in bigger.skipped
