"""Reading statistical reports: a report definition, a unit and a period in, the table out.

The values come from the kept aggregates (report_aggregates: one row per unit, period and
key, each the sum over the unit's subtree), never from the submissions: a city report for a
year reads a few hundred rows however many records there are. Rows are the unit's children
in code order; a historical unit (崇文区, 宣武区, 密云县, 延庆县) is folded into its successor,
and a unit's own total includes the historical units it succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, func, or_, select

from forms import periods
from portal.models import PeriodApproval, ReportAggregate
from portal.resources import OrgUnit
from portal.services import aggregates
from portal.services.reference import figures as reference_figures
from reports import indicators as ind
from reports.indicators import dimension_key as ind_dimension_key


class ReportError(ValueError):
    """The report cannot be made as asked: `field` (period, org) and a message id."""

    def __init__(self, field_name: str, message):
        super().__init__(str(message))
        self.field = field_name
        self.message = message


@dataclass
class Column:
    key: str
    label: str
    kind: str = "count"  # count, number, rate
    groups: tuple[str, ...] = ()
    unit: str = ""
    numerator: str | None = None
    denominator: str | None = None
    decimals: int = 0


@dataclass
class Line:
    org: str
    label: str
    values: list
    link: bool = True  # a unit below which there is something to drill into


@dataclass
class Result:
    name: str
    title: str
    org: str
    org_name: str
    period: str
    columns: list[Column]
    rows: list[Line]
    total: list
    definition: dict
    # completeness: the units that did not report (at most MISSING_LIMIT), and how many
    missing: list[dict] = field(default_factory=list)
    missing_count: int = 0
    disaggregate: str | None = None
    disaggregate_label: str = ""
    # The forms whose period is approved for the report's unit (there or above it).
    approved_forms: list[dict] = field(default_factory=list)


def rate(numerator, denominator) -> float | None:
    """numerator / denominator × 100, rounded half up to one decimal; None when the
    denominator is 0 or either is missing."""
    if numerator is None or not denominator:
        return None
    value = Decimal(str(numerator)) * 100 / Decimal(str(denominator))
    return float(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def text(value: dict | str | None, language: str) -> str:
    if isinstance(value, dict):
        return value.get(language) or value.get("zh") or next(iter(value.values()), "")
    return value or ""


def check_period(period: str | None) -> str:
    if not isinstance(period, str) or periods.period_type_of(period) is None:
        raise ReportError("period", "report_period_format")
    return period


# -- the rows -------------------------------------------------------------------------------
def _successor_in(site, unit: OrgUnit, among: set[str]) -> str | None:
    seen = set()
    code = unit.successor
    while code and code not in seen:
        if code in among:
            return code
        seen.add(code)
        nxt = site.unit_by_code(code)
        code = nxt.successor if nxt is not None else None
    return None


def row_units(site, org: OrgUnit) -> tuple[list[OrgUnit], dict[str, list[str]]]:
    """The units that are rows (children of `org`, and children of historical units `org`
    succeeded), in code order, and for each row the codes whose sums make it up."""
    children = list(org.units())
    predecessors = [u for u in site.units.values() if _successor_in(site, u, {org.code})]
    for old in predecessors:
        if org.path.startswith(old.path):
            continue
        children += [c for c in old.units() if c.code not in {x.code for x in children}]
    codes = {c.code for c in children}
    parts: dict[str, list[str]] = {c.code: [c.code] for c in children}
    rows = []
    for child in sorted(children, key=lambda u: u.code):
        target = None if child.active else _successor_in(site, child, codes)
        if target is not None and target != child.code:
            parts[target].append(child.code)
            del parts[child.code]
        else:
            rows.append(child)
    own = [org.code] + [u.code for u in predecessors if not org.path.startswith(u.path)]
    parts[org.code] = own
    return rows, parts


# -- reading the aggregates -------------------------------------------------------------------
def _read(dbsession, codes: set[str], period: str, keys: set[str]) -> dict:
    table = ReportAggregate.__table__
    found: dict[tuple[str, str], tuple[int, float]] = {}
    if not keys or not codes:
        return found
    query = select(table.c.org_code, table.c.key, table.c.n, table.c.total).where(
        table.c.org_code.in_(sorted(codes)),
        table.c.period == period,
        table.c.key.in_(sorted(keys)),
    )
    for code, key, n, total in dbsession.execute(query):
        found[(code, key)] = (n, total)
    return found


def _read_cumulative(dbsession, codes: set[str], period: str, keys: set[str]) -> dict:
    """Sums of everything whose period ended by the period's end (records held, not made
    in it). Rather than every month since the first record, it reads the whole years
    before, the whole quarters of the year before, and the months of the quarter so far:
    at most a row per year and six more per unit and key, however long the history."""
    table = ReportAggregate.__table__
    if not keys or not codes:
        return {}
    end = periods.period_end(period)
    quarters_done = end.month // 3  # quarters of the year that have ended by `end`
    if quarters_done == 4:
        this_year = [f"{end.year:04d}"]
    else:
        this_year = [f"{end.year:04d}-Q{q}" for q in range(1, quarters_done + 1)] + [
            f"{end.year:04d}-{m:02d}" for m in range(quarters_done * 3 + 1, end.month + 1)
        ]
    period_column = table.c.period
    query = (
        select(table.c.org_code, table.c.key, func.sum(table.c.n), func.sum(table.c.total))
        .where(
            table.c.org_code.in_(sorted(codes)),
            table.c.key.in_(sorted(keys)),
            or_(
                and_(func.length(period_column) == 4, period_column < f"{end.year:04d}"),
                period_column.in_(this_year),
            ),
        )
        .group_by(table.c.org_code, table.c.key)
    )
    return {(code, key): (n or 0, total or 0.0) for code, key, n, total in dbsession.execute(query)}


class _Values:
    """The values of one report for every row and the total, by key."""

    def __init__(
        self,
        dbsession,
        site,
        indicators: dict[str, dict],
        parts,
        period: str,
        approved_at_least: str | None = None,
    ):
        self.dbsession, self.site, self.indicators = dbsession, site, indicators
        self.parts, self.period = parts, period
        self.codes = {c for codes in parts.values() for c in codes}
        self.approved_at_least = approved_at_least
        self._plain: dict = {}
        self._cumulative: dict = {}
        self._reference: dict = {}

    def _kept_key(self, key: str) -> str:
        """The aggregate key a report reads for `key`: with `approved_at_least`, that of
        the records approved at that level or above ("name@district~sex:1")."""
        level = self.approved_at_least
        if not level:
            return key
        base, sep, rest = key.partition("~")
        indicator = self.indicators.get(base)
        if base.startswith("form:") or (
            indicator is not None and indicator["kind"] in ind.APPROVABLE_KINDS
        ):
            return ind.approved_name(base, level) + sep + rest
        return key

    def load(self, keys: set[str]) -> None:
        keys = {self._kept_key(key) for key in keys}
        plain, cumulative, reference = set(), set(), set()
        for key in keys:
            indicator = self.indicators.get(_base(key).partition("@")[0])
            if indicator is None:
                plain.add(key)
            elif indicator["kind"] == "reference":
                reference.add(indicator["reference"])
            elif indicator.get("cumulative"):
                cumulative.add(key)
            else:
                plain.add(key)
        self._plain = _read(self.dbsession, self.codes, self.period, plain)
        self._cumulative = _read_cumulative(self.dbsession, self.codes, self.period, cumulative)
        if reference:
            # A unit's own figure where one is entered, else the sum of those below it.
            self._reference = reference_figures(
                self.dbsession, self.site, sorted(self.parts), int(self.period[:4]), reference
            )

    def value(self, row: str, key: str | None, part: str = "n"):
        if key is None:
            return None
        indicator = self.indicators.get(_base(key))
        key = self._kept_key(key)
        if indicator is not None and indicator["kind"] == "reference":
            figure = self._reference.get(row, {}).get(indicator["reference"])
            return None if figure is None else round(figure)
        source = self._cumulative if indicator and indicator.get("cumulative") else self._plain
        n = total = 0
        for code in self.parts[row]:
            cell = source.get((code, key))
            if cell:
                n += cell[0]
                total += cell[1]
        if part == "total":
            return round(total, 2) if total % 1 else int(total)
        if part == "avg":
            return round(total / n, 2) if n else None
        return n


def _base(key: str) -> str:
    """The indicator of an aggregate key ("htn_patients~sex:1" → "htn_patients")."""
    return key.split("~", 1)[0]


# -- disaggregation -------------------------------------------------------------------------------
UNKNOWN = {"zh": "未知", "en": "Unknown"}


def disaggregations(site, definition: dict) -> list[dict]:
    """The dimensions (dicts) a report may be disaggregated by, in its definition's order."""
    known = {d["name"]: d for d in site["reports"].dimension_dicts()}
    return [known[name] for name in definition.get("disaggregations", ()) if name in known]


def _split(indicators: dict, dimension: dict | None, name: str) -> bool:
    return dimension is not None and dimension["name"] in indicators.get(name, {}).get("by", ())


def _categories(dimension: dict) -> list[tuple[str, dict]]:
    """(code, label) of each category of the dimension, the unknown one last."""
    return [(c["code"], c["label"]) for c in dimension["categories"]] + [("", UNKNOWN)]


def _by(key: str, dimension: dict, code: str) -> str:
    return ind_dimension_key(key, dimension["name"], code)


# -- layouts ----------------------------------------------------------------------------------
def _forms(site) -> list:
    folder = site["forms"]
    return [folder[name] for name in folder if folder[name].latest is not None]


def check(site, definition: dict, period: str, disaggregate: str | None) -> None:
    """Raise ReportError as `build` would for the period and the disaggregation, without
    building the report."""
    check_period(period)
    if disaggregate and disaggregate not in {d["name"] for d in disaggregations(site, definition)}:
        raise ReportError("disaggregate", "report_disaggregate_unknown")


def build(
    dbsession,
    site,
    definition: dict,
    org: OrgUnit,
    period: str,
    language: str = "zh",
    disaggregate: str | None = None,
    registry=None,
) -> Result:
    """The report for `org` (its children as rows) and `period`; with `disaggregate` (one of
    the definition's `disaggregations`), the figures that can be are also given for each
    category of that dimension, in columns of their own after the whole's."""
    check_period(period)
    if not aggregates.is_current(dbsession, site, registry):
        raise ReportError("stale", "report_stale")
    dimension = None
    if disaggregate:
        found = [d for d in disaggregations(site, definition) if d["name"] == disaggregate]
        if not found:
            raise ReportError("disaggregate", "report_disaggregate_unknown")
        dimension = found[0]
    rows, parts = row_units(site, org)
    folder = site["reports"]
    indicators = {i["name"]: i for i in folder.indicator_dicts()}
    values = _Values(
        dbsession, site, indicators, parts, period, definition.get("approved_at_least")
    )
    layout = definition.get("layout")
    columns: list[Column] = []
    getters: list = []  # per column: function(row code) -> value
    t = lambda v: text(v, language)  # noqa: E731

    if layout in ("forms", "workload"):
        forms = _forms(site)
        keys = {f"form:{f.name}" for f in forms}
        if layout == "workload":
            keys.add("authors")
        values.load(keys)
        for form in forms:
            columns.append(Column(form.name, _title(form, language)))
            getters.append(lambda r, k=f"form:{form.name}": values.value(r, k))
        if layout == "workload":
            names = [f"form:{f.name}" for f in forms]
            columns += [
                Column("total", text({"zh": "合计记录数", "en": "All records"}, language)),
                Column("staff", text({"zh": "填报人员数", "en": "Staff"}, language)),
                Column(
                    "per_staff",
                    text({"zh": "人均记录数", "en": "Records per staff"}, language),
                    kind="number",
                    decimals=1,
                ),
            ]
            total_of = lambda r: sum(values.value(r, k) for k in names)  # noqa: E731
            getters += [
                total_of,
                lambda r: values.value(r, "authors"),
                lambda r: (
                    round(total_of(r) / values.value(r, "authors"), 1)
                    if values.value(r, "authors")
                    else None
                ),
            ]
    elif layout == "measures":
        measures = definition.get("measures", [])
        keys = {k for m in measures for k in (m["numerator"], m["denominator"])}
        for m in measures:
            for part in ("numerator", "denominator"):
                if _split(indicators, dimension, m[part]):
                    keys |= {_by(m[part], dimension, c) for c, _l in _categories(dimension)}
        values.load(keys)
        labels = (
            text({"zh": "分子", "en": "Numerator"}, language),
            text({"zh": "分母", "en": "Denominator"}, language),
            text({"zh": "率(%)", "en": "Rate (%)"}, language),
        )

        def measure(key: str, group: tuple, a: str | None, b: str | None, suffix="") -> None:
            num, den = f"{key}.num{suffix}", f"{key}.den{suffix}"
            columns.extend(
                [
                    Column(num, labels[0], groups=group),
                    Column(den, labels[1], groups=group),
                    Column(
                        f"{key}.rate{suffix}",
                        labels[2],
                        kind="rate",
                        groups=group,
                        numerator=num,
                        denominator=den,
                        decimals=1,
                    ),
                ]
            )
            getters.extend(
                [
                    lambda r: values.value(r, a),
                    lambda r: values.value(r, b),
                    lambda r: rate(values.value(r, a), values.value(r, b)),
                ]
            )

        for m in measures:
            group = (t(m["label"]),)
            measure(m["name"], group, m["numerator"], m["denominator"])
            if _split(indicators, dimension, m["numerator"]):
                assert dimension is not None
                for code, label in _categories(dimension):
                    a = _by(m["numerator"], dimension, code)
                    # A denominator that is not kept by the dimension (a population figure)
                    # has no share per category: no denominator, no rate.
                    split_den = _split(indicators, dimension, m["denominator"])
                    b = _by(m["denominator"], dimension, code) if split_den else None
                    suffix = _by("", dimension, code)  # "~age_band:65+"
                    measure(m["name"], (*group, t(label)), a, b, suffix)
    elif layout == "columns":
        cols = definition.get("columns", [])
        keys = {c["indicator"] for c in cols}
        for c in cols:
            if _split(indicators, dimension, c["indicator"]):
                keys |= {
                    _by(c["indicator"], dimension, code) for code, _l in _categories(dimension)
                }
        values.load(keys)
        for c in cols:
            kind = "number" if c.get("part") in ("total", "avg") else "count"
            unit_label = t(c.get("unit"))
            part = c.get("part", "n")
            columns.append(Column(c["key"], t(c["label"]), kind=kind, unit=unit_label))
            getters.append(lambda r, k=c["indicator"], p=part: values.value(r, k, p))
            if _split(indicators, dimension, c["indicator"]):
                assert dimension is not None
                for code, label in _categories(dimension):
                    columns.append(
                        Column(
                            _by(c["key"], dimension, code),
                            t(label),
                            kind=kind,
                            unit=unit_label,
                            groups=(t(c["label"]),),
                        )
                    )
                    key = _by(c["indicator"], dimension, code)
                    getters.append(lambda r, k=key, p=part: values.value(r, k, p))
    elif layout == "completeness":
        return _completeness(dbsession, site, definition, org, period, language, rows, parts)
    else:
        raise ReportError("name", "report_layout_unknown")

    lines = [
        Line(u.code, u.name, [get(u.code) for get in getters], link=bool(len(u))) for u in rows
    ]
    total = [get(org.code) for get in getters]
    return Result(
        definition["name"],
        t(definition["title"]),
        org.code,
        org.name,
        period,
        columns,
        lines,
        total,
        definition,
        disaggregate=dimension["name"] if dimension else None,
        disaggregate_label=t(dimension["label"]) if dimension else "",
        approved_forms=approved_forms(dbsession, site, org, period, language),
    )


def approved_forms(dbsession, site, org: OrgUnit, period: str, language: str) -> list[dict]:
    """The forms whose `period` is approved (period approval) at `org` or a unit above it:
    their records there are locked."""
    parts = [p for p in org.path.split("/") if p]
    paths = ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
    rows = dbsession.execute(
        select(PeriodApproval.form_name, PeriodApproval.org_code, PeriodApproval.level)
        .where(
            PeriodApproval.period == period,
            PeriodApproval.org_path.in_(paths),
            PeriodApproval.revoked_at.is_(None),
        )
        .order_by(PeriodApproval.form_name)
    ).all()
    forms = site["forms"]
    found = []
    for form_name, code, level in rows:
        form = forms.get(form_name)
        title = _title(form, language) if form is not None else form_name
        found.append({"form": form_name, "title": title, "org": code, "level": level})
    return found


def _title(form, language: str) -> str:
    definition = form.latest.definition()
    title = definition.title
    return title.get(language) if hasattr(title, "get") else str(title)


def _is_expected(unit: OrgUnit, levels: tuple[str, ...], start, end) -> bool:
    """A unit of the form's levels, active at some time during the period."""
    if unit.type not in levels:
        return False
    if unit.valid_from and unit.valid_from > end:
        return False
    return unit.active or (unit.valid_to is not None and unit.valid_to >= start)


def _period_bounds(period: str):
    return periods.period_start(periods.period_type_of(period), period), periods.period_end(period)


def _expected(site, codes: list[str], levels: tuple[str, ...], period: str) -> int:
    """Units under the rows' codes, of the form's levels, active during the period."""
    start, end = _period_bounds(period)
    count = 0
    for code in codes:
        unit = site.unit_by_code(code)
        for u in unit.walk() if unit is not None else ():
            count += _is_expected(u, levels, start, end)
    return count


# The missing units listed with a completeness report, at most (the count is always given).
MISSING_LIMIT = 500


def _missing(dbsession, org: OrgUnit, period: str, per_form, titles: dict) -> tuple[list, int]:
    """The units of `org`'s subtree expected to report each periodic form in the period
    that have no record of it (not counting what the units below them sent): by form, then
    code. A unit's own count is its subtree's less its children's subtrees'."""
    start, end = _period_bounds(period)
    units = list(org.walk())
    children: dict[str, list[str]] = {}
    for unit in units:
        parent = getattr(unit.__parent__, "code", None)
        if parent is not None:
            children.setdefault(parent, []).append(unit.code)
    keys = {f"units:{name}" for name, _levels in per_form}
    got = _read(dbsession, {u.code for u in units}, period, keys)

    def n(code: str, key: str) -> int:
        return got.get((code, key), (0, 0.0))[0]

    found, count = [], 0
    for name, levels in per_form:
        key = f"units:{name}"
        for unit in sorted(units, key=lambda u: u.code):
            if not _is_expected(unit, levels, start, end):
                continue
            if n(unit.code, key) - sum(n(c, key) for c in children.get(unit.code, ())) > 0:
                continue
            count += 1
            if len(found) < MISSING_LIMIT:
                parent = unit.__parent__
                found.append(
                    {
                        "form": name,
                        "form_title": titles[name],
                        "org": unit.code,
                        "label": unit.name,
                        "parent": getattr(parent, "name", ""),
                    }
                )
    return found, count


def _completeness(dbsession, site, definition, org, period, language, rows, parts) -> Result:
    t = lambda v: text(v, language)  # noqa: E731
    forms = [f for f in _forms(site) if f.latest.definition().period_type != "none"]
    folder = site["reports"]
    indicators = {i["name"]: i for i in folder.indicator_dicts()}
    values = _Values(
        dbsession, site, indicators, parts, period, definition.get("approved_at_least")
    )
    values.load({f"units:{f.name}" for f in forms} | {f"units:{f.name}.on_time" for f in forms})
    columns = [
        Column(
            "completeness.expected",
            t({"zh": "应报单位数", "en": "Expected"}),
            groups=(t({"zh": "合计", "en": "All forms"}),),
        ),
        Column(
            "completeness.received",
            t({"zh": "实报单位数", "en": "Received"}),
            groups=(t({"zh": "合计", "en": "All forms"}),),
        ),
        Column(
            "completeness.on_time",
            t({"zh": "及时单位数", "en": "On time"}),
            groups=(t({"zh": "合计", "en": "All forms"}),),
        ),
        Column(
            "completeness.rate",
            t({"zh": "报告率(%)", "en": "Reporting rate (%)"}),
            kind="rate",
            groups=(t({"zh": "合计", "en": "All forms"}),),
            numerator="completeness.received",
            denominator="completeness.expected",
            decimals=1,
        ),
    ]
    per_form = []
    for form in forms:
        levels = tuple(form.latest.definition().levels)
        group = (_title(form, language),)
        columns += [
            Column(f"{form.name}.expected", t({"zh": "应报", "en": "Expected"}), groups=group),
            Column(f"{form.name}.received", t({"zh": "实报", "en": "Received"}), groups=group),
            Column(f"{form.name}.on_time", t({"zh": "及时", "en": "On time"}), groups=group),
            Column(
                f"{form.name}.rate",
                t({"zh": "报告率(%)", "en": "Rate (%)"}),
                kind="rate",
                groups=group,
                numerator=f"{form.name}.received",
                denominator=f"{form.name}.expected",
                decimals=1,
            ),
        ]
        per_form.append((form.name, levels))

    def line(code: str) -> list:
        cells, sums = [], [0, 0, 0]
        for name, levels in per_form:
            expected = _expected(site, parts[code], levels, period)
            received = values.value(code, f"units:{name}")
            on_time = values.value(code, f"units:{name}.on_time")
            cells += [expected, received, on_time, rate(received, expected)]
            sums[0] += expected
            sums[1] += received
            sums[2] += on_time
        return [*sums, rate(sums[1], sums[0]), *cells]

    lines = [Line(u.code, u.name, line(u.code), link=bool(len(u))) for u in rows]
    titles = {form.name: _title(form, language) for form in forms}
    missing, missing_count = _missing(dbsession, org, period, per_form, titles)
    return Result(
        definition["name"],
        t(definition["title"]),
        org.code,
        org.name,
        period,
        columns,
        lines,
        line(org.code),
        definition,
        missing=missing,
        missing_count=missing_count,
    )


def as_json(result: Result) -> dict:
    return {
        "name": result.name,
        "title": result.title,
        "org": result.org,
        "period": result.period,
        "columns": [{"key": c.key, "label": c.label} for c in result.columns],
        "rows": [{"org": r.org, "label": r.label, "values": r.values} for r in result.rows],
        "total": result.total,
        # Which records it counts: every submitted one, or those approved at a level or above.
        "approved_at_least": result.definition.get("approved_at_least"),
        # The forms whose period is approved (locked) for this unit.
        "period_approved": [
            {"form": a["form"], "org": a["org"], "level": a["level"]} for a in result.approved_forms
        ],
        **({"disaggregate": result.disaggregate} if result.disaggregate else {}),
        **(
            {"missing": result.missing, "missing_count": result.missing_count}
            if result.definition.get("layout") == "completeness"
            else {}
        ),
    }
