"""Planning and generating demo submissions: which forms, units and months get how many
records, and the rows themselves, in deterministic chunks (optionally in worker processes).
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import multiprocessing
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from forms.model import FormDefinition
from forms.periods import beijing_today, period_of
from forms.validation import FormValidator
from portal.demo_data.events import Window, child_events, person_events, unit_events
from portal.demo_data.population import block_residents, blocks
from portal.demo_data.records import BUILDERS, Visit
from portal.demo_data.synthetic import Person, below, person_name
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

# Residents per district (10 000s, census 2020): bigger districts have bigger populations.
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
# Residents (aged 7 and over) of the pilot population that measures the records per resident.
PILOT_RESIDENTS = 3_000


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
    population: int = 0  # residents aged 7 and over (children come from the births)
    serial0: int = 0  # the last health record serial an earlier run took at the unit
    surveyed: tuple[int, ...] = ()  # years with an institution questionnaire already


@dataclass(frozen=True)
class FormSpec:
    name: str
    version: int
    period_type: str
    levels: tuple[str, ...]
    definition: dict  # FormDefinition.to_dict(): plain data for worker processes


# A chunk's blocks of residents: (unit index, block number, residents aged 7 and over).
Block = tuple[int, int, int]


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
    skipped: dict[str, str] = field(default_factory=dict)
    # Records per resident aged 7 and over in the window (measured on a pilot population).
    per_resident: float = 0.0
    # The records the population is expected to make (about `records`).
    expected: int = 0
    # (index, blocks) of each chunk: the unit of randomness is the block, so a block's
    # records are the same for a seed whichever chunk or process makes them.
    chunks: list[tuple[int, tuple[Block, ...]]] = field(default_factory=list)

    @property
    def window(self) -> Window:
        year, month = self.months[0]
        return Window(dt.date(year, month, 1), self.today)

    @property
    def years(self) -> list[int]:
        return self.window.years


def make_plan(
    site,
    records: int,
    *,
    seed: int | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    org: str | None = None,
    months: int = 24,
    serials: dict[str, int] | None = None,
    surveyed: set[tuple[str, int]] | None = None,
) -> Plan:
    """Plan about `records` demo submissions over the last `months` months (this one
    included), for the published shipped forms, at the active units under `org` (default:
    all) that each form is filled in at: the population that makes them. `serials` (unit
    code: last serial taken) and `surveyed` ((unit code, year) with an institution
    questionnaire) say what earlier runs left (see `store.existing`): the new residents'
    record numbers follow, and no unit gets a second questionnaire for a year. Raises
    DemoDataError when there is nothing to fill in."""
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
    if not forms:
        raise DemoDataError("no published form to make demo data for")
    levels = {level for spec in forms for level in spec.levels}
    units = _units(site, top, levels, serials or {}, surveyed or set())
    if not units:
        raise DemoDataError("no active unit fills in the published forms")
    plan = Plan(records, seed, today, now, forms, units, _months(today, months), skipped)
    _try_forms(plan)
    if not plan.forms:
        raise DemoDataError("no published form to make demo data for")
    _populate(plan)
    return plan


def _units(site, top, levels: set[str], serials: dict, surveyed: set) -> list[Unit]:
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
        units.append(
            Unit(
                unit.code,
                path,
                unit.name,
                unit.type,
                district,
                district_name,
                serial0=serials.get(unit.code, 0),
                surveyed=tuple(sorted(y for c, y in surveyed if c == unit.code)),
            )
        )
    return sorted(units, key=lambda u: u.code)


def _months(today: dt.date, count: int) -> list[tuple[int, int]]:
    index = today.year * 12 + today.month - 1
    return [(i // 12, i % 12 + 1) for i in range(index - count + 1, index + 1)]


def _try_forms(plan: Plan) -> None:
    """Make the records of a pilot population: leave out the forms whose builder does not
    make valid records (a form changed since), and measure how many records a resident
    brings (`plan.per_resident`), which sizes the population."""
    pilot = replace(plan.units[0], population=PILOT_RESIDENTS)
    specs = {spec.name: spec for spec in plan.forms}
    checkers = {name: Checker(spec, plan.today) for name, spec in specs.items()}
    staff = Staff(plan.seed)
    counts: collections.Counter = collections.Counter()
    tried: collections.Counter = collections.Counter()
    seed = f"{plan.seed}:trial"
    rng = random.Random(seed)
    for number, size in blocks(pilot):
        for form, day, person, event in block_events(seed, pilot, number, size, plan.window):
            counts[form] += 1
            if form not in specs or tried[form] >= TRIAL_RECORDS or form in plan.skipped:
                continue
            tried[form] += 1
            visit = Visit(rng, pilot, day, plan.today, staff.doctors(pilot), person, event)
            try:
                checkers[form].check(BUILDERS[form](visit))
            except DemoDataError as error:
                plan.skipped[form] = str(error)
    plan.forms = [spec for spec in plan.forms if spec.name not in plan.skipped]
    kept = {spec.name for spec in plan.forms} - {"baseline_institution"}
    plan.per_resident = sum(counts[name] for name in kept) / PILOT_RESIDENTS


def _populate(plan: Plan) -> None:
    """Size each unit's population so that the records add up to about `plan.records`:
    residents = (records − one institution questionnaire per unit and year) / records per
    resident, shared out by district population and unit type (and a random size); then
    cut the residents into chunks of about CHUNK records."""
    rng = random.Random(f"{plan.seed}:sizes")
    fixed = 0
    if any(spec.name == "baseline_institution" for spec in plan.forms):
        fixed = len(plan.units) * len(plan.years)
        if fixed > plan.records / 2:  # a small run: its records are the people's
            plan.forms = [spec for spec in plan.forms if spec.name != "baseline_institution"]
            plan.skipped["baseline_institution"] = (
                f"one questionnaire per unit and year would be {fixed:,} of the records"
            )
            fixed = 0
    residents = max(0, plan.records - fixed) / plan.per_resident if plan.per_resident else 0
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
    total = sum(sizes)
    plan.units = [
        replace(unit, population=round(residents * size / total))
        for unit, size in zip(plan.units, sizes, strict=True)
    ]
    jobs, current, expected = [], [], 0.0
    per_unit = len(plan.years) if fixed else 0
    for u, unit in enumerate(plan.units):
        for number, size in blocks(unit):
            current.append((u, number, size))
            expected += size * plan.per_resident + (per_unit if number == 0 else 0)
            if expected >= CHUNK:
                jobs.append(tuple(current))
                current, expected = [], 0.0
    if current:
        jobs.append(tuple(current))
    plan.chunks = list(enumerate(jobs))
    plan.expected = round(
        sum(u.population for u in plan.units) * plan.per_resident + per_unit * len(plan.units)
    )


# -- people ---------------------------------------------------------------------------------
class Staff:
    """The units' doctors, made on first use from the seed alone."""

    def __init__(self, seed: int):
        self.seed = seed
        self._doctors: dict[str, list[str]] = {}

    def doctors(self, unit: Unit) -> list[str]:
        doctors = self._doctors.get(unit.code)
        if doctors is None:
            rng = random.Random(f"{self.seed}/doctors/{unit.code}")
            count = 8 if unit.type == "centre" else 3
            doctors = [person_name(rng, "1" if rng.random() < 0.4 else "2") for _ in range(count)]
            self._doctors[unit.code] = doctors
        return doctors


# Records made long ago were made from then on (the city's health records date from 2009).
RECORDS_SINCE = dt.date(2009, 6, 1)


def block_events(seed, unit: Unit, number: int, size: int, window: Window):
    """The block's events in the window, as (form name, day, person, details): each
    resident's personal_info first, then their services; the unit's own records with its
    first block."""
    today = window.today
    events_rng = random.Random(f"{seed}:events:{unit.code}:{number}")
    people_rng = random.Random(f"{seed}:persons:{unit.code}:{number}")
    result = []
    if number == 0:
        for form, day, event in unit_events(events_rng, unit.population, window):
            if form == "baseline_institution":
                if day.year in unit.surveyed:  # one questionnaire per unit and year
                    continue
                event = {"population": unit.population}
            result.append((form, day, None, event))
    dressed: dict[int, Person] = {}
    for resident in block_residents(seed, unit.code, number, size, today, unit.serial0):
        person = dressed[resident.serial] = Person(people_rng, unit, resident, today)
        if resident.mother is None:
            events = person_events(events_rng, resident, window)
            starts = [d for d in (resident.htn_start, resident.dm_start) if d is not None]
            latest = min([today, *starts, *(day for _form, day, _event in events)])
            earliest = max(resident.birth, RECORDS_SINCE)
            if earliest > latest:  # managed from before the records began: made that day
                earliest = latest
            recorded = earliest + dt.timedelta(days=below(events_rng, (latest - earliest).days + 1))
        else:
            recorded, events = child_events(events_rng, resident, window)
            mother = dressed[resident.mother.serial]
            for _form, _day, event in events:
                event["mother"] = mother
        result.append(("personal_info", recorded, person, {}))
        result.extend((form, day, person, event) for form, day, event in events)
    return result


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
    # Keys the form's version does not know are left out (a builder may be ahead of the
    # published version); the builders write keys nearly in order, so the sort has little
    # to do.
    known = [item for item in data.items() if item[0] in positions]
    result = dict(sorted(known, key=lambda item: positions[item[0]]))
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
        return _ordered(data, self.order)

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
        self.staff = Staff(plan.seed)
        self.checkers = {spec.name: Checker(spec, plan.today) for spec in plan.forms}
        self.window = plan.window
        self.samples = 0  # records checked against their form's validator

    def chunk(self, index: int, blocks: tuple[Block, ...]) -> list[dict]:
        plan, window = self.plan, self.window
        today, now, seed = plan.today, plan.now, plan.seed
        checkers = self.checkers
        seen: set[str] = set()
        rows = []
        for u, number, size in blocks:
            unit = plan.units[u]
            doctors = self.staff.doctors(unit)
            rng = random.Random(f"{seed}:records:{unit.code}:{number}")
            for form, day, person, event in block_events(seed, unit, number, size, window):
                checker = checkers.get(form)
                if checker is None:
                    continue
                data = BUILDERS[form](Visit(rng, unit, day, today, doctors, person, event))
                if form not in seen or len(rows) % SAMPLE_EVERY == 0:
                    seen.add(form)
                    self.samples += 1
                    stored = checker.check(data)
                else:
                    stored = checker.store(data)
                spec = checker.spec
                created = _created(rng, day, now)
                rows.append(
                    {
                        "id": _uuid(rng),
                        "form_name": form,
                        "form_version": spec.version,
                        "org_code": unit.code,
                        "org_path": unit.path,
                        "period": period_of(spec.period_type, day),
                        "status": SUBMITTED,
                        "author": DEMO_AUTHOR,
                        "created": created,
                        "updated": created,
                        "client_id": _uuid(rng),
                        # What SQLAlchemy's JSON type writes for this value (json.dumps).
                        "data": json.dumps(stored),
                    }
                )
        return rows


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


def _worker_chunk(job: tuple[int, tuple[Block, ...]]) -> list[dict]:
    return _worker.chunk(*job)


class Batches:
    """The plan's rows, a chunk at a time, in order. With `workers`, that many processes
    generate chunks ahead while the caller writes; the rows are the same either way.
    `plan` says what they are made for (`store.write_references` adds the population's
    figures)."""

    def __init__(self, plan: Plan, workers: int = 0):
        self.plan = plan
        self.workers = workers

    def __iter__(self) -> Iterator[list[dict]]:
        plan, jobs = self.plan, self.plan.chunks
        if self.workers <= 0 or len(jobs) < 2:
            generator = Generator(plan)
            for index, blocks_ in jobs:
                yield generator.chunk(index, blocks_)
            return
        # spawn: a fork would copy the caller's open database connections into the workers.
        context = multiprocessing.get_context("spawn")
        with context.Pool(self.workers, initializer=_start_worker, initargs=(plan,)) as pool:
            yield from pool.imap(_worker_chunk, jobs)


def batches(plan: Plan, workers: int = 0) -> Batches:
    return Batches(plan, workers)
