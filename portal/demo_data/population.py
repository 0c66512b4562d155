"""The demo data's synthetic residents: who lives at each unit, and their reference figures.

Each station and centre has `unit.population` residents aged 7 and over (Beijing's age and
sex mix) plus the children its women bore in the last seven years (the 0–6-year-olds). The
residents come in blocks of `BLOCK`, each made from its own seeded generator, so that any
block can be made again, alone, in any process: the generator makes the records of a
block's people, and `reference_values` counts the same people for the denominators.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Iterator

from portal.demo_data.synthetic import age_on, below, birth_date_for_age, years_after

# Residents aged 7 and over per block; a block's serial numbers are SPAN wide, the rest kept
# for the children born to its women.
BLOCK = 200
SPAN = 250
# Children are born to the population's women over this many years (the 0–6-year-olds).
HORIZON_YEARS = 7
# Management of hypertension and diabetes in the community began about then.
PROGRAMME_START = dt.date(2009, 1, 1)

# Ages (at today) of the residents aged 7 and over: (from, to, relative share). With the
# ~5% children born in the horizon this is Beijing's mix (census 2020, PRIMER): about 21%
# aged 60 and over, 14-15% aged 65 and over.
# fmt: off
AGE_BANDS = ((7, 17, 9), (18, 34, 22), (35, 49, 25), (50, 59, 16), (60, 64, 6),
             (65, 79, 10.5), (80, 99, 3.5))
# fmt: on
_AGE_TOTAL = sum(share for _low, _high, share in AGE_BANDS)
# A sex ratio of about 104 men to 100 women.
MALE_SHARE = 104 / 204
# Share of the patients who are managed in the community (a 管理率 of about two thirds).
MANAGED_SHARE = 0.65
# Pregnancies that end before a live birth, among those that reach a first check.
LOSS_SHARE = 0.04


def hypertension_chance(age: int) -> float:
    """Prevalence by age: about 27% of those aged 35 and over, rising with age."""
    return 0.0 if age < 35 else min(0.55, 0.06 + 0.0095 * (age - 35))


def diabetes_chance(age: int) -> float:
    """Prevalence by age: about 10% of those aged 35 and over."""
    return 0.0 if age < 35 else min(0.2, 0.03 + 0.0035 * (age - 35))


def fertility(age: int) -> float:
    """Chance of a pregnancy (ending in a birth) in a year, by the woman's age: about 7 births
    a year per 1 000 residents, Beijing's birth rate."""
    if 25 <= age <= 34:
        return 0.07
    if 20 <= age <= 24 or 35 <= age <= 39:
        return 0.03 if age < 25 else 0.035
    return 0.008 if 40 <= age <= 44 else 0.0


class Resident:
    """Who a resident is, as far as the numbers need: the rest (name, ID number, …) is made
    from the block's other generator when their records are."""

    __slots__ = (
        "serial",
        "sex",
        "birth",
        "hypertension",
        "diabetes",
        "htn_start",
        "dm_start",
        "pregnancies",
        "mother",
    )

    def __init__(self, serial: int, sex: str, birth: dt.date):
        self.serial = serial
        self.sex = sex
        self.birth = birth
        self.hypertension = self.diabetes = False
        self.htn_start: dt.date | None = None  # management start, if managed
        self.dm_start: dt.date | None = None
        # (last menstrual period, days to the birth or None for a loss, the child or None)
        self.pregnancies: list[tuple[dt.date, int | None, Resident | None]] = []
        self.mother: Resident | None = None


def _age(rng: random.Random) -> int:
    r = rng.random() * _AGE_TOTAL
    for low, high, share in AGE_BANDS:
        r -= share
        if r < 0:
            return low + below(rng, high - low + 1)
    return AGE_BANDS[-1][1]


def _start(rng: random.Random, birth: dt.date, today: dt.date) -> dt.date:
    """When management began: after the 35th birthday and the programme's start."""
    earliest = max(years_after(birth, 35), PROGRAMME_START)
    if earliest >= today:
        return today
    return earliest + dt.timedelta(days=below(rng, (today - earliest).days + 1))


def blocks(unit) -> Iterator[tuple[int, int]]:
    """(block number, residents aged 7 and over) of a unit's population; an empty block for
    a unit without residents (its own records come with its first block)."""
    if unit.population <= 0:
        yield 0, 0
    for number, first in enumerate(range(0, unit.population, BLOCK)):
        yield number, min(BLOCK, unit.population - first)


def block_residents(seed: int, code: str, number: int, size: int, today: dt.date, serial0: int = 0):
    """The block's residents aged 7 and over, then the children born to them; the same for
    the same arguments, whoever asks. Serial numbers (of the health record numbers) start
    after `serial0`, the unit's last one taken by an earlier run."""
    rng = random.Random(f"{seed}:people:{code}:{number}")
    first = serial0 + number * SPAN + 1
    people, children = [], []
    for i in range(size):
        age = _age(rng)
        sex = "1" if rng.random() < MALE_SHARE else "2"
        person = Resident(first + i, sex, birth_date_for_age(rng, age, today))
        if rng.random() < hypertension_chance(age):
            person.hypertension = True
            if rng.random() < MANAGED_SHARE:
                person.htn_start = _start(rng, person.birth, today)
        if rng.random() < diabetes_chance(age):
            person.diabetes = True
            if rng.random() < MANAGED_SHARE:
                person.dm_start = _start(rng, person.birth, today)
        if sex == "2" and age <= 44 + HORIZON_YEARS:
            _pregnancies(rng, person, today, children, first + size)
        people.append(person)
    return people + children


def _pregnancies(rng, woman: Resident, today: dt.date, children: list, serial0: int) -> None:
    # Year slots of the last menstrual period, oldest first, the newest ending today (its
    # pregnancies are going on, registered only if the first check is past); a pregnancy
    # comes at least 600 days after the one before (oldest first, so that the years near
    # today are not favoured: births and registrations keep the same rate).
    last = None
    for slot in range(HORIZON_YEARS, -1, -1):
        start = today - dt.timedelta(days=365 * (slot + 1))
        lmp = start + dt.timedelta(days=below(rng, 365))
        chance = fertility(age_on(woman.birth, lmp))
        if chance and rng.random() < chance and (last is None or (lmp - last).days >= 600):
            last = lmp
            if rng.random() < LOSS_SHARE:
                woman.pregnancies.append((lmp, None, None))
            else:
                days = int(min(294, max(245, rng.gauss(276, 8))))
                birth = lmp + dt.timedelta(days=days)
                child = None
                if birth <= today and len(children) < SPAN - BLOCK:
                    sex = "1" if rng.random() < 0.51 else "2"
                    child = Resident(serial0 + len(children), sex, birth)
                    child.mother = woman
                    children.append(child)
                woman.pregnancies.append((lmp, days, child))


# -- the denominators --------------------------------------------------------------------
KINDS = (
    "population",
    "population_65",
    "children_0_6",
    "live_births",
    "hypertension_est",
    "diabetes_est",
)


def own_counts(units: Iterable, years: Iterable[int], seed: int, *, today: dt.date) -> dict:
    """Per unit code and year, the figures of the unit's own residents (the same seed, units
    and today as the plan): 常住人口, 65岁及以上, 0–6岁儿童, 活产数 and the estimated
    hypertension and diabetes patients (those among the residents). Ages and residents are
    counted at the year's end (or today, for this year); live births are those of the year
    up to today."""
    years = sorted(set(years))
    own: dict[str, dict[int, dict[str, int]]] = {}
    for unit in units:
        counts = {year: dict.fromkeys(KINDS, 0) for year in years}
        for number, size in blocks(unit):
            residents = block_residents(seed, unit.code, number, size, today, unit.serial0)
            for person in residents:
                for year in years:
                    _count(counts[year], person, min(dt.date(year, 12, 31), today), year)
        own[unit.code] = counts
    return own


def subtree_figures(units: Iterable, own: dict) -> dict[tuple[str, int, str], int]:
    """What the residents add to each unit's figures, by (unit code, year, kind): a unit's
    figure covers its subtree, as a figure entered for a unit does (a centre's counts its
    stations' residents too, a district's all of its units', the city's everyone)."""
    added: dict[tuple[str, int, str], int] = {}
    for unit in units:
        above = unit.path.strip("/").split("/")
        for year, counts in own.get(unit.code, {}).items():
            for kind, value in counts.items():
                for code in above:
                    key = (code, year, kind)
                    added[key] = added.get(key, 0) + value
    return added


def _count(counts: dict[str, int], person: Resident, as_of: dt.date, year: int) -> None:
    if person.birth > as_of:
        return
    counts["population"] += 1
    age = age_on(person.birth, as_of)
    if age >= 65:
        counts["population_65"] += 1
    elif age <= 6:
        counts["children_0_6"] += 1
        if person.mother is not None and person.birth.year == year:
            counts["live_births"] += 1
    counts["hypertension_est"] += person.hypertension
    counts["diabetes_est"] += person.diabetes
