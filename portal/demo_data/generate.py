"""Planning and generating demo submissions: which forms, units and months get how many
records, and the rows themselves, in deterministic chunks (optionally in worker processes).
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import multiprocessing
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from forms.model import FormDefinition
from forms.periods import beijing_today, period_of
from forms.validation import FormValidator
from portal.demo_data.records import BUILDERS, Visit
from portal.demo_data.synthetic import person_name
from portal.models import utcnow
from portal.services.submissions import SUBMITTED

# The author of every generated row: `author = 'demo-data'` finds (or deletes) them all.
DEMO_AUTHOR = "demo-data"
# Records per chunk: the unit of randomness (chunk i always holds the same records for a
# seed, whoever generates it), of worker hand-off and of each bulk insert.
CHUNK = 5_000
# Besides the first record of each form in every chunk, one record in this many is checked
# against the form's validator.
SAMPLE_EVERY = 200
# Records each form is tried with before a run: a form changed since these builders were
# written is left out, with the reason, instead of failing half-way.
TRIAL_RECORDS = 12

# Relative numbers of records per form at a unit of average size: follow-ups of the chronic
# programmes dominate a community health centre's records.
FORM_WEIGHTS = {
    "hypertension_followup": 30,
    "diabetes_followup": 14,
    "health_check": 14,
    "personal_info": 9,
    "elderly_selfcare": 7,
    "immunization_card": 4,
    "infectious_disease_report": 3,
    "referral_slip": 3,
    "rehabilitation_record": 3,
    "family_planning_service": 3,
    "newborn_visit": 2,
    "prenatal_first": 2,
    "health_education_activity": 2,
    "baseline_household": 2,
    "baseline_institution": 0.3,
}
# Month factors: fewer records around the Spring Festival (February) and the October
# holiday, more before the year's end.
# fmt: off
GENERAL_SEASON = {1: 0.95, 2: 0.72, 3: 1.05, 4: 1.05, 5: 1.0, 6: 1.05, 7: 0.95, 8: 0.93,
                  9: 1.05, 10: 0.9, 11: 1.1, 12: 1.12}
# fmt: on
_QUARTER_END = {3: 1.25, 6: 1.25, 9: 1.25, 12: 1.3}  # quarterly follow-up targets
_SURVEY_SEASON = {m: 0.3 for m in range(1, 13)} | {6: 2.0, 7: 2.5, 8: 2.5, 9: 2.0}
FORM_SEASONS = {
    "hypertension_followup": _QUARTER_END,
    "diabetes_followup": _QUARTER_END,
    "health_check": {1: 0.6, 2: 0.5, 4: 1.5, 5: 1.6, 6: 1.4, 9: 1.2, 10: 1.1, 12: 0.8},
    "infectious_disease_report": {12: 1.8, 1: 2.0, 2: 1.4, 3: 1.3, 6: 1.2, 7: 1.4, 8: 1.3},
    "health_education_activity": {2: 0.5, 4: 1.2, 9: 1.1},
    "newborn_visit": {2: 0.9, 8: 1.1, 9: 1.15, 10: 1.1},
    "prenatal_first": {2: 0.9, 8: 1.1, 9: 1.1},
    "baseline_household": _SURVEY_SEASON,
    "baseline_institution": _SURVEY_SEASON,
}
# More records every year (services grow, more is recorded on line).
GROWTH_PER_YEAR = 0.08
# Residents per district (10 000s, census 2020): bigger districts have busier units.
# fmt: off
DISTRICT_POPULATION = {
    "110101": 70.9, "110102": 110.6, "110105": 345.2, "110106": 201.9, "110107": 56.8,
    "110108": 313.3, "110109": 39.3, "110111": 131.3, "110112": 184.0, "110113": 132.4,
    "110114": 226.9, "110115": 199.4, "110116": 44.1, "110117": 45.7, "110118": 52.8,
    "110119": 34.6,
}
# fmt: on
# A centre serves several times a station's population.
UNIT_TYPE_SIZE = {"centre": 2.5, "station": 1.0, "district": 0.5}


class DemoDataError(Exception):
    """Demo data cannot be made as asked (or a checked record failed its form's validator)."""


@dataclass(frozen=True)
class Unit:
    code: str
    path: str
    name: str
    type: str
    district: str  # the district's code, for ID numbers' area codes
    district_name: str


@dataclass(frozen=True)
class FormSpec:
    name: str
    version: int
    period_type: str
    levels: tuple[str, ...]
    definition: dict  # FormDefinition.to_dict(): plain data for worker processes


@dataclass
class Plan:
    """Everything a run needs, as plain data (it is sent to worker processes)."""

    records: int
    seed: int
    today: dt.date
    now: dt.datetime  # UTC, naive like the models' timestamps: no record is created later
    forms: list[FormSpec]
    units: list[Unit]
    months: list[tuple[int, int]]
    # (form index, unit index, month index) and the cumulative weights to draw them by
    cells: list[tuple[int, int, int]]
    cum_weights: list[float]
    # Expected records per (form index, unit index) over the run: sizes the patient pools.
    expected: dict[tuple[int, int], float]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def chunks(self) -> list[tuple[int, int]]:
        """(index, size) of each chunk."""
        return [
            (i, min(CHUNK, self.records - start))
            for i, start in enumerate(range(0, self.records, CHUNK))
        ]


def make_plan(
    site,
    records: int,
    *,
    seed: int | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    org: str | None = None,
    months: int = 24,
) -> Plan:
    """Plan `records` demo submissions over the last `months` months (this one included),
    for the published shipped forms, at the active units under `org` (default: all) that each
    form is filled in at. Raises DemoDataError when there is nothing to fill in."""
    if records < 0:
        raise DemoDataError("the number of records cannot be negative")
    if months < 1:
        raise DemoDataError("at least one month is needed")
    seed = random.SystemRandom().randrange(2**31) if seed is None else seed
    today = today or beijing_today()
    now = now or utcnow()
    top = site.unit_by_code(org) if org else None
    if org and top is None:
        raise DemoDataError(f"no organisation unit with code {org}")

    forms, skipped = [], {}
    for name, form in sorted(site["forms"].items()):
        if name not in BUILDERS:
            skipped[name] = "no demo data builder for this form"
        elif form.latest is None:
            skipped[name] = "not published"
        else:
            definition = form.latest.definition()
            forms.append(
                FormSpec(
                    name,
                    form.latest.number,
                    definition.period_type,
                    definition.levels,
                    definition.to_dict(),
                )
            )
    levels = {level for spec in forms for level in spec.levels}
    units = _units(site, top, levels)
    month_list = _months(today, months)
    plan = Plan(records, seed, today, now, forms, units, month_list, [], [], {}, skipped)
    _try_forms(plan)
    if not plan.forms:
        raise DemoDataError("no published form to make demo data for")
    _weigh(plan)
    if not plan.cells:
        raise DemoDataError("no active unit fills in the published forms")
    return plan


def _units(site, top, levels: set[str]) -> list[Unit]:
    units = []
    prefix = top.path if top is not None else "/"
    for unit in site.units.values():
        path = unit.path
        if not (unit.active and unit.type in levels and path.startswith(prefix)):
            continue
        codes = path.strip("/").split("/")
        district = codes[1] if len(codes) > 1 else codes[0]
        district_unit = site.unit_by_code(district)
        district_name = district_unit.name if district_unit is not None else ""
        units.append(Unit(unit.code, path, unit.name, unit.type, district, district_name))
    return sorted(units, key=lambda u: u.code)


def _months(today: dt.date, count: int) -> list[tuple[int, int]]:
    index = today.year * 12 + today.month - 1
    return [(i // 12, i % 12 + 1) for i in range(index - count + 1, index + 1)]


def _try_forms(plan: Plan) -> None:
    """Leave out the forms whose builder does not make valid records (a form changed since)."""
    rng = random.Random(f"{plan.seed}:trial")
    people = People(plan.seed, plan.today)
    kept = []
    for spec in plan.forms:
        checker = Checker(spec, plan.today)
        units = [u for u in plan.units if u.type in spec.levels]
        problem = None if units else "no active unit fills it in"
        for _ in range(TRIAL_RECORDS if units else 0):
            visit = Visit(
                rng,
                rng.choice(units),
                plan.today - dt.timedelta(rng.randrange(60)),
                plan.today,
                people,
                100.0,
            )
            try:
                checker.check(BUILDERS[spec.name](visit))
            except DemoDataError as error:
                problem = str(error)
                break
        if problem:
            plan.skipped[spec.name] = problem
        else:
            kept.append(spec)
    plan.forms = kept


def _weigh(plan: Plan) -> None:
    rng = random.Random(f"{plan.seed}:sizes")
    per_district: dict[str, int] = {}
    for unit in plan.units:
        per_district[unit.district] = per_district.get(unit.district, 0) + 1
    default = sorted(DISTRICT_POPULATION.values())[len(DISTRICT_POPULATION) // 2]
    sizes = [
        DISTRICT_POPULATION.get(u.district, default)
        / per_district[u.district]
        * UNIT_TYPE_SIZE.get(u.type, 1.0)
        * rng.lognormvariate(0, 0.35)
        for u in plan.units
    ]
    last = len(plan.months) - 1
    year, month = plan.months[-1]
    partial = plan.today.day / calendar.monthrange(year, month)[1]
    month_factors = []
    for index, (_year, month) in enumerate(plan.months):
        growth = 1 + GROWTH_PER_YEAR * (index - last) / 12
        month_factors.append(GENERAL_SEASON[month] * growth * (partial if index == last else 1))
    cells, weights = [], []
    per_form_unit: dict[tuple[int, int], float] = {}
    for f, spec in enumerate(plan.forms):
        season = FORM_SEASONS.get(spec.name, {})
        form_weight = FORM_WEIGHTS.get(spec.name, 1.0)
        for u, unit in enumerate(plan.units):
            if unit.type not in spec.levels:
                continue
            for m, (_year, month) in enumerate(plan.months):
                weight = form_weight * sizes[u] * month_factors[m] * season.get(month, 1.0)
                cells.append((f, u, m))
                weights.append(weight)
                per_form_unit[(f, u)] = per_form_unit.get((f, u), 0.0) + weight
    total = sum(weights)
    cumulative, running = [], 0.0
    for weight in weights:
        running += weight
        cumulative.append(running)
    plan.cells, plan.cum_weights = cells, cumulative
    plan.expected = {key: plan.records * w / total for key, w in per_form_unit.items()}


# -- people ---------------------------------------------------------------------------------
class People:
    """The units' recurring patients and their doctors, made on first use from the seed alone,
    so every process (and every run with that seed) sees the same people."""

    LIMIT = 300_000  # people kept; beyond it they are forgotten and made again when needed

    def __init__(self, seed: int, today: dt.date):
        self.seed = seed
        self.today = today
        self._people: dict = {}
        self._doctors: dict[str, list[str]] = {}

    def get(self, program: str, unit: Unit, index: int, make):
        key = (program, unit.code, index)
        person = self._people.get(key)
        if person is None:
            if len(self._people) >= self.LIMIT:
                self._people.clear()
            rng = random.Random(f"{self.seed}/{program}/{unit.code}/{index}")
            person = self._people[key] = make(rng, unit, index, self.today)
        return person

    def doctors(self, unit: Unit) -> list[str]:
        doctors = self._doctors.get(unit.code)
        if doctors is None:
            rng = random.Random(f"{self.seed}/doctors/{unit.code}")
            count = 8 if unit.type == "centre" else 3
            doctors = [person_name(rng, "1" if rng.random() < 0.4 else "2") for _ in range(count)]
            self._doctors[unit.code] = doctors
        return doctors


# -- checking -------------------------------------------------------------------------------
def _key_order(fields) -> tuple[dict[str, int], dict]:
    """Where the validator puts each key of a scope (groups flattened, repeats nested)."""
    positions, repeats = {}, {}

    def walk(children):
        for f in children:
            if f.type == "group":
                walk(f.children)
            elif f.type != "note":
                positions[f.name] = len(positions)
                if f.type == "repeat":
                    repeats[f.name] = _key_order(f.children)

    walk(fields)
    return positions, repeats


def _ordered(data: dict, order: tuple[dict[str, int], dict]) -> dict:
    positions, repeats = order
    # The builders write keys nearly in order, so this sort has little to do.
    result = dict(sorted(data.items(), key=lambda item: positions[item[0]]))
    for name in repeats.keys() & result.keys():
        result[name] = [_ordered(row, repeats[name]) for row in result[name]]
    return result


class Checker:
    """A form's validator and key order: `store` gives what the server would store,
    `check` proves it by validating."""

    def __init__(self, spec: FormSpec, today: dt.date):
        self.spec = spec
        self.today = today
        definition = FormDefinition.from_dict(spec.definition)
        self.validator = FormValidator(definition)
        self.order = _key_order(definition.fields)

    def store(self, data: dict) -> dict:
        try:
            return _ordered(data, self.order)
        except KeyError as error:
            raise DemoDataError(
                f"{self.spec.name} v{self.spec.version} has no field {error.args[0]}"
            ) from None

    def check(self, data: dict) -> dict:
        """The stored form of a builder's `data`, after proving the server would store
        exactly that (the same JSON text); raises DemoDataError otherwise."""
        stored = self.store(data)
        clean, errors = self.validator.validate(data, today=self.today)
        if errors:
            shown = "; ".join(
                f"{key}: {message.render('en')}" for key, message in sorted(errors.items())
            )
            raise DemoDataError(f"{self.spec.name} v{self.spec.version}: invalid record: {shown}")
        if json.dumps(clean) != json.dumps(stored):
            differing = sorted(
                k
                for k in clean.keys() | stored.keys()
                if json.dumps(clean.get(k)) != json.dumps(stored.get(k))
            )
            raise DemoDataError(
                f"{self.spec.name} v{self.spec.version}: the server would "
                f"store other values for {', '.join(differing) or 'the order'}"
            )
        return stored


# -- generating -----------------------------------------------------------------------------
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def _uuid(rng: random.Random) -> str:
    """A version 4 UUID from the seeded generator (str(uuid.UUID(int=..., version=4)), at a
    fraction of its cost)."""
    h = f"{rng.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Generator:
    """Makes the rows of a plan's chunks."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.people = People(plan.seed, plan.today)
        self.checkers = [Checker(spec, plan.today) for spec in plan.forms]
        self.samples = 0  # records checked against their form's validator

    def chunk(self, index: int, size: int) -> list[dict]:
        plan = self.plan
        rng = random.Random(f"{plan.seed}:{index}")
        today, now = plan.today, plan.now
        picks = rng.choices(plan.cells, cum_weights=plan.cum_weights, k=size)
        seen: set[int] = set()
        rows = []
        for position, (f, u, m) in enumerate(picks):
            spec, unit = plan.forms[f], plan.units[u]
            day = _day(rng, plan.months[m], today)
            visit = Visit(rng, unit, day, today, self.people, plan.expected[(f, u)])
            data = BUILDERS[spec.name](visit)
            checker = self.checkers[f]
            if f not in seen or position % SAMPLE_EVERY == 0:
                seen.add(f)
                self.samples += 1
                stored = checker.check(data)
            else:
                stored = checker.store(data)
            created = _created(rng, day, now)
            rows.append(
                {
                    "id": _uuid(rng),
                    "form_name": spec.name,
                    "form_version": spec.version,
                    "org_code": unit.code,
                    "org_path": unit.path,
                    "period": period_of(spec.period_type, day),
                    "status": SUBMITTED,
                    "author": DEMO_AUTHOR,
                    "created": created,
                    "updated": created,
                    "client_id": _uuid(rng),
                    # What SQLAlchemy's JSON type writes for this value (json.dumps, its default).
                    "data": json.dumps(stored),
                }
            )
        return rows


def _day(rng: random.Random, month: tuple[int, int], today: dt.date) -> dt.date:
    """A day of the month, not after today; working days are likelier."""
    year, number = month
    last = calendar.monthrange(year, number)[1]
    if (year, number) == (today.year, today.month):
        last = today.day
    for _ in range(3):
        day = dt.date(year, number, rng.randint(1, last))
        if day.weekday() < 5 or rng.random() < 0.25:
            return day
    return day


def _created(rng: random.Random, day: dt.date, now: dt.datetime) -> str:
    """When the record was entered, as SQLAlchemy stores a DateTime on SQLite: in working
    hours in Beijing (00:30-09:30 UTC) on the day or up to two days later, never after
    `now` (UTC)."""
    delay = (0, 0, 0, 0, 1, 2)[int(rng.random() * 6)]
    date = day + dt.timedelta(days=delay) if delay else day
    hours, seconds = divmod(1800 + int(rng.random() * 32_400), 3600)
    minutes, seconds = divmod(seconds, 60)
    micro = int(rng.random() * 1_000_000)
    if date >= now.date():
        moment = dt.datetime(date.year, date.month, date.day, hours, minutes, seconds, micro)
        return min(moment, now).isoformat(" ", "microseconds")
    return f"{date.isoformat()} {hours:02d}:{minutes:02d}:{seconds:02d}.{micro:06d}"


# Each worker process keeps one Generator (a pool initializer's usual state).
_worker: Generator | None = None


def _start_worker(plan: Plan) -> None:
    global _worker
    _worker = Generator(plan)


def _worker_chunk(job: tuple[int, int]) -> list[dict]:
    return _worker.chunk(*job)


def batches(plan: Plan, workers: int = 0) -> Iterator[list[dict]]:
    """The plan's rows, a chunk at a time, in order. With `workers`, that many processes
    generate chunks ahead while the caller writes; the rows are the same either way."""
    jobs = plan.chunks
    if workers <= 0 or len(jobs) < 2:
        generator = Generator(plan)
        for index, size in jobs:
            yield generator.chunk(index, size)
        return
    # spawn: a fork would copy the caller's open database connections into the workers.
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_start_worker, initargs=(plan,)) as pool:
        yield from pool.imap(_worker_chunk, jobs)
