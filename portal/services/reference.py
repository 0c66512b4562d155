"""Reference figures: the per-unit, per-year denominators of the indicators that are not
counted from records (常住人口, 65岁及以上常住人口, 0～6岁儿童数, 活产数, estimated patients).

A unit's figure for a year is its own value where one is entered; otherwise the sum of its
children's figures (each by the same rule); none when nothing below it has one. Values are
edited one unit at a time or imported from CSV/XLSX (checked whole, applied all or
nothing), and exported in the same shape.
"""

from __future__ import annotations

import bisect
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO

from pyramid.i18n import TranslationString, make_localizer
from pyramid.interfaces import ITranslationDirectories
from sqlalchemy import select

from exports import tables
from portal import audit
from portal.i18n import LOCALES, _, translate
from portal.models import ReferenceValue, UnitPath, in_subtrees, utcnow
from portal.resources import OrgUnit, Site

# The unit import's wording for files that are not tables: the same problem, the same words.
from portal.services.orgtree import _TABLE_ERRORS


@dataclass(frozen=True)
class Kind:
    code: str
    label: TranslationString
    unit: TranslationString


_PERSONS = _("ref_unit_persons", default="persons")
KINDS: tuple[Kind, ...] = (
    Kind("population", _("ref_kind_population", default="Resident population"), _PERSONS),
    Kind(
        "population_65",
        _("ref_kind_population_65", default="Resident population aged 65 and over"),
        _PERSONS,
    ),
    Kind("children_0_6", _("ref_kind_children_0_6", default="Children aged 0–6"), _PERSONS),
    Kind("live_births", _("ref_kind_live_births", default="Live births"), _PERSONS),
    Kind(
        "hypertension_est",
        _("ref_kind_hypertension_est", default="Estimated hypertension patients"),
        _PERSONS,
    ),
    Kind(
        "diabetes_est",
        _("ref_kind_diabetes_est", default="Estimated diabetes patients"),
        _PERSONS,
    ),
)
KIND_CODES: tuple[str, ...] = tuple(kind.code for kind in KINDS)
KIND_BY_CODE: dict[str, Kind] = {kind.code: kind for kind in KINDS}

YEAR_MIN, YEAR_MAX = 2000, 2100
# The exchange format, and the Chinese headings a hand-made file may use instead.
COLUMNS = ("code", "year", "kind", "value")
COLUMN_ALIASES = {"机构代码": "code", "年份": "year", "指标": "kind", "数值": "value"}
MAX_IMPORT_ROWS = 50_000
MAX_IMPORT_BYTES = 20 * 1024 * 1024
_YEAR_RE = re.compile(r"[0-9]{4}")
# A number as people type it: 1234, 1234.5, 1,234,567 (thousands separated by commas).
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]*)?|[+-]?\.[0-9]+")


class FigureError(ValueError):
    """A value the rules refuse: `message` is a translation string."""

    def __init__(self, message: TranslationString):
        super().__init__(message)
        self.message = message


# -- the rule ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    value: float
    own: bool  # entered for the unit itself, not summed from the units below


def figure_details(
    dbsession, site: Site, codes: Iterable[str], year: int, kinds: Iterable[str] | None = None
) -> dict[str, dict[str, Figure]]:
    """As `figures`, each figure saying whether it is the unit's own or a sum."""
    kinds = list(KIND_CODES if kinds is None else kinds)
    units = {code: site.unit_by_code(code) for code in codes}
    paths = {code: unit.path for code, unit in units.items() if unit is not None}
    found: dict[str, dict[str, Figure]] = {code: {} for code in paths}
    if not paths or not kinds:
        return found
    values, unit_paths = ReferenceValue.__table__, UnitPath.__table__
    # First the units' own values: where every unit asked about has its own (the usual
    # case, and the demo's), nothing below them need be read.
    own = dbsession.execute(
        select(values.c.org_code, values.c.kind, values.c.value).where(
            values.c.year == year,
            values.c.kind.in_(kinds),
            values.c.org_code.in_(sorted(paths)),
        )
    ).all()
    for code, kind, value in own:
        found[code][kind] = Figure(value, own=True)
    wanting = {code: [k for k in kinds if k not in found[code]] for code in paths}
    wanting = {code: missing for code, missing in wanting.items() if missing}
    if not wanting:
        return found
    # Then one query: the year's entered values in the subtrees still wanting, by path.
    dialect = dbsession.get_bind().dialect.name
    rows = dbsession.execute(
        select(unit_paths.c.path, values.c.kind, values.c.value)
        .join(unit_paths, unit_paths.c.code == values.c.org_code)
        .where(
            values.c.year == year,
            values.c.kind.in_(sorted({k for missing in wanting.values() for k in missing})),
            in_subtrees(unit_paths.c.path, sorted({paths[code] for code in wanting}), dialect),
        )
    ).all()
    by_kind: dict[str, list[tuple[str, float]]] = {}
    for path, kind, value in rows:
        by_kind.setdefault(kind, []).append((path, value))
    for kind, pairs in by_kind.items():
        entered = sorted(pairs)
        sorted_paths = [path for path, _value in entered]
        for code, missing in wanting.items():
            if kind in missing:
                figure = _figure(entered, sorted_paths, paths[code])
                if figure is not None:
                    found[code][kind] = figure
    return found


def _figure(entered: list[tuple[str, float]], sorted_paths: list[str], path: str):
    """The figure at `path` from the (path, value) pairs sorted by path: its own value, or
    the sum of the highest values below it. A subtree's paths are one run of the sorted
    list, and below a value its own subtree is skipped, so each value is looked at once."""
    index = bisect.bisect_left(sorted_paths, path)
    if index < len(entered) and entered[index][0] == path:
        return Figure(entered[index][1], own=True)
    total, any_below = 0.0, False
    while index < len(entered) and entered[index][0].startswith(path):
        top, value = entered[index]
        total += value
        any_below = True
        index += 1
        while index < len(entered) and entered[index][0].startswith(top):
            index += 1  # below a unit with its own figure: already counted in it
    return Figure(total, own=False) if any_below else None


def figures(
    dbsession, site: Site, codes: Iterable[str], year: int, kinds: Iterable[str] | None = None
) -> dict[str, dict[str, float]]:
    """Each unit's reference figures for the year, by kind (all kinds when `kinds` is None):
    its own value where one is entered, else the sum of its children's figures, and no
    entry for a kind where nothing below it has one. Every code of an existing unit is a
    key (its dict may be empty). One SQL query, whatever the number of units."""
    return {
        code: {kind: figure.value for kind, figure in by_kind.items()}
        for code, by_kind in figure_details(dbsession, site, codes, year, kinds).items()
    }


def own_values(dbsession, code: str, year: int) -> dict[str, float]:
    """The values entered for the unit itself for the year, by kind."""
    rows = dbsession.execute(
        select(ReferenceValue.kind, ReferenceValue.value).where(
            ReferenceValue.org_code == code, ReferenceValue.year == year
        )
    ).all()
    return dict(rows)


# -- checks: each returns a translation string saying what is wrong, or None ------------------
def year_problem(year) -> TranslationString | None:
    if not isinstance(year, int) or not YEAR_MIN <= year <= YEAR_MAX:
        return _(
            "ref_bad_year",
            default="A year is a whole number from ${min} to ${max}.",
            mapping={"min": YEAR_MIN, "max": YEAR_MAX},
        )
    return None


def value_problem(value) -> TranslationString | None:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return _("ref_not_a_number", default="Enter a number, such as 12345.")
    if value < 0:
        return _("ref_negative", default="A figure cannot be negative.")
    return None


def kind_problem(kind: str) -> TranslationString | None:
    if kind not in KIND_BY_CODE:
        return _(
            "ref_unknown_kind",
            default="Unknown indicator “${kind}”; use one of: ${kinds}.",
            mapping={"kind": kind, "kinds": ", ".join(KIND_CODES)},
        )
    return None


def _check(problem) -> None:
    if problem is not None:
        raise FigureError(problem)


def parse_number(text: str) -> float | None:
    """A number as typed (commas between thousands allowed), or None when it is not one."""
    text = unicodedata.normalize("NFKC", text).strip()
    if not _NUMBER_RE.fullmatch(text):
        return None
    return float(text.replace(",", ""))


# -- changes ----------------------------------------------------------------------------------
def _actor(request) -> str | None:
    identity = request.identity
    return identity.login if identity is not None else None


def set_value(request, unit: OrgUnit, year: int, kind: str, value: float) -> float | None:
    """Enter the unit's own figure; returns the value it replaces (None: there was none).
    An unchanged value writes nothing. Raises FigureError."""
    _check(year_problem(year))
    _check(kind_problem(kind))
    _check(value_problem(value))
    value = float(value)
    row = request.dbsession.get(ReferenceValue, (unit.code, year, kind))
    old = row.value if row is not None else None
    if old == value:
        return old
    if row is None:
        request.dbsession.add(
            ReferenceValue(
                org_code=unit.code,
                year=year,
                kind=kind,
                value=value,
                updated=utcnow(),
                updated_by=_actor(request),
            )
        )
    else:
        row.value, row.updated, row.updated_by = value, utcnow(), _actor(request)
    audit.record(
        request,
        "reference.set",
        target=unit.code,
        unit=unit,
        detail={"year": year, "kind": kind, "old": old, "new": value},
    )
    return old


def delete_value(request, unit: OrgUnit, year: int, kind: str) -> float | None:
    """Remove the unit's own figure (its figure becomes the sum of the units below);
    returns the value removed, or None when there was none (and nothing is recorded)."""
    row = request.dbsession.get(ReferenceValue, (unit.code, year, kind))
    if row is None:
        return None
    old = row.value
    request.dbsession.delete(row)
    # Until flushed, the session would still hand out the deleted row.
    request.dbsession.flush()
    audit.record(
        request,
        "reference.delete",
        target=unit.code,
        unit=unit,
        detail={"year": year, "kind": kind, "old": old},
    )
    return old


# -- export -----------------------------------------------------------------------------------
def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def export_rows(dbsession, scope: OrgUnit, year: int | None = None) -> list[dict]:
    """The values entered in the scope's subtree (for one year, or all), by year, then in
    tree order, then in the order of KINDS."""
    values, unit_paths = ReferenceValue.__table__, UnitPath.__table__
    dialect = dbsession.get_bind().dialect.name
    query = (
        select(values.c.org_code, values.c.year, values.c.kind, values.c.value, unit_paths.c.path)
        .join(unit_paths, unit_paths.c.code == values.c.org_code)
        .where(in_subtrees(unit_paths.c.path, [scope.path], dialect))
    )
    if year is not None:
        query = query.where(values.c.year == year)
    order = {code: index for index, code in enumerate(KIND_CODES)}
    rows = sorted(
        dbsession.execute(query).all(),
        key=lambda r: (r.year, r.path, order.get(r.kind, len(order)), r.kind),
    )
    return [
        {"code": r.org_code, "year": r.year, "kind": r.kind, "value": _number(r.value)}
        for r in rows
    ]


def export_table(dbsession, scope: OrgUnit, fmt: str, year: int | None = None) -> bytes:
    rows = export_rows(dbsession, scope, year)
    if fmt == tables.XLSX:
        return tables.write_xlsx(COLUMNS, rows, sheet_title="reference")
    return tables.write_csv(COLUMNS, rows)


# -- import -----------------------------------------------------------------------------------
@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list = field(default_factory=list)


def _normalise_label(text: str) -> str:
    """A kind's name as compared: width-folded, lower-case, without spaces, with any
    tilde or dash between the ages written ~ (0～6, 0~6, 0-6, 0–6)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"\s+", "", text)
    return re.sub(r"[-–—〜~]", "~", text)


def kind_names(registry) -> dict[str, str]:
    """Every name a kind may be given in a file -> its code: the code itself and its label
    in each of the portal's languages (from the catalogues)."""
    names = {}
    for kind in KINDS:
        names[_normalise_label(kind.code)] = kind.code
        names[_normalise_label(kind.label.default)] = kind.code
    directories = registry.queryUtility(ITranslationDirectories, default=[]) if registry else []
    for locale in LOCALES:
        localizer = make_localizer(locale, directories)
        for kind in KINDS:
            names.setdefault(_normalise_label(localizer.translate(kind.label)), kind.code)
    return names


@dataclass
class _Planned:
    row: int
    unit: OrgUnit
    year: int
    kind: str
    value: float


class _Importer:
    def __init__(self, request, scope: OrgUnit):
        self.request = request
        self.site: Site = request.root_site
        self.scope = scope
        self.errors: list[tuple[int, int, TranslationString]] = []
        self.headings: dict[str, str] = {}
        self.plans: list[_Planned] = []
        self.table_format = ""
        self.kind_names = kind_names(getattr(request, "registry", None))

    def file_error(self, message) -> None:
        self.errors.append((0, len(self.errors), message))

    def row_error(self, row: int, column: str | None, message) -> None:
        text = translate(self.request.localizer, message)
        if column is None:
            error = _(
                "import_row_error_nocol",
                default="Row ${row}: ${message}",
                mapping={"row": row, "message": text},
            )
        else:
            error = _(
                "import_row_error",
                default="Row ${row}, column ${column}: ${message}",
                mapping={"row": row, "column": self.headings.get(column, column), "message": text},
            )
        self.errors.append((row, len(self.errors), error))

    def sorted_errors(self) -> list:
        return [message for _row, _order, message in sorted(self.errors)]

    def read(self, fileobj: IO[bytes], filename: str) -> list[tables.Row] | None:
        data = fileobj.read(MAX_IMPORT_BYTES + 1)
        if len(data) > MAX_IMPORT_BYTES:
            self.file_error(
                _(
                    "import_too_big",
                    default="The file is larger than ${mb} MB.",
                    mapping={"mb": MAX_IMPORT_BYTES // (1024 * 1024)},
                )
            )
            return None
        try:
            table = tables.read_table(data, filename, max_rows=MAX_IMPORT_ROWS)
        except tables.TableError as e:
            self.file_error(_(_TABLE_ERRORS[e.reason], mapping=dict(e.detail)))
            return None
        self.table_format = table.format
        for heading in table.columns:
            name = COLUMN_ALIASES.get(heading, heading)
            if name not in COLUMNS:
                self.file_error(
                    _(
                        "import_unknown_column",
                        default="Unknown column “${column}” (row ${row}); the columns are: "
                        "${columns}.",
                        mapping={
                            "column": heading,
                            "row": table.header_row,
                            "columns": ", ".join(COLUMNS),
                        },
                    )
                )
            elif name in self.headings:
                self.file_error(
                    _(
                        "import_same_column",
                        default="The columns “${first}” and “${second}” are the same; keep one.",
                        mapping={"first": self.headings[name], "second": heading},
                    )
                )
            else:
                self.headings[name] = heading
        for name in COLUMNS:
            if name not in self.headings:
                self.file_error(
                    _(
                        "import_missing_column",
                        default="The column “${column}” is missing from the header (row ${row}).",
                        mapping={"column": name, "row": table.header_row},
                    )
                )
        if self.errors:
            return None
        if not table.rows:
            self.file_error(_("ref_import_no_rows", default="The file has a header but no rows."))
            return None
        return table.rows

    def parse(self, rows: list[tables.Row]) -> None:
        first_row: dict[tuple[str, int, str], int] = {}
        for row in rows:
            values = {COLUMN_ALIASES.get(k, k): v for k, v in row.values.items()}
            errors_before = len(self.errors)
            unit = self.parse_unit(row.number, values["code"])
            year = self.parse_year(row.number, values["year"])
            kind = self.parse_kind(row.number, values["kind"])
            value = self.parse_value(row.number, values["value"])
            if row.extra:
                self.row_error(
                    row.number,
                    None,
                    _(
                        "import_extra_values",
                        default="The row has values beyond the last column: ${values}.",
                        mapping={"values": ", ".join(row.extra)[:100]},
                    ),
                )
            if unit is not None and year is not None and kind is not None:
                key = (unit.code, year, kind)
                if key in first_row:
                    self.row_error(
                        row.number,
                        None,
                        _(
                            "ref_import_repeated",
                            default="${code}, ${year}, ${kind} is already in row ${first}.",
                            mapping={
                                "code": unit.code,
                                "year": year,
                                "kind": kind,
                                "first": first_row[key],
                            },
                        ),
                    )
                    continue
                first_row[key] = row.number
            if len(self.errors) == errors_before:
                self.plans.append(_Planned(row.number, unit, year, kind, value))

    def parse_unit(self, number: int, code: str) -> OrgUnit | None:
        if not code:
            self.row_error(number, "code", _("org_code_required", default="Enter the unit's code."))
            return None
        unit = self.site.unit_by_code(code)
        if unit is None:
            self.row_error(
                number,
                "code",
                _(
                    "org_no_such_unit",
                    default="No unit has the code ${code}.",
                    mapping={"code": code},
                ),
            )
            return None
        if not unit.path.startswith(self.scope.path):
            self.row_error(
                number,
                "code",
                _(
                    "ref_import_outside_scope",
                    default="${code} is not below ${name} (${scope}), where you import.",
                    mapping={"code": code, "name": self.scope.name, "scope": self.scope.code},
                ),
            )
            return None
        return unit

    def parse_year(self, number: int, text: str) -> int | None:
        year = int(text) if _YEAR_RE.fullmatch(text) else None
        problem = year_problem(year)
        if problem is not None:
            self.row_error(number, "year", problem)
            return None
        return year

    def parse_kind(self, number: int, text: str) -> str | None:
        kind = self.kind_names.get(_normalise_label(text))
        if kind is None:
            self.row_error(number, "kind", kind_problem(text))
        return kind

    def parse_value(self, number: int, text: str) -> float | None:
        if not text:
            self.row_error(number, "value", _("ref_value_required", default="Enter the figure."))
            return None
        value = parse_number(text)
        problem = value_problem(value)
        if problem is not None:
            self.row_error(number, "value", problem)
            return None
        return value

    def apply(self, result: ImportResult) -> None:
        if not self.plans:
            return
        session = self.request.dbsession
        codes = sorted({p.unit.code for p in self.plans})
        years = sorted({p.year for p in self.plans})
        existing = {
            (row.org_code, row.year, row.kind): row
            for row in session.scalars(
                select(ReferenceValue).where(
                    ReferenceValue.org_code.in_(codes), ReferenceValue.year.in_(years)
                )
            )
        }
        now, actor = utcnow(), _actor(self.request)
        for p in self.plans:
            row = existing.get((p.unit.code, p.year, p.kind))
            if row is None:
                session.add(
                    ReferenceValue(
                        org_code=p.unit.code,
                        year=p.year,
                        kind=p.kind,
                        value=p.value,
                        updated=now,
                        updated_by=actor,
                    )
                )
                result.created += 1
            elif row.value != p.value:
                row.value, row.updated, row.updated_by = p.value, now, actor
                result.updated += 1
            else:
                result.unchanged += 1


def import_rows(request, fileobj: IO[bytes], filename: str, scope: OrgUnit) -> ImportResult:
    """Import figures from a CSV or XLSX file with the columns code, year, kind, value (or
    机构代码, 年份, 指标, 数值; a kind by its code or its label). Only units in the scope's
    subtree may be named. Every row is checked first; if anything is wrong nothing changes
    and `errors` says what, row by row, in the request's language. One audit row either way.
    """
    importer = _Importer(request, scope)
    rows = importer.read(fileobj, filename)
    if rows is not None:
        importer.parse(rows)
    result = ImportResult(errors=importer.sorted_errors())
    summary = {"format": importer.table_format, "rows": len(rows or ())}
    if result.errors:
        audit.record(
            request,
            "reference.import",
            "failure",
            target=scope.code,
            unit=scope,
            detail={**summary, "errors": len(result.errors)},
        )
        return result
    importer.apply(result)
    audit.record(
        request,
        "reference.import",
        target=scope.code,
        unit=scope,
        detail={**summary, "created": result.created, "updated": result.updated},
    )
    return result
