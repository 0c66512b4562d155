"""Indicators as data, and what one record or one person contributes to them.

An indicator is one of:
- `count`: the records of some forms that pass a filter;
- `sum` / `avg`: a numeric field of those records;
- `persons`: the distinct persons (by a person key such as the health record number) whose
  records in the period pass the indicator's tests: at least one record passing `filter`,
  at least `min_count` records passing each requirement, and the latest record of a kind
  passing a test ("the latest follow-up with readings is under target");
- `reference`: a reference figure (population and the like) of the unit and year;
- `ratio`: numerator / denominator × 100, of two other indicators (computed when read).

Filters and tests are written in the forms' own expression language (forms.expressions),
over one record's values; a record that does not have a field reads it as empty, so records
of older form versions are counted by the same rules.

Besides the indicators, every counted record is counted by form ("form:<name>"), every
unit with a record of a form in a period is counted once ("units:<name>", and
"units:<name>.on_time" when one came by the deadline: reporting completeness), and every
person who recorded something once ("authors": the staff behind the workload).

Everything kept is additive: a count or a sum of the records, persons or units of a unit's
whole subtree. So the aggregates of a unit are the sums of its children's and its own, a
moved unit takes its sums with it, and rates are only ever computed when a report is read.

This module is pure: rows in, contributions out. portal/services/aggregates.py keeps them in
SQL as records change; `recompute` here is the full computation they are checked against.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from forms import expressions, periods

KINDS = ("count", "sum", "avg", "persons", "reference", "ratio")
# Days after a period's end by which a unit's first record is on time (completeness).
ON_TIME_DAYS = 10
# Review levels, by rank: an indicator (or a report) may count only the records approved at
# a level or above ("approved_at_least"); a record's rank is its highest approving level's.
APPROVAL_LEVELS = {"centre": 1, "district": 2, "city": 3}
# Kinds that can be restricted to approved records (the others are not records' counts).
APPROVABLE_KINDS = ("count", "sum", "avg", "persons", "ratio")


class IndicatorError(ValueError):
    """An indicator definition is not usable; the message names the indicator and why."""


@dataclass(frozen=True)
class Test:
    """Records of some forms that pass a filter (no filter: all of them)."""

    forms: tuple[str, ...]
    filter: str | None = None

    def key(self) -> str:
        return f"{','.join(self.forms)}|{self.filter or ''}"


@dataclass(frozen=True)
class Requirement:
    test: Test
    min_count: int = 1


@dataclass(frozen=True)
class Latest:
    """The latest record (by `order`, a date field) among those passing `among` must pass
    `test`."""

    among: Test
    test: str
    order: str


@dataclass(frozen=True)
class Indicator:
    name: str
    kind: str
    forms: tuple[str, ...] = ()
    filter: str | None = None
    field: str | None = None  # sum, avg
    person: str = "record_no"  # persons: the field holding the person key
    requirements: tuple[Requirement, ...] = ()
    latest: Latest | None = None
    reference: str | None = None  # reference: the kind of figure
    numerator: str | None = None  # ratio
    denominator: str | None = None  # ratio
    # Counted up to the period's end rather than within it (建档人数: the records held).
    cumulative: bool = False
    # The dimensions (Dimension names) it is also kept by: "<name>~<dimension>:<category>".
    by: tuple[str, ...] = ()
    # Only records approved at this review level or above count (see APPROVAL_LEVELS).
    approved_at_least: str | None = None

    @property
    def eligible(self) -> Test:
        return Test(self.forms, self.filter)

    def tests(self) -> list[Test]:
        """Every record test this indicator needs evaluated."""
        if self.kind in ("reference", "ratio"):
            return []
        found = [self.eligible]
        found += [r.test for r in self.requirements]
        if self.latest is not None:
            found.append(self.latest.among)
        return found

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "forms": list(self.forms),
            "filter": self.filter,
            "field": self.field,
            "person": self.person,
            "requirements": [
                {"forms": list(r.test.forms), "filter": r.test.filter, "min_count": r.min_count}
                for r in self.requirements
            ],
            "latest": None
            if self.latest is None
            else {
                "forms": list(self.latest.among.forms),
                "filter": self.latest.among.filter,
                "test": self.latest.test,
                "order": self.latest.order,
            },
            "reference": self.reference,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "cumulative": self.cumulative,
            "by": list(self.by),
            **({"approved_at_least": self.approved_at_least} if self.approved_at_least else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Indicator:
        latest = data.get("latest")
        return cls(
            name=data["name"],
            kind=data["kind"],
            forms=tuple(data.get("forms") or ()),
            filter=data.get("filter") or None,
            field=data.get("field") or None,
            person=data.get("person") or "record_no",
            requirements=tuple(
                Requirement(Test(tuple(r["forms"]), r.get("filter") or None), r.get("min_count", 1))
                for r in data.get("requirements") or ()
            ),
            latest=None
            if not latest
            else Latest(
                Test(tuple(latest["forms"]), latest.get("filter") or None),
                latest["test"],
                latest["order"],
            ),
            reference=data.get("reference") or None,
            numerator=data.get("numerator") or None,
            denominator=data.get("denominator") or None,
            cumulative=bool(data.get("cumulative")),
            by=tuple(data.get("by") or ()),
            approved_at_least=data.get("approved_at_least") or None,
        )


@dataclass(frozen=True)
class Category:
    code: str
    label: Mapping[str, str]
    low: float | None = None  # bands: from this number (inclusive)
    high: float | None = None  # ... to this one (exclusive)


@dataclass(frozen=True)
class Dimension:
    """A disaggregation: the category of a record, from a choice field (`categories` are
    its choices) or a number cut into bands (`low`/`high` on each category). A band
    dimension may name `birth_field`, a date the number (an age) is worked out from, at the
    record's own date (`date_field`, else the day it was made), when `field` is empty.
    A record with no value, or one no category takes, is of the category "" (unknown)."""

    name: str
    label: Mapping[str, str]
    field: str
    categories: tuple[Category, ...]
    birth_field: str | None = None
    date_field: str | None = None

    @property
    def banded(self) -> bool:
        return any(c.low is not None or c.high is not None for c in self.categories)

    def category(self, data: Mapping[str, Any], made: dt.date) -> str:
        value = data.get(self.field)
        if not self.banded:
            value = value.strip() if isinstance(value, str) else value
            codes = {c.code for c in self.categories}
            return str(value) if value is not None and str(value) in codes else ""
        number = _number(value)
        if number is None and self.birth_field:
            number = _age(data.get(self.birth_field), data.get(self.date_field or ""), made)
        if number is None:
            return ""
        for category in self.categories:
            if (category.low is None or number >= category.low) and (
                category.high is None or number < category.high
            ):
                return category.code
        return ""

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "label": dict(self.label),
            "field": self.field,
            "birth_field": self.birth_field,
            "date_field": self.date_field,
            "categories": [
                {"code": c.code, "label": dict(c.label), "low": c.low, "high": c.high}
                for c in self.categories
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Dimension:
        return cls(
            name=data["name"],
            label=dict(data.get("label") or {}),
            field=data.get("field") or "",
            categories=tuple(
                Category(str(c["code"]), dict(c.get("label") or {}), c.get("low"), c.get("high"))
                for c in data.get("categories") or ()
            ),
            birth_field=data.get("birth_field") or None,
            date_field=data.get("date_field") or None,
        )


def _age(birth: Any, on: Any, made: dt.date) -> float | None:
    """Whole years from `birth` (ISO date) to `on` (ISO date, else `made`)."""
    try:
        born = dt.date.fromisoformat(birth) if isinstance(birth, str) else None
        day = dt.date.fromisoformat(on) if isinstance(on, str) and on else made
    except ValueError:
        return None
    if born is None or born > day:
        return None
    return float(day.year - born.year - ((day.month, day.day) < (born.month, born.day)))


def dimension_key(indicator: str, dimension: str, category: str) -> str:
    """The aggregate key of an indicator's figure for one category of a dimension."""
    return f"{indicator}~{dimension}:{category}"


def validate(indicators: Iterable[Indicator], dimensions: Iterable[str] = ()) -> None:
    """Raise IndicatorError for an unknown kind, a missing part, an expression that does not
    parse, a ratio naming an indicator that is not there, or an unknown dimension."""
    indicators = list(indicators)
    names = {i.name for i in indicators}
    known = set(dimensions)
    for indicator in indicators:
        where = f"indicator {indicator.name}"
        if indicator.kind not in KINDS:
            raise IndicatorError(f"{where}: unknown kind {indicator.kind!r}")
        for name in indicator.by:
            if name not in known:
                raise IndicatorError(f"{where}: no dimension named {name!r}")
        if indicator.by and indicator.kind not in ("count", "sum", "avg", "persons"):
            raise IndicatorError(f"{where}: only counts, sums and persons are disaggregated")
        if indicator.approved_at_least is not None:
            if indicator.approved_at_least not in APPROVAL_LEVELS:
                raise IndicatorError(
                    f"{where}: approved_at_least is one of {', '.join(APPROVAL_LEVELS)}"
                )
            if indicator.kind not in APPROVABLE_KINDS:
                raise IndicatorError(f"{where}: only records' counts wait for approval")
        if indicator.kind == "ratio":
            for part in (indicator.numerator, indicator.denominator):
                if part not in names:
                    raise IndicatorError(f"{where}: no indicator named {part!r}")
            continue
        if indicator.kind == "reference":
            if not indicator.reference:
                raise IndicatorError(f"{where}: name the reference figure")
            continue
        if not indicator.forms:
            raise IndicatorError(f"{where}: name at least one form")
        if indicator.kind in ("sum", "avg") and not indicator.field:
            raise IndicatorError(f"{where}: name the field to add up")
        expressions_ = [t.filter for t in indicator.tests() if t.filter]
        if indicator.latest is not None:
            expressions_.append(indicator.latest.test)
        for text in expressions_:
            try:
                expressions.parse(text)
            except expressions.ExpressionError as error:
                raise IndicatorError(f"{where}: {text!r}: {error.render('en')}") from error


# -- records ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Record:
    """What the aggregates need of a submission."""

    id: str
    form_name: str
    org_code: str
    period: str | None
    status: str
    created: dt.datetime  # UTC, naive
    data: Mapping[str, Any]
    author: str = ""
    path: str | None = None  # its unit's path ("/110000/110101/…/"), where known
    approved: tuple[str, ...] = ()  # the review levels that have approved it

    @property
    def approval(self) -> int:
        """The rank of the highest level that approved it (0: none)."""
        return max((APPROVAL_LEVELS.get(level, 0) for level in self.approved), default=0)

    @property
    def counted(self) -> bool:
        return self.status != "draft"

    def own_period(self) -> str:
        """The period the record counts in: its own, or (forms without one) the month of the
        Beijing day it was created."""
        if self.period and periods.period_type_of(self.period):
            return self.period
        day = periods.beijing_date(self.created)
        return f"{day.year:04d}-{day.month:02d}"


@dataclass
class Fact:
    """A counted record, reduced to what the indicators read: the tests it passes (their
    index in the Catalogue), the numbers it adds, its person key and its order date."""

    submission_id: str
    form_name: str
    org_code: str
    period: str
    person: str | None
    author: str
    at: str  # the order date (ISO), or the creation time
    passes: frozenset[int]
    numbers: dict[str, float] = field(default_factory=dict)
    latest_ok: frozenset[int] = frozenset()  # indices of Latest tests this record passes
    on_time: bool = True
    # The record's category in each dimension an indicator of its form is kept by.
    dims: dict[str, str] = field(default_factory=dict)
    approval: int = 0  # the rank of the highest review level that approved it


def approved_name(name: str, level: str) -> str:
    """The key of an indicator (or "form:<name>") kept for records approved at `level`+."""
    return f"{name}@{level}"


def approved_variants(indicators: list[Indicator], level: str) -> list[Indicator]:
    """For each indicator that counts records (and has no floor of its own), the same one
    counting only the records approved at `level` or above; ratios of such indicators
    become ratios of their variants."""
    if level not in APPROVAL_LEVELS:
        raise IndicatorError(f"approved_at_least is one of {', '.join(APPROVAL_LEVELS)}")
    found = []
    for i in indicators:
        if i.kind not in APPROVABLE_KINDS or i.approved_at_least or "@" in i.name:
            continue
        changes: dict[str, Any] = {"name": approved_name(i.name, level)}
        if i.kind == "ratio":
            changes["numerator"] = approved_name(i.numerator or "", level)
            changes["denominator"] = approved_name(i.denominator or "", level)
        else:
            changes["approved_at_least"] = level
        found.append(dataclasses.replace(i, **changes))
    return found


class Catalogue:
    """A set of indicators compiled for evaluation: each distinct record test once."""

    def __init__(
        self,
        indicators: Iterable[Indicator],
        dimensions: Iterable[Dimension] = (),
        thresholds: Iterable[str] = (),
    ):
        self.indicators = {i.name: i for i in indicators}
        self.dimensions = {d.name: d for d in dimensions}
        validate(self.indicators.values(), self.dimensions)
        # Review levels some report counts approved records from: each indicator is also
        # kept for the records approved at that level or above, as "<name>@<level>", and
        # each form's count as "form:<name>@<level>".
        self.thresholds = tuple(sorted(set(thresholds), key=lambda t: APPROVAL_LEVELS[t]))
        for level in self.thresholds:
            for derived in approved_variants(list(self.indicators.values()), level):
                self.indicators.setdefault(derived.name, derived)
        self.tests: list[Test] = []
        self._test_index: dict[str, int] = {}
        self.latest: list[Latest] = []
        for indicator in self.indicators.values():
            for test in indicator.tests():
                if test.key() not in self._test_index:
                    self._test_index[test.key()] = len(self.tests)
                    self.tests.append(test)
            if indicator.latest is not None and indicator.latest not in self.latest:
                self.latest.append(indicator.latest)
        self._filters = [expressions.parse(t.filter) if t.filter else None for t in self.tests]
        self._latest_tests = [expressions.parse(latest.test) for latest in self.latest]
        self.forms = {form for t in self.tests for form in t.forms}
        self._tests_of_form: dict[str, list[int]] = defaultdict(list)
        for index, test in enumerate(self.tests):
            for form in test.forms:
                self._tests_of_form[form].append(index)
        self.person_fields = {
            i.person for i in self.indicators.values() if i.kind == "persons"
        } or {"record_no"}
        self.sum_fields: dict[str, set[str]] = defaultdict(set)
        for i in self.indicators.values():
            if i.kind in ("sum", "avg") and i.field:
                for form in i.forms:
                    self.sum_fields[form].add(i.field)
        self.order_fields = {
            form: latest.order for latest in self.latest for form in latest.among.forms
        }
        # form → the dimensions its records are categorised by
        self.dims_of_form: dict[str, list[Dimension]] = defaultdict(list)
        for i in self.indicators.values():
            for name in i.by:
                for form in i.forms:
                    if self.dimensions[name] not in self.dims_of_form[form]:
                        self.dims_of_form[form].append(self.dimensions[name])
        # persons indicators kept by a dimension take the category from any of the person's
        # records in the period: every form that has the dimension's field
        self.person_dims = sorted(
            {name for i in self.indicators.values() if i.kind == "persons" for name in i.by}
        )

    def index(self, test: Test) -> int:
        return self._test_index[test.key()]

    def latest_index(self, latest: Latest) -> int:
        return self.latest.index(latest)

    def fact(self, record: Record) -> Fact | None:
        """The record as the indicators read it; None when it is not counted (a draft)."""
        if not record.counted:
            return None
        data = record.data or {}
        today = periods.beijing_date(record.created)
        passes = frozenset(
            index
            for index in self._tests_of_form[record.form_name]
            if (test := self._filters[index]) is None
            or expressions.truthy(test.evaluate(data, today=today))
        )
        numbers = {}
        for name in self.sum_fields.get(record.form_name, ()):
            number = _number(data.get(name))
            if number is not None:
                numbers[name] = number
        latest_ok = frozenset(
            index
            for index, latest in enumerate(self.latest)
            if record.form_name in latest.among.forms
            and expressions.truthy(self._latest_tests[index].evaluate(data, today=today))
        )
        person = None
        for name in self.person_fields:
            value = data.get(name)
            if isinstance(value, str) and value.strip():
                person = value.strip()
                break
        order = self.order_fields.get(record.form_name)
        at = data.get(order) if order else None
        own = record.own_period()
        dims = {
            d.name: d.category(data, today) for d in self.dims_of_form.get(record.form_name, ())
        }
        for name in self.person_dims:
            if name not in dims and person is not None:
                category = self.dimensions[name].category(data, today)
                if category:
                    dims[name] = category
        return Fact(
            submission_id=record.id,
            form_name=record.form_name,
            org_code=record.org_code,
            period=own,
            person=person,
            author=record.author,
            at=at if isinstance(at, str) and at else record.created.isoformat(),
            passes=passes,
            numbers=numbers,
            latest_ok=latest_ok,
            on_time=_on_time(own, record.created),
            dims=dims,
            approval=record.approval,
        )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    return expressions.to_number(value) if isinstance(value, str) else None


def _on_time(period: str, created: dt.datetime) -> bool:
    deadline = periods.period_end(period) + dt.timedelta(days=ON_TIME_DAYS)
    return periods.beijing_date(created) <= deadline


# -- contributions -----------------------------------------------------------------------------
# A contribution: (period bucket, indicator key) → (n, total). Keys are indicator names, and
# for units indicators also "<name>.on_time".
Cells = dict[tuple[str, str], tuple[int, float]]


def _add(cells: Cells, bucket: str, key: str, n: int, total: float = 0.0) -> None:
    old_n, old_total = cells.get((bucket, key), (0, 0.0))
    cells[(bucket, key)] = (old_n + n, old_total + total)


def record_cells(catalogue: Catalogue, fact: Fact | None) -> Cells:
    """What one record adds to the record-level indicators (count, sum, avg), in each
    period it counts in."""
    cells: Cells = {}
    if fact is None:
        return cells
    for bucket in periods.enclosing(fact.period):
        _add(cells, bucket, f"form:{fact.form_name}", 1)
        for level in catalogue.thresholds:
            if fact.approval >= APPROVAL_LEVELS[level]:
                _add(cells, bucket, approved_name(f"form:{fact.form_name}", level), 1)
    for indicator in catalogue.indicators.values():
        if indicator.kind not in ("count", "sum", "avg"):
            continue
        if catalogue.index(indicator.eligible) not in fact.passes:
            continue
        if not _approved_enough(indicator, fact):
            continue
        if indicator.kind == "count":
            n, total = 1, 0.0
        else:
            value = fact.numbers.get(indicator.field or "")
            if value is None:
                continue
            n, total = 1, value
        for bucket in periods.enclosing(fact.period):
            _add(cells, bucket, indicator.name, n, total)
            for name in indicator.by:
                key = dimension_key(indicator.name, name, fact.dims.get(name, ""))
                _add(cells, bucket, key, n, total)
    return cells


def _approved_enough(indicator: Indicator, fact: Fact) -> bool:
    floor = indicator.approved_at_least
    return floor is None or fact.approval >= APPROVAL_LEVELS[floor]


def person_cells(catalogue: Catalogue, facts: Iterable[Fact], buckets: Iterable[str]) -> Cells:
    """What one person (all their facts, of one unit) adds to the persons indicators, in
    each of `buckets`: 1 where the person counts."""
    facts = list(facts)
    cells: Cells = {}
    for bucket in buckets:
        inside = [f for f in facts if bucket in periods.enclosing(f.period)]
        if not inside:
            continue
        categories: dict[str, str] = {}
        for indicator in catalogue.indicators.values():
            if indicator.kind != "persons":
                continue
            counted = (
                inside
                if indicator.approved_at_least is None
                else [f for f in inside if _approved_enough(indicator, f)]
            )
            if counted and _person_counts(catalogue, indicator, counted):
                cells[(bucket, indicator.name)] = (1, 0.0)
                for name in indicator.by:
                    if name not in categories:
                        categories[name] = _person_category(inside, name)
                    key = dimension_key(indicator.name, name, categories[name])
                    cells[(bucket, key)] = (1, 0.0)
    return cells


def _person_category(facts: list[Fact], dimension: str) -> str:
    """A person's category in a period: that of their latest record in it that has one."""
    known = [f for f in facts if f.dims.get(dimension)]
    if not known:
        return ""
    return max(known, key=lambda f: (f.at, f.submission_id)).dims[dimension]


def _person_counts(catalogue: Catalogue, indicator: Indicator, facts: list[Fact]) -> bool:
    eligible = catalogue.index(indicator.eligible)
    if not any(eligible in f.passes for f in facts):
        return False
    for requirement in indicator.requirements:
        index = catalogue.index(requirement.test)
        if sum(1 for f in facts if index in f.passes) < requirement.min_count:
            return False
    if indicator.latest is not None:
        among = catalogue.index(indicator.latest.among)
        candidates = [f for f in facts if among in f.passes]
        if not candidates:
            return False
        last = max(candidates, key=lambda f: (f.at, f.submission_id))
        if catalogue.latest_index(indicator.latest) not in last.latest_ok:
            return False
    return True


def unit_cells(catalogue: Catalogue, facts: Iterable[Fact], buckets: Iterable[str]) -> Cells:
    """What one unit's records of one form add: 1 under "units:<form>" where the unit has a
    record in the bucket, and 1 under "units:<form>.on_time" where one of them came by the
    deadline of its own period."""
    facts = list(facts)
    cells: Cells = {}
    for bucket in buckets:
        inside = [f for f in facts if bucket in periods.enclosing(f.period)]
        if inside:
            key = f"units:{inside[0].form_name}"
            cells[(bucket, key)] = (1, 0.0)
            if any(f.on_time for f in inside):
                cells[(bucket, key + ".on_time")] = (1, 0.0)
    return cells


def author_cells(catalogue: Catalogue, facts: Iterable[Fact], buckets: Iterable[str]) -> Cells:
    """What one member of staff of one unit adds: 1 under "authors" where they recorded
    something in the bucket."""
    facts = list(facts)
    return {
        (bucket, "authors"): (1, 0.0)
        for bucket in buckets
        if any(bucket in periods.enclosing(f.period) for f in facts)
    }


def person_entity(fact: Fact) -> str | None:
    return None if fact.person is None else f"p|{fact.org_code}|{fact.person}"


def unit_entity(fact: Fact) -> str:
    return f"u|{fact.org_code}|{fact.form_name}"


def author_entity(fact: Fact) -> str:
    return f"a|{fact.org_code}|{fact.author}"


# The kinds of entity whose contribution can only grow as facts are added (each cell is 1
# where some fact is): a unit's reporting and a member of staff's work. A person's can
# shrink (a new follow-up may be out of control).
GROWING = frozenset("ua")

# The kinds of entity with a kept contribution: how a fact names its entity, and what the
# entity's facts contribute.
ENTITIES = {
    "p": (person_entity, person_cells),
    "u": (unit_entity, unit_cells),
    "a": (author_entity, author_cells),
}


# -- the full computation ----------------------------------------------------------------------
# Aggregates: (org code, bucket, key) → (n, total), for every unit on the way from the record's
# unit to the root.
Aggregates = dict[tuple[str, str, str], tuple[int, float]]


def ancestors(path: str) -> list[str]:
    """The codes of a path "/110000/110101/110101001/", root first."""
    return [code for code in path.split("/") if code]


def spread(aggregates: Aggregates, path: str, cells: Cells, sign: int = 1) -> None:
    """Add (or with sign -1 take away) a unit's cells to it and every unit above it."""
    for code in ancestors(path):
        for (bucket, key), (n, total) in cells.items():
            old_n, old_total = aggregates.get((code, bucket, key), (0, 0.0))
            aggregates[(code, bucket, key)] = (old_n + sign * n, old_total + sign * total)


def recompute(
    catalogue: Catalogue, records: Iterable[Record], paths: Mapping[str, str]
) -> Aggregates:
    """Every aggregate from the raw records, in memory: what the kept aggregates must equal.
    `paths` gives each unit's current path (a record of a unit not in it is left out)."""
    aggregates: Aggregates = {}
    entities: dict[str, list[Fact]] = defaultdict(list)
    for record in records:
        fact = catalogue.fact(record)
        if fact is None or record.org_code not in paths:
            continue
        spread(aggregates, paths[record.org_code], record_cells(catalogue, fact))
        for name_of, _cells_of in ENTITIES.values():
            entity = name_of(fact)
            if entity is not None:
                entities[entity].append(fact)
    for entity, facts in entities.items():
        cells_of = ENTITIES[entity[0]][1]
        buckets = {b for f in facts for b in periods.enclosing(f.period)}
        spread(aggregates, paths[facts[0].org_code], cells_of(catalogue, facts, buckets))
    return {k: v for k, v in aggregates.items() if v != (0, 0.0)}
