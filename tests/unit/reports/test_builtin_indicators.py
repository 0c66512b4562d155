"""The built-in indicators on a small fixture whose values are worked out by hand, and the
incremental contributions against the full recomputation."""

import datetime as dt

import pytest

from reports import builtin
from reports import indicators as ind

PATHS = {
    "110101001": "/110000/110101/110101001/",
    "110101001001": "/110000/110101/110101001/110101001001/",
    "110102001": "/110000/110102/110101001/",
}
CREATED = dt.datetime(2026, 11, 2, 3, 0)


@pytest.fixture(scope="module")
def catalogue():
    return ind.Catalogue(
        (ind.Indicator.from_dict(d) for d in builtin.INDICATORS),
        (ind.Dimension.from_dict(d) for d in builtin.DIMENSIONS),
    )


def record(n, form, org, period, status="submitted", **data):
    return ind.Record(f"r{n:03d}", form, org, period, status, CREATED, data, author="staff")


def htn(n, person, month, mode="1", sbp=130, dbp=80, age=60, status="1", org="110101001"):
    data = {"record_no": person, "visit_mode": mode, "visit_date": f"{month}-10"}
    data |= {"age": age, "mgmt_status": status}
    if sbp is not None:
        data |= {"sbp": sbp, "dbp": dbp}
    return record(n, "hypertension_followup", org, month, **data)


def fixture_records():
    rows = []
    # A: 4 face-to-face visits and a health check; latest reading 150/85 at 60: managed,
    # not controlled.
    for i, month in enumerate(["2026-02", "2026-05", "2026-08", "2026-11"]):
        rows.append(htn(i, "A", month, sbp=130 if month != "2026-11" else 150, dbp=85))
    rows.append(record(10, "health_check", "110101001", "2026-03", record_no="A", age=60))
    # B: 70 years old, 4 visits of which one by phone without readings (the latest);
    # the latest reading (145/85) is under 150/90: controlled, not managed (3 face to face).
    for i, month in enumerate(["2026-01", "2026-04", "2026-07"]):
        rows.append(htn(20 + i, "B", month, sbp=145, dbp=85, age=70))
    rows.append(htn(23, "B", "2026-10", mode="3", sbp=None, age=70))
    rows.append(record(24, "health_check", "110101001", "2026-06", record_no="B", age=70))
    # C: lost to follow-up (失访) on every visit: not under management at all.
    rows.append(htn(30, "C", "2026-03", status="2"))
    # D: a draft does not count; E: at the station, 4 visits + check, all controlled.
    draft = htn(40, "D", "2026-03")
    rows.append(ind.Record(**{**draft.__dict__, "status": "draft"}))
    for i, month in enumerate(["2026-01", "2026-02", "2026-03", "2026-04"]):
        rows.append(htn(50 + i, "E", month, org="110101001001"))
    rows.append(record(55, "health_check", "110101001001", "2026-05", record_no="E", age=66))
    # Early pregnancy: one registered at 10 weeks, one at 14.
    rows.append(record(60, "prenatal_first", "110101001", "2026-04", record_no="P", gest_weeks=10))
    rows.append(record(61, "prenatal_first", "110101001", "2026-04", record_no="Q", gest_weeks=14))
    # A newborn visited twice counts once.
    rows.append(record(70, "newborn_visit", "110101001", "2026-05", record_no="N"))
    rows.append(record(71, "newborn_visit", "110101001", "2026-06", record_no="N"))
    # Records held: two personal_info records (no period: counted by the day made).
    rows.append(record(80, "personal_info", "110101001", None, record_no="A"))
    rows.append(record(81, "personal_info", "110101001", None, record_no="B"))
    # Baseline: two institutions' staff.
    rows.append(record(90, "baseline_institution", "110101001", "2026", staff_total=40))
    rows.append(record(91, "baseline_institution", "110101001001", "2026", staff_total=8))
    # Diabetes: latest fasting glucose 6.5 → controlled; earlier 8.0 does not matter.
    rows.append(
        record(
            95,
            "diabetes_followup",
            "110101001",
            "2026-02",
            record_no="G",
            visit_mode="1",
            visit_date="2026-02-01",
            fbg=8.0,
        )
    )
    rows.append(
        record(
            96,
            "diabetes_followup",
            "110101001",
            "2026-09",
            record_no="G",
            visit_mode="1",
            visit_date="2026-09-01",
            fbg=6.5,
        )
    )
    return rows


def test_every_built_in_indicator_against_the_hand_worked_values(catalogue):
    got = ind.recompute(catalogue, fixture_records(), PATHS)

    def n(org, key, period="2026"):
        return got.get((org, period, key), (0, 0.0))[0]

    district, centre, station = "110101", "110101001", "110101001001"
    assert n(centre, "htn_patients") == 3  # A, B, E (C lost, D a draft)
    assert n(centre, "htn_managed_persons") == 2  # A and E
    assert n(centre, "htn_controlled_persons") == 2  # B (65+ at 145/85) and E
    assert n(station, "htn_patients") == 1
    assert n(district, "htn_managed_persons") == 2
    assert n(centre, "early_registered") == 1
    assert n(centre, "newborns_visited") == 1
    assert n(centre, "elderly_checked") == 2  # B (70) and E (66)
    assert n(centre, "dm_patients") == n(centre, "dm_controlled_persons") == 1
    assert n(centre, "dm_managed_persons") == 0
    assert n(centre, "records_held", "2026-11") == 2  # made on 2 November (Beijing)
    assert got[(centre, "2026", "baseline_staff_total")] == (2, 48.0)
    assert n(centre, "form:hypertension_followup") == 13  # A 4, B 4, C 1, E 4: not the draft
    assert n(centre, "form:hypertension_followup", "2026-Q1") == 6  # A 1, B 1, C 1, E 3
    assert n(centre, "units:hypertension_followup") == 2  # the centre and the station
    assert n(centre, "authors") == 2  # "staff" at each of the two units
    # In a quarter nobody has 4 visits; the latest reading of the quarter counts.
    assert n(centre, "htn_managed_persons", "2026-Q1") == 0
    assert n(centre, "htn_controlled_persons", "2026-Q1") == 3


def test_contributions_added_one_record_at_a_time_equal_the_full_recomputation(catalogue):
    records = fixture_records()
    kept: ind.Aggregates = {}
    facts: dict[str, list] = {}
    for rec in records:
        fact = catalogue.fact(rec)
        if fact is None:
            continue
        ind.spread(kept, PATHS[rec.org_code], ind.record_cells(catalogue, fact))
        for name_of, cells_of in ind.ENTITIES.values():
            entity = name_of(fact)
            if entity is None:
                continue
            before = facts.get(entity, [])
            after = [*before, fact]
            buckets = set(ind.periods.enclosing(fact.period))
            ind.spread(kept, PATHS[rec.org_code], cells_of(catalogue, before, buckets), -1)
            ind.spread(kept, PATHS[rec.org_code], cells_of(catalogue, after, buckets))
            facts[entity] = after
    kept = {k: v for k, v in kept.items() if v != (0, 0.0)}
    assert kept == ind.recompute(catalogue, records, PATHS)


def test_a_bad_definition_is_refused_with_its_name():
    with pytest.raises(ind.IndicatorError, match="broken"):
        ind.Catalogue([ind.Indicator("broken", "count", forms=("x",), filter="${a} >")])
    with pytest.raises(ind.IndicatorError, match="no indicator named 'missing'"):
        ind.validate([ind.Indicator("r", "ratio", numerator="missing", denominator="missing")])


def test_disaggregation_by_sex_and_age_band(catalogue):
    rows = [
        # Made 2026-11-02: A is 76, B 26; C recorded neither sex nor birth date.
        record(
            1, "personal_info", "110101001", None, record_no="A", sex="1", birth_date="1950-01-01"
        ),
        record(
            2, "personal_info", "110101001", None, record_no="B", sex="2", birth_date="2000-06-01"
        ),
        record(3, "personal_info", "110101001", None, record_no="C"),
        htn(4, "A", "2026-02", age=76),
        htn(5, "A", "2026-05", age=77),
        htn(6, "B", "2026-03", age=25),
        # D turned 65 between two follow-ups: the later one counts.
        htn(7, "D", "2026-01", age=64),
        htn(8, "D", "2026-09", age=65),
    ]
    got = ind.recompute(catalogue, rows, PATHS)

    def n(bucket: str, key: str, code: str = "110101001") -> int:
        return got.get((code, bucket, key), (0, 0.0))[0]

    for dimension, expected in {
        "sex": {"1": 1, "2": 1, "": 1},
        "age_band": {"65+": 1, "18-34": 1, "": 1},
    }.items():
        for category, count in expected.items():
            assert n("2026", f"records_held~{dimension}:{category}") == count
        # The categories add up to the whole, here and up the tree.
        assert (
            sum(expected.values())
            == n("2026", "records_held")
            == n("2026", "records_held", "110000")
        )
    # A person's category is that of their latest record in the period that has one.
    assert n("2026", "htn_patients~age_band:65+") == 2  # A and D
    assert n("2026", "htn_patients~age_band:18-34") == 1  # B
    assert n("2026-Q1", "htn_patients~age_band:35-64") == 1  # D, in the first quarter
    assert n("2026", "htn_patients~age_band:35-64") == 0
    # Sex comes from any of the person's records in the period: their personal_info.
    assert n("2026", "htn_patients~sex:1") == 1 and n("2026", "htn_patients~sex:2") == 1
    # In a month without it, it is unknown.
    assert n("2026-02", "htn_patients~sex:") == 1 and n("2026-02", "htn_patients~sex:1") == 0
    assert n("2026", "htn_patients~sex:") == 1  # D has no personal_info
    assert n("2026", "htn_patients") == 3


def test_a_dimension_that_is_not_defined_is_refused():
    with pytest.raises(ind.IndicatorError, match="no dimension named 'colour'"):
        ind.Catalogue([ind.Indicator("x", "count", forms=("f",), by=("colour",))])


def test_age_bands_from_an_age_or_a_birth_date():
    age_band = ind.Dimension.from_dict(
        next(d for d in builtin.DIMENSIONS if d["name"] == "age_band")
    )
    made = dt.date(2026, 11, 2)
    assert age_band.category({"age": 6}, made) == "0-6"
    assert age_band.category({"age": "7"}, made) == "7-17"
    assert age_band.category({"age": 65}, made) == "65+"
    assert age_band.category({"birth_date": "1961-11-03"}, made) == "35-64"  # 64 until tomorrow
    assert age_band.category({"birth_date": "1961-11-02"}, made) == "65+"
    assert age_band.category({"birth_date": "2030-01-01"}, made) == ""
    assert age_band.category({"age": "abc"}, made) == ""


def test_the_version_2_fields_decide_who_counts(catalogue):
    """Each rule that the forms' second versions make computable, with a person it takes
    and one it refuses; worked out by hand."""
    at = "110101001"
    rows = [
        # 65+ threshold: 145/85 is on target at 70 and at 65, not at 64 or 50.
        htn(1, "H70", "2026-03", sbp=145, dbp=85, age=70),
        htn(2, "H65", "2026-03", sbp=145, dbp=85, age=65),
        htn(3, "H64", "2026-03", sbp=145, dbp=85, age=64),
        htn(4, "H50", "2026-03", sbp=145, dbp=85, age=50),
        # Management status: died in September after visits in care: a patient of the year,
        # not of the fourth quarter; moved away all year: not a patient.
        htn(5, "HD", "2026-02"),
        htn(6, "HD", "2026-10", status="3"),
        htn(7, "HM", "2026-02", status="4"),
        # Phone visits are not face to face: 3 face to face + 3 by phone + a check is not
        # managed to standard.
        *(htn(10 + i, "HP", m) for i, m in enumerate(["2026-01", "2026-02", "2026-03"])),
        *(
            htn(20 + i, "HP", m, mode="3", sbp=None)
            for i, m in enumerate(["2026-04", "2026-05", "2026-06"])
        ),
        record(29, "health_check", at, "2026-05", record_no="HP", age=60),
        # Early pregnancy, counted from the LMP when known: 90 days (12 weeks 6 days) is
        # early, 91 days is not even when 12 weeks were recorded; 不详 takes the weeks.
        record(
            30,
            "prenatal_first",
            at,
            "2026-04",
            record_no="P90",
            visit_date="2026-04-10",
            lmp="2026-01-10",
            gest_weeks=12,
        ),
        record(
            31,
            "prenatal_first",
            at,
            "2026-04",
            record_no="P91",
            visit_date="2026-04-10",
            lmp="2026-01-09",
            gest_weeks=12,
        ),
        record(
            32,
            "prenatal_first",
            at,
            "2026-04",
            record_no="PU12",
            visit_date="2026-04-10",
            lmp_known="2",
            gest_weeks=12,
        ),
        record(
            33,
            "prenatal_first",
            at,
            "2026-04",
            record_no="PU13",
            visit_date="2026-04-10",
            lmp_known="2",
            gest_weeks=13,
        ),
        # Newborns: visited 7 days after discharge counts, 8 days does not; a version-1 visit
        # without a discharge date counts as before; a late and an in-time visit count once.
        record(
            40,
            "newborn_visit",
            at,
            "2026-05",
            record_no="N7",
            visit_date="2026-05-17",
            discharge_date="2026-05-10",
        ),
        record(
            41,
            "newborn_visit",
            at,
            "2026-05",
            record_no="N8",
            visit_date="2026-05-18",
            discharge_date="2026-05-10",
        ),
        record(42, "newborn_visit", at, "2026-05", record_no="NV1", visit_date="2026-05-18"),
        record(
            43,
            "newborn_visit",
            at,
            "2026-05",
            record_no="N2",
            visit_date="2026-05-12",
            discharge_date="2026-05-10",
        ),
        record(
            44,
            "newborn_visit",
            at,
            "2026-05",
            record_no="N2",
            visit_date="2026-05-30",
            discharge_date="2026-05-10",
        ),
    ]
    got = ind.recompute(catalogue, rows, PATHS)

    def n(key, period="2026"):
        return got.get((at, period, key), (0, 0.0))[0]

    assert n("htn_controlled_persons") == 4  # H70, H65, HD and HP (130/80); not H64, H50
    assert n("htn_patients") == 6  # H70, H65, H64, H50, HD (once) and HP; not HM
    assert n("htn_patients", "2026-Q4") == 0  # HD died: its Q4 visit is not in care
    assert n("htn_managed_persons") == 0  # HP: 3 face to face only
    assert n("early_registered") == 2  # P90 and PU12
    assert n("newborns_visited") == 3  # N7, NV1 and N2
