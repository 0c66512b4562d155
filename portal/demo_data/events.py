"""What happens to the demo residents in the window: the dated services, by the standard's
schedules (规范 v3): quarterly chronic follow-ups, yearly check-ups, the first prenatal check
before 13 weeks, the newborn visit within a week of discharge, and the rest at plausible
rates. Each event is (form name, day, details); the builders in `records` make the record.
"""

from __future__ import annotations

import datetime as dt
import random

from portal.demo_data.synthetic import age_on, below, normal_int, pick, randint

Event = tuple[str, dt.date, dict]

# 此次随访 every three months when controlled (规范: within 2 weeks when not, half of the
# time here); some patients come less often.
REGULAR_SHARE = 0.9
REGULAR_DAYS = (60, 84)
IRREGULAR_DAYS = (100, 200)
RECALL_SHARE = 0.5
RECALL_DAYS = (10, 14)
# Visits by phone (no readings), for regular and irregular patients.
PHONE_SHARE = (0.08, 0.25)
# A patient's chance of readings under target at a visit: how many patients have which.
CONTROL = {0.9: 35, 0.55: 30, 0.2: 35}
# Chance a year that a managed patient leaves management (失访, 死亡, 迁出).
LEAVING_PER_YEAR = 0.025
# Yearly check-up (健康体检): managed patients, residents aged 65 and over, other adults.
CHECK_UP_SHARE = (0.93, 0.65, 0.05)
SELFCARE_SHARE = 0.85  # of the 65+ check-ups, with a 生活自理能力评估
# First prenatal checks: before 13 weeks, later, none in the community.
PRENATAL = {"early": 92, "late": 6, "none": 2}
LMP_KNOWN_SHARE = 0.95
# Newborn home visit: within 7 days of discharge, 8-14 days, none.
NEWBORN_VISIT = {"week": 90, "later": 7, "none": 3}
IMMUNISATION_CARD_SHARE = 0.97
# Infectious disease cards per person and year (children, adults); reported after the
# diagnosis within 2 hours, within 24 hours, later.
INFECTIOUS_PER_YEAR = (0.04, 0.01)
REPORT_DELAY = {"2h": 30, "24h": 62, "late": 8}
# Referrals per person and year: managed patients, 65 and over, other adults.
REFERRAL_PER_YEAR = (0.06, 0.02, 0.005)
# A rehabilitation episode in the window: aged 50 and over, other adults.
REHABILITATION = (0.006, 0.0015)
FAMILY_PLANNING_PER_YEAR = (0.06, 0.005)  # women, men aged 20-49
# Unit-level records: education activities a month and surveyed households a survey year,
# per resident.
EDUCATION_PER_RESIDENT_MONTH = 1 / 2500
HOUSEHOLDS_PER_RESIDENT_YEAR = 0.004

# fmt: off
CHECK_UP_MONTHS = {1: 0.6, 2: 0.5, 3: 1.0, 4: 1.5, 5: 1.6, 6: 1.4, 7: 1.0, 8: 0.9, 9: 1.2,
                   10: 1.1, 11: 1.0, 12: 0.8}
INFECTIOUS_MONTHS = {1: 2.0, 2: 1.4, 3: 1.3, 4: 1.0, 5: 1.0, 6: 1.2, 7: 1.4, 8: 1.3, 9: 1.0,
                     10: 1.0, 11: 1.1, 12: 1.8}
SURVEY_MONTHS = (6, 7, 8, 9)
# fmt: on


class Window:
    """The months records are made for: first day to today."""

    __slots__ = ("first", "today", "years")

    def __init__(self, first: dt.date, today: dt.date):
        self.first = first
        self.today = today
        self.years = list(range(first.year, today.year + 1))

    def __contains__(self, day: dt.date) -> bool:
        return self.first <= day <= self.today


def workday(rng: random.Random, day: dt.date) -> dt.date:
    """Most appointments falling on a weekend move to the Monday."""
    weekday = day.weekday()
    if weekday >= 5 and rng.random() < 0.8:
        return day + dt.timedelta(days=7 - weekday)
    return day


def _festival(rng: random.Random, day: dt.date) -> dt.date:
    """Around the Spring Festival a third of the visits are put off by two or three weeks."""
    if day.month == 2 and day.day <= 20 and rng.random() < 0.35:
        return day + dt.timedelta(days=randint(rng, 14, 24))
    return day


def _day_in_year(rng: random.Random, year: int, months: dict[int, float]) -> dt.date:
    month = pick(rng, months)
    days = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return workday(rng, dt.date(year, month, 1 + below(rng, days)))


def _in_years(rng, window: Window, per_year: float):
    """The years (of the window) in which something happening `per_year` happens."""
    return [year for year in window.years if rng.random() < per_year]


# -- a resident's services -----------------------------------------------------------------
def person_events(rng: random.Random, resident, window: Window) -> list[Event]:
    """The services of one resident in the window (their personal_info is made apart)."""
    events: list[Event] = []
    managed = [s for s in (resident.htn_start, resident.dm_start) if s is not None]
    for program, start in (("hypertension", resident.htn_start), ("diabetes", resident.dm_start)):
        if start is not None:
            _followups(rng, program, start, window, events)
    _check_ups(rng, resident, min(managed) if managed else None, window, events)
    for lmp, days, _child in resident.pregnancies:
        _prenatal(rng, lmp, days, window, events)
    _infectious(rng, resident, window, events)
    _referrals(rng, resident, bool(managed), window, events)
    _rehabilitation(rng, resident, window, events)
    _family_planning(rng, resident, window, events)
    return events


def _followups(rng, program: str, start: dt.date, window: Window, events: list) -> None:
    regular = rng.random() < REGULAR_SHARE
    low, high = REGULAR_DAYS if regular else IRREGULAR_DAYS
    phone = PHONE_SHARE[0] if regular else PHONE_SHARE[1]
    day = start
    if (window.first - start).days > high:  # long in management: somewhere in the cycle
        day = window.first - dt.timedelta(days=below(rng, high))
    leaving = None
    years = (window.today - window.first).days / 365.25
    if rng.random() < LEAVING_PER_YEAR * years:
        leaving = window.first + dt.timedelta(days=below(rng, (window.today - window.first).days))
    # How likely the readings are under target at a visit: most patients are well
    # controlled, some rarely (a 控制率 around 60%).
    control = pick(rng, CONTROL)
    first = True
    while day <= window.today:
        status = "1"
        if leaving is not None and day >= leaving:
            status = pick(rng, {"2": 5, "3": 2, "4": 3})
        mode = "3" if not first and rng.random() < phone else pick(rng, {"1": 70, "2": 30})
        controlled = mode != "3" and rng.random() < control
        recall = mode != "3" and not controlled and rng.random() < RECALL_SHARE
        interval = randint(rng, *RECALL_DAYS) if recall else randint(rng, low, high)
        following = _festival(rng, workday(rng, day + dt.timedelta(days=interval)))
        event = {
            "program": program,
            "start": start,
            "mode": mode,
            "status": status,
            "controlled": controlled,  # the builder makes readings under target, or not
            "next": following,
        }
        if day >= window.first:
            events.append((f"{program}_followup", day, event))
        if status != "1":
            return
        first = False
        day = following


def _check_ups(rng, resident, managed_since, window: Window, events: list) -> None:
    for year in window.years:
        day = _day_in_year(rng, year, CHECK_UP_MONTHS)
        age = age_on(resident.birth, day)
        if managed_since is not None and managed_since.year <= year:
            share = CHECK_UP_SHARE[0]
        elif age >= 65:
            share = CHECK_UP_SHARE[1]
        else:
            share = CHECK_UP_SHARE[2] if age >= 18 else 0.0
        if rng.random() < share and day in window:
            events.append(("health_check", day, {}))
            if age >= 65 and rng.random() < SELFCARE_SHARE:
                events.append(("elderly_selfcare", day, {}))


def _prenatal(rng, lmp: dt.date, days: int | None, window: Window, events: list) -> None:
    when = pick(rng, PRENATAL)
    if when == "none":
        return
    gest = randint(rng, 42, 90) if when == "early" else randint(rng, 91, 160)
    day = lmp + dt.timedelta(days=gest)
    if day.weekday() == 6:  # a Sunday: the Saturday before
        day -= dt.timedelta(days=1)
        gest -= 1
    if days is not None and gest >= days:
        return
    if day in window:
        known = rng.random() < LMP_KNOWN_SHARE
        events.append(("prenatal_first", day, {"lmp": lmp, "known": known, "gest": gest}))


def child_events(rng: random.Random, child, window: Window) -> tuple[dt.date, list[Event]]:
    """A child born to a resident: the day their record was made, and the newborn visit and
    immunisation card."""
    events: list[Event] = []
    caesarean = rng.random() < 0.38
    stay = randint(rng, 3, 6) if caesarean else randint(rng, 1, 3)
    discharge = child.birth + dt.timedelta(days=stay)
    when = pick(rng, NEWBORN_VISIT)
    visit = None
    if when != "none":
        later = randint(rng, 1, 7) if when == "week" else randint(rng, 8, 14)
        visit = discharge + dt.timedelta(days=later)
        if visit in window:
            weeks = next(d for _lmp, d, c in child.mother.pregnancies if c is child) // 7
            event = {"discharge": discharge, "caesarean": caesarean, "weeks": weeks}
            events.append(("newborn_visit", visit, event))
    recorded = min(visit or discharge + dt.timedelta(days=randint(rng, 3, 20)), window.today)
    if rng.random() < IMMUNISATION_CARD_SHARE:
        card = min(child.birth + dt.timedelta(days=below(rng, 31)), window.today)
        events.append(("immunization_card", card, {}))
    return max(recorded, child.birth), events


def _infectious(rng, resident, window: Window, events: list) -> None:
    child = age_on(resident.birth, window.today) < 15
    for year in _in_years(rng, window, INFECTIOUS_PER_YEAR[0 if child else 1]):
        day = _day_in_year(rng, year, INFECTIOUS_MONTHS)
        if day < resident.birth:
            continue
        hour = normal_int(rng, 13, 3, 8, 21)
        diagnosed = dt.datetime(day.year, day.month, day.day, hour, below(rng, 60))
        delay = pick(rng, REPORT_DELAY)
        minutes = {"2h": (5, 119), "24h": (120, 1439), "late": (1440, 4320)}[delay]
        reported = diagnosed + dt.timedelta(minutes=randint(rng, *minutes))
        if reported.date() in window and diagnosed.date() >= window.first:
            events.append(("infectious_disease_report", reported.date(), {
                "diagnosed": diagnosed, "reported": reported
            }))  # fmt: skip


def _referrals(rng, resident, managed: bool, window: Window, events: list) -> None:
    age = age_on(resident.birth, window.today)
    per_year = REFERRAL_PER_YEAR[0 if managed else 1 if age >= 65 else 2]
    if age < 18:
        return
    for year in _in_years(rng, window, per_year):
        day = workday(rng, dt.date(year, 1, 1) + dt.timedelta(days=below(rng, 365)))
        if day in window:
            events.append(("referral_slip", day, {}))


def _rehabilitation(rng, resident, window: Window, events: list) -> None:
    age = age_on(resident.birth, window.today)
    if age < 18 or rng.random() >= REHABILITATION[0 if age >= 50 else 1]:
        return
    span = (window.today - window.first).days + 60
    day = window.first - dt.timedelta(days=60) + dt.timedelta(days=below(rng, span))
    for _ in range(randint(rng, 6, 16)):
        if day in window:
            events.append(("rehabilitation_record", day, {}))
        day = workday(rng, day + dt.timedelta(days=randint(rng, 5, 10)))


def _family_planning(rng, resident, window: Window, events: list) -> None:
    per_year = FAMILY_PLANNING_PER_YEAR[0 if resident.sex == "2" else 1]
    for year in _in_years(rng, window, per_year):
        day = workday(rng, dt.date(year, 1, 1) + dt.timedelta(days=below(rng, 365)))
        if day in window and 20 <= age_on(resident.birth, day) <= 49:
            events.append(("family_planning_service", day, {}))


# -- a unit's own records ------------------------------------------------------------------
def unit_events(rng: random.Random, population: int, window: Window) -> list[Event]:
    """One institution questionnaire per survey year; household interviews in the survey
    season and education activities every month, in proportion to the population."""
    events: list[Event] = []
    for year in window.years:
        days = [
            dt.date(year, month, 1) + dt.timedelta(days=d)
            for month in SURVEY_MONTHS
            for d in range(30)
        ]
        days = [d for d in days if d in window]
        if not days:  # the survey season is outside the window: whenever the window allows
            first = max(window.first, dt.date(year, 1, 1))
            last = min(window.today, dt.date(year, 12, 31))
            days = [first + dt.timedelta(days=d) for d in range((last - first).days + 1)]
        events.append(("baseline_institution", days[below(rng, len(days))], {}))
        for _ in range(_count(rng, population * HOUSEHOLDS_PER_RESIDENT_YEAR)):
            events.append(("baseline_household", days[below(rng, len(days))], {}))
    month = dt.date(window.first.year, window.first.month, 1)
    while month <= window.today:
        for _ in range(_count(rng, population * EDUCATION_PER_RESIDENT_MONTH)):
            day = workday(rng, month + dt.timedelta(days=below(rng, 28)))
            if day in window:
                events.append(("health_education_activity", day, {}))
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return events


def _count(rng: random.Random, expected: float) -> int:
    whole = int(expected)
    return whole + (rng.random() < expected - whole)
