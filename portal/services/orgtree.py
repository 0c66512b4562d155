"""The organisation tree's rules: adding, editing, moving, deactivating and reactivating
units, and exporting or importing a subtree as CSV/XLSX (checked whole, applied all or
nothing).

A move takes the unit's submissions along: their org_path (which scope queries match by
prefix) is rewritten in SQL in the same transaction as the ZODB move, after the SQL copy of
the units' paths (portal/services/unit_paths.py). The audit log is left as it was: each
event records where its unit was when it happened.

The checks return translation strings so that the admin forms, the import and the CLI
all give the same message for the same problem.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import IO, Any

from pyramid.i18n import TranslationString

from exports import tables
from portal import audit
from portal.i18n import _, translate
from portal.resources import ALLOWED_CHILDREN, UNIT_TYPES, OrgUnit, Site
from portal.services import record_changes, unit_paths
from portal.services.submissions import relocate as relocate_submissions
from portal.vocab import unit_type_title

CODE_RE = re.compile(r"[0-9]{6,20}")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
NAME_MAX = 100
# The exchange format: one row per unit, parents before their children.
COLUMNS = ("code", "name", "type", "parent", "active", "valid_from", "valid_to", "successor")
REQUIRED_COLUMNS = ("code", "name", "type", "parent")
# beijing_divisions.csv (and the GB/T 2260 lists it comes from) calls the type "level".
COLUMN_ALIASES = {"level": "type"}
MAX_IMPORT_ROWS = 50_000
MAX_IMPORT_BYTES = 20 * 1024 * 1024
_YES = frozenset({"yes", "y", "true", "1", "是"})
_NO = frozenset({"no", "n", "false", "0", "否"})


class OrgTreeError(ValueError):
    """A change the tree's rules refuse. `message` is a translation string; `field` names
    the form field it concerns, when there is one."""

    def __init__(self, message: TranslationString, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


# -- checks: each returns a translation string saying what is wrong, or None ----------------
def code_format_problem(code: str):
    if not code:
        return _("org_code_required", default="Enter the unit's code.")
    if not CODE_RE.fullmatch(code):
        return _("org_code_format", default="A code is 6 to 20 digits (0–9), nothing else.")
    return None


def code_problem(site: Site, code: str):
    """The code is well formed and not used by any unit, active or not."""
    problem = code_format_problem(code)
    if problem is None and site.unit_by_code(code) is not None:
        problem = _(
            "org_code_taken",
            default="The code ${code} is already used by ${name}.",
            mapping={"code": code, "name": site.unit_by_code(code).name},
        )
    return problem


def name_problem(name: str):
    if not name:
        return _("org_name_required", default="Enter the unit's name.")
    if len(name) > NAME_MAX:
        return _(
            "org_name_too_long",
            default="A name has at most ${max} characters.",
            mapping={"max": NAME_MAX},
        )
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        return _("org_name_control", default="The name contains invisible control characters.")
    return None


def type_problem(unit_type: str):
    if not unit_type:
        return _("org_type_required", default="Choose the unit's type.")
    if unit_type not in UNIT_TYPES:
        return _(
            "org_type_unknown",
            default="Unknown type “${type}”; use one of: ${types}.",
            mapping={"type": unit_type, "types": ", ".join(UNIT_TYPES)},
        )
    return None


def placement_problem(parent_type: str | None, child_type: str):
    """Whether a unit of child_type may sit below one of parent_type (None: at the top)."""
    if parent_type is None:
        if child_type == "city":
            return None
        return _("org_top_only_city", default="Only a city has no parent unit.")
    if child_type in ALLOWED_CHILDREN.get(parent_type, ()):
        return None
    return _(
        "org_type_not_allowed",
        default="A unit of type “${child}” cannot be placed below one of type “${parent}”.",
        mapping={"child": unit_type_title(child_type), "parent": unit_type_title(parent_type)},
    )


def date_order_problem(valid_from: dt.date | None, valid_to: dt.date | None):
    if valid_from and valid_to and valid_to < valid_from:
        return _("org_dates_order", default="“Valid until” cannot be before “Valid from”.")
    return None


def successor_problem(site: Site, unit_code: str, successor: str | None):
    """A successor is an existing, active unit other than the one it replaces."""
    if not successor:
        return None
    problem = code_format_problem(successor)
    if problem is not None:
        return problem
    if successor == unit_code:
        return _("org_successor_self", default="A unit cannot be its own successor.")
    target = site.unit_by_code(successor)
    if target is None:
        return _(
            "org_no_such_unit", default="No unit has the code ${code}.", mapping={"code": successor}
        )
    if not target.active:
        return _(
            "org_successor_inactive",
            default="The unit ${code} (${name}) is inactive.",
            mapping={"code": successor, "name": target.name},
        )
    return None


def _active_below(unit: OrgUnit) -> list[str]:
    return [child.code for child in unit.units() if child.active]


def _active_below_problem(codes: list[str]):
    return _(
        "org_active_below",
        default="Units below are still active (${codes}): move or deactivate them first.",
        mapping={"codes": ", ".join(codes[:10]) + (" …" if len(codes) > 10 else "")},
    )


def _parent_inactive_problem(parent_code: str):
    return _(
        "org_parent_inactive",
        default="The unit above (${code}) is inactive; an active unit cannot be below it.",
        mapping={"code": parent_code},
    )


def _check(problem, field_name: str | None = None) -> None:
    if problem is not None:
        raise OrgTreeError(problem, field_name)


def _type_of(parent) -> str | None:
    return parent.type if isinstance(parent, OrgUnit) else None


def _code(unit: OrgUnit | None) -> str | None:
    return unit.code if unit is not None else None


def _parent_code(unit: OrgUnit) -> str | None:
    return _code(unit.parent_unit)


# -- operations on single units ---------------------------------------------------------------
def _attach(site: Site, parent, unit: OrgUnit) -> OrgUnit:
    """Add unit below parent and to the code index, which must always name every unit."""
    parent.add(unit.code, unit)
    site.units[unit.code] = unit
    return unit


def add_unit(
    site: Site,
    parent: OrgUnit | Site,
    code: str,
    name: str,
    type: str,
    valid_from: dt.date | None = None,
) -> OrgUnit:
    """Create an active unit below parent. Raises OrgTreeError."""
    code, name = code.strip(), name.strip()
    _check(code_problem(site, code), "code")
    _check(name_problem(name), "name")
    _check(type_problem(type) or placement_problem(_type_of(parent), type), "type")
    if isinstance(parent, OrgUnit) and not parent.active:
        _check(_parent_inactive_problem(parent.code))
    return _attach(site, parent, OrgUnit(code, name, type, valid_from=valid_from))


def allowed_types(parent, unit: OrgUnit | None = None) -> list[str]:
    """Types a unit may have below parent; for an existing unit, also able to hold its
    children."""
    candidates = ALLOWED_CHILDREN.get(parent.type, ()) if isinstance(parent, OrgUnit) else ("city",)
    if unit is None:
        return list(candidates)
    below = {child.type for child in unit.units()}
    return [t for t in candidates if below <= set(ALLOWED_CHILDREN[t])]


_KEEP: Any = object()


def update_unit(
    unit: OrgUnit,
    name: str = _KEEP,
    type: str = _KEEP,
    valid_from: dt.date | None = _KEEP,
) -> dict[str, tuple]:
    """Change a unit's name, type or start date; returns {field: (old, new)} of what
    changed. Raises OrgTreeError."""
    changes = {}
    if name is not _KEEP:
        name = name.strip()
        _check(name_problem(name), "name")
        changes["name"] = name
    if type is not _KEEP and type != unit.type:
        _check(type_problem(type), "type")
        _check(placement_problem(_type_of(unit.__parent__), type), "type")
        if type not in allowed_types(unit.__parent__, unit):
            _check(
                _(
                    "org_type_children",
                    default="A unit of type “${type}” cannot hold the units below this one.",
                    mapping={"type": unit_type_title(type)},
                ),
                "type",
            )
        changes["type"] = type
    if valid_from is not _KEEP:
        _check(date_order_problem(valid_from, unit.valid_to), "valid_from")
        changes["valid_from"] = valid_from
    return _set(unit, changes)


def _set(unit: OrgUnit, values: dict) -> dict[str, tuple]:
    changed = {}
    for key, value in values.items():
        old = getattr(unit, key)
        if old != value:
            setattr(unit, key, value)
            changed[key] = (old, value)
    return changed


def move_targets(site: Site, unit: OrgUnit) -> list[OrgUnit]:
    """Units that could take unit as a child: right type, not in its own subtree, not its
    present parent, and active if unit is. In tree order."""
    parent_types = {t for t, children in ALLOWED_CHILDREN.items() if unit.type in children}
    if not parent_types or unit.parent_unit is None:
        return []
    targets = [
        u
        for u in site.units.values()
        if u.type in parent_types
        and u is not unit.__parent__
        and not u.path.startswith(unit.path)
        and (u.active or not unit.active)
    ]
    return sorted(targets, key=lambda u: u.path)


def move_unit(site: Site, unit: OrgUnit, new_parent: OrgUnit, dbsession) -> OrgUnit:
    """Move unit (with everything below it and the submissions of all that, through
    `dbsession`) under new_parent; returns the old parent. Raises OrgTreeError."""
    old_parent = unit.parent_unit
    if old_parent is None:
        _check(_("org_move_top", default="The top of the tree cannot be moved."))
    if new_parent is unit or new_parent.path.startswith(unit.path):
        _check(_("org_move_into_self", default="A unit cannot be moved below itself."), "parent")
    if new_parent is old_parent:
        _check(_("org_move_same", default="The unit is already there."), "parent")
    _check(placement_problem(new_parent.type, unit.type), "parent")
    if unit.active and not new_parent.active:
        _check(_parent_inactive_problem(new_parent.code), "parent")
    old_path = unit.path
    old_parent.remove(unit.code)
    new_parent.add(unit.code, unit)
    # The index maps code -> the same persistent object, which did not change; only its
    # position did. Say so loudly if that ever stops being true.
    assert site.units[unit.code] is unit
    relocate_moved(dbsession, [(old_path, unit)])
    return old_parent


def relocate_moved(dbsession, moves: list[tuple[str, OrgUnit]], created=()) -> None:
    """After units moved from (old path, unit): record the new paths of their subtrees
    (and of any `created` units) in unit_paths, then move the submissions. In that order:
    a submission saved meanwhile either waits for the new paths or is moved too (see
    portal/services/unit_paths.py). Deepest move first: a unit moved out of a moved
    subtree must take its submissions before the subtree's prefix is replaced. (No final
    path can lie under a moved unit's old path.)"""
    below = {u.code: u for _old, unit in moves for u in unit.walk()}
    unit_paths.record(dbsession, [*below.values(), *created])
    for old_path, unit in sorted(moves, key=lambda move: -len(move[0])):
        relocate_submissions(dbsession, old_path, unit.path)
    record_changes.units_moved(dbsession, [(old_path, unit.path) for old_path, unit in moves])


def deactivate_unit(
    site: Site, unit: OrgUnit, valid_to: dt.date, successor: str | None = None
) -> dict[str, tuple]:
    """Mark a unit inactive from valid_to, optionally naming the unit that takes over.
    Raises OrgTreeError."""
    if not unit.active:
        _check(_("org_already_inactive", default="The unit is already inactive."))
    successor = (successor or "").strip() or None
    if valid_to is None:
        _check(_("org_valid_to_required", default="Enter the last day of validity."), "valid_to")
    _check(date_order_problem(unit.valid_from, valid_to), "valid_to")
    _check(successor_problem(site, unit.code, successor), "successor")
    active_below = _active_below(unit)
    if active_below:
        _check(_active_below_problem(active_below))
    return _set(unit, {"active": False, "valid_to": valid_to, "successor": successor})


def reactivate_unit(unit: OrgUnit) -> dict[str, tuple]:
    """Make an inactive unit active again (no end date, no successor). Raises OrgTreeError."""
    if unit.active:
        _check(_("org_already_active", default="The unit is already active."))
    parent = unit.parent_unit
    if parent is not None and not parent.active:
        _check(_parent_inactive_problem(parent.code))
    return _set(unit, {"active": True, "valid_to": None, "successor": None})


def audit_detail(changes: dict[str, tuple]) -> dict:
    """{field: [old, new]} with dates as ISO strings, for the audit log's JSON."""

    def plain(value):
        return value.isoformat() if isinstance(value, dt.date) else value

    return {key: [plain(old), plain(new)] for key, (old, new) in changes.items()}


# -- export ---------------------------------------------------------------------------------
def export_rows(unit: OrgUnit) -> list[dict]:
    """The unit and everything below it, parents before children, in COLUMNS."""
    rows = []
    for node in unit.walk():
        parent = node.parent_unit
        rows.append(
            {
                "code": node.code,
                "name": node.name,
                "type": node.type,
                "parent": parent.code if parent is not None else "",
                "active": "yes" if node.active else "no",
                "valid_from": node.valid_from,
                "valid_to": node.valid_to,
                "successor": node.successor or "",
            }
        )
    return rows


def export_table(unit: OrgUnit, fmt: str) -> bytes:
    rows = export_rows(unit)
    if fmt == tables.XLSX:
        return tables.write_xlsx(COLUMNS, rows, sheet_title=unit.code)
    return tables.write_csv(COLUMNS, rows)


# -- import ---------------------------------------------------------------------------------
@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Translation strings, one per problem, each naming its row and column when it has one.
    errors: list = field(default_factory=list)


@dataclass
class _Planned:
    """What one row asks for: the unit's final state."""

    row: int
    code: str
    name: str
    type: str
    parent: str | None
    active: bool
    valid_from: dt.date | None
    valid_to: dt.date | None
    successor: str | None


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _YES:
        return True
    if lowered in _NO:
        return False
    raise ValueError(value)


_TABLE_ERRORS = {
    "empty": _("import_empty", default="The file is empty."),
    "legacy_xls": _(
        "import_legacy_xls",
        default="Old Excel files (.xls) cannot be read. Save it as .xlsx or CSV and try again.",
    ),
    "not_xlsx": _("import_not_xlsx", default="The file is named .xlsx but is not an Excel file."),
    "bad_xlsx": _("import_bad_xlsx", default="The Excel file is damaged or not a workbook."),
    "not_text": _(
        "import_not_text",
        default="The file is neither an Excel workbook (.xlsx) nor readable CSV text.",
    ),
    "no_header": _("import_no_header", default="The file has no header row."),
    "duplicate_column": _(
        "import_duplicate_column", default="The column “${column}” appears twice in the header."
    ),
    "unnamed_column": _(
        "import_unnamed_column",
        default="Row ${row} has a value in column ${column}, which has no heading.",
    ),
    "too_many_rows": _(
        "import_too_many_rows",
        default="The file has more than ${max_rows} rows; split it into smaller files.",
    ),
}


class _Importer:
    """Reads a table, checks every row against the tree as it will be, then applies it."""

    def __init__(self, request, scope: OrgUnit | None, actor: str | None):
        self.request = request
        self.site: Site = request.root_site
        self.scope = scope
        self.actor = actor
        self.result = ImportResult()
        self.errors: list[tuple[int, int, TranslationString]] = []  # (row, order, message)
        self.headings: dict[str, str] = {}  # our column name -> the file's heading
        self.plans: dict[str, _Planned] = {}  # by code, in file order
        self.bad_codes: set[str] = set()  # codes of rows that did not parse
        self.table_format = ""

    # errors ------------------------------------------------------------------------------
    def file_error(self, message) -> None:
        self.errors.append((0, len(self.errors), message))

    def sorted_errors(self) -> list:
        """File-wide problems first, then by row, each row's in the order found."""
        return [message for _row, _order, message in sorted(self.errors)]

    def row_error(self, row: int, column: str | None, message) -> None:
        """An error in one row, named by the file's own heading for the column."""
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

    # reading -----------------------------------------------------------------------------
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
        if not self.check_columns(table.columns, table.header_row):
            return None
        if not table.rows:
            self.file_error(_("import_no_rows", default="The file has a header but no units."))
            return None
        return table.rows

    def check_columns(self, columns: list[str], header_row: int) -> bool:
        ok = True
        for heading in columns:
            name = COLUMN_ALIASES.get(heading, heading)
            if name not in COLUMNS:
                self.file_error(
                    _(
                        "import_unknown_column",
                        default="Unknown column “${column}” (row ${row}); the columns are: "
                        "${columns}.",
                        mapping={
                            "column": heading,
                            "row": header_row,
                            "columns": ", ".join(COLUMNS),
                        },
                    )
                )
                ok = False
            elif name in self.headings:
                # The same column twice, or under both of its names (type and level).
                self.file_error(
                    _(
                        "import_same_column",
                        default="The columns “${first}” and “${second}” are the same; keep one.",
                        mapping={"first": self.headings[name], "second": heading},
                    )
                )
                ok = False
            else:
                self.headings[name] = heading
        for name in REQUIRED_COLUMNS:
            if name not in self.headings:
                self.file_error(
                    _(
                        "import_missing_column",
                        default="The column “${column}” is missing from the header (row ${row}).",
                        mapping={"column": name, "row": header_row},
                    )
                )
                ok = False
        return ok

    def parse(self, rows: list[tables.Row]) -> None:
        first_row: dict[str, int] = {}
        for row in rows:
            values = {COLUMN_ALIASES.get(k, k): v for k, v in row.values.items()}
            errors_before = len(self.errors)
            code = values["code"]
            problem = code_format_problem(code)
            if problem is not None:
                self.row_error(row.number, "code", problem)
            elif code in first_row:
                self.row_error(
                    row.number,
                    "code",
                    _(
                        "import_code_repeated",
                        default="The code ${code} is already in row ${first}.",
                        mapping={"code": code, "first": first_row[code]},
                    ),
                )
                continue
            planned = self.parse_row(row, values)
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
            if problem is None:
                first_row[code] = row.number
                if len(self.errors) == errors_before:
                    self.plans[code] = planned
                else:
                    self.bad_codes.add(code)

    def parse_row(self, row: tables.Row, values: dict[str, str]) -> _Planned:
        number = row.number
        code = values["code"]
        existing = self.site.unit_by_code(code) if CODE_RE.fullmatch(code) else None

        def given(column):
            return column in self.headings

        def date(column):
            if not given(column):
                return getattr(existing, column, None)
            value = values[column]
            if not value:
                return None
            try:
                if DATE_RE.fullmatch(value):
                    return dt.date.fromisoformat(value)
            except ValueError:
                pass
            self.row_error(
                number,
                column,
                _(
                    "import_bad_date",
                    default="“${value}” is not a date; write dates as YYYY-MM-DD.",
                    mapping={"value": value},
                ),
            )
            return None

        name = values["name"]
        problem = name_problem(name)
        if problem is not None:
            self.row_error(number, "name", problem)
        unit_type = values["type"].lower()
        problem = type_problem(unit_type)
        if problem is not None:
            self.row_error(number, "type", problem)
        parent = values["parent"] or None
        if parent is not None and code_format_problem(parent) is not None:
            self.row_error(number, "parent", code_format_problem(parent))
        valid_from, valid_to = date("valid_from"), date("valid_to")
        problem = date_order_problem(valid_from, valid_to)
        if problem is not None:
            self.row_error(number, "valid_to", problem)
        if given("successor"):
            successor = values["successor"] or None
            if successor is not None and code_format_problem(successor) is not None:
                self.row_error(number, "successor", code_format_problem(successor))
        else:
            successor = getattr(existing, "successor", None)
        active = None
        if given("active") and values["active"]:
            try:
                active = _parse_bool(values["active"])
            except ValueError:
                self.row_error(
                    number,
                    "active",
                    _(
                        "import_bad_active",
                        default="“${value}” is not yes or no (also: true/false, 1/0).",
                        mapping={"value": values["active"]},
                    ),
                )
        if active is None:
            if existing is not None and not given("valid_to"):
                active = existing.active
            else:
                # Files without an active column (like the GB/T 2260 lists) say a unit has
                # ended by giving its end date.
                active = valid_to is None or valid_to > dt.date.today()
        return _Planned(
            number, code, name, unit_type, parent, active, valid_from, valid_to, successor
        )

    # checking the tree as it will be -------------------------------------------------------
    def final(self, code: str):
        """The planned row or the existing unit for code (both have the attributes used)."""
        return self.plans.get(code) or self.site.unit_by_code(code)

    def final_parent(self, code: str) -> str | None:
        planned = self.plans.get(code)
        if planned is not None:
            return planned.parent
        unit = self.site.unit_by_code(code)
        return _parent_code(unit) if unit is not None else None

    def check(self) -> None:
        seen: set[str] = set()
        for planned in self.plans.values():
            self.check_row(planned, seen)
            seen.add(planned.code)

    def check_row(self, p: _Planned, earlier: set[str]) -> None:
        existing = self.site.unit_by_code(p.code)
        current_parent = _parent_code(existing) if existing is not None else None
        errors_before = len(self.errors)
        if p.parent is None:
            problem = placement_problem(None, p.type)
            if problem is not None:
                self.row_error(
                    p.row,
                    "parent",
                    _("import_parent_required", default="Enter the code of the unit above."),
                )
        elif p.parent == p.code:
            self.row_error(
                p.row, "parent", _("import_own_parent", default="A unit cannot be its own parent.")
            )
        elif p.parent in self.bad_codes:
            pass  # that row's own errors say what is wrong
        elif p.parent not in earlier and self.site.unit_by_code(p.parent) is None:
            if p.parent in self.plans:
                message = _(
                    "import_parent_later",
                    default="The unit above (${code}) must come before this row, "
                    "not in row ${row}.",
                    mapping={"code": p.parent, "row": self.plans[p.parent].row},
                )
            else:
                message = _(
                    "org_no_such_unit",
                    default="No unit has the code ${code}.",
                    mapping={"code": p.parent},
                )
            self.row_error(p.row, "parent", message)
        else:
            parent = self.final(p.parent)
            problem = placement_problem(parent.type, p.type)
            if problem is not None:
                self.row_error(p.row, "type", problem)
            elif p.active and not parent.active:
                self.row_error(p.row, "active", _parent_inactive_problem(p.parent))
            if existing is not None and p.parent != current_parent and self.moves_into_itself(p):
                self.row_error(
                    p.row,
                    "parent",
                    _("org_move_into_self", default="A unit cannot be moved below itself."),
                )
        if self.scope is not None:
            # Judge the scope only by a parent that is itself sound: one error per cause.
            self.check_scope(p, existing, current_parent, len(self.errors) == errors_before)
        if existing is not None:
            self.check_existing(p, existing)
        if p.successor is not None and p.successor not in self.bad_codes:
            self.check_successor(p)

    def check_existing(self, p: _Planned, unit: OrgUnit) -> None:
        staying = [child for child in unit.units() if child.code not in self.plans]
        for child in staying:
            if placement_problem(p.type, child.type) is not None:
                self.row_error(
                    p.row,
                    "type",
                    _(
                        "org_type_children",
                        default="A unit of type “${type}” cannot hold the units below this one.",
                        mapping={"type": unit_type_title(p.type)},
                    ),
                )
                break
        if not p.active:
            active_below = [child.code for child in staying if child.active]
            if active_below:
                self.row_error(p.row, "active", _active_below_problem(active_below))

    def check_scope(
        self, p: _Planned, existing: OrgUnit | None, current_parent: str | None, sound: bool
    ) -> None:
        """A scoped import touches the scope unit and what is (and stays) below it."""
        if existing is not None and not existing.path.startswith(self.scope.path):
            self.row_error(p.row, "code", self.outside_scope())
        elif existing is self.scope:
            if p.parent != current_parent:
                self.row_error(
                    p.row,
                    "parent",
                    _(
                        "import_scope_moved",
                        default="The unit you are importing into cannot be moved by its "
                        "own import.",
                    ),
                )
        elif sound and not self.within_scope(p):
            self.row_error(p.row, "parent", self.outside_scope())

    def moves_into_itself(self, p: _Planned) -> bool:
        code, seen = p.parent, set()
        while code is not None and code not in seen:
            if code == p.code:
                return True
            seen.add(code)
            code = self.final_parent(code)
        return code is not None  # a loop that does not pass through p: still a loop

    def within_scope(self, p: _Planned) -> bool:
        code, seen = p.code, set()
        while code is not None and code not in seen:
            if code == self.scope.code or code in self.bad_codes:
                return True  # (a bad row's own errors say what is wrong with it)
            seen.add(code)
            code = self.final_parent(code)
        return False

    def outside_scope(self):
        return _(
            "import_outside_scope",
            default="Only units below ${name} (${code}) can be imported here.",
            mapping={"name": self.scope.name, "code": self.scope.code},
        )

    def check_successor(self, p: _Planned) -> None:
        if p.active:
            message = _(
                "import_successor_active",
                default="Only an inactive unit has a successor; leave this empty or set "
                "active to no.",
            )
        elif p.successor == p.code:
            message = _("org_successor_self", default="A unit cannot be its own successor.")
        else:
            target = self.final(p.successor)
            if target is None:
                message = _(
                    "org_no_such_unit",
                    default="No unit has the code ${code}.",
                    mapping={"code": p.successor},
                )
            elif not target.active:
                message = _(
                    "org_successor_inactive",
                    default="The unit ${code} (${name}) is inactive.",
                    mapping={"code": p.successor, "name": target.name},
                )
            else:
                return
        self.row_error(p.row, "successor", message)

    # applying ----------------------------------------------------------------------------
    def apply(self) -> None:
        site, events = self.site, []
        moving, created = [], []
        for p in self.plans.values():
            unit = site.unit_by_code(p.code)
            if unit is not None and p.parent != _parent_code(unit):
                moving.append((unit, unit.parent_unit, unit.path))
        # Detach every moving unit first, so that no order of moves can loop on the way.
        for unit, _old, _path in moving:
            unit.__parent__.remove(unit.code)
        moved = {unit.code: old for unit, old, _path in moving}
        for p in self.plans.values():
            parent = site.unit_by_code(p.parent) if p.parent is not None else site
            unit = site.unit_by_code(p.code)
            if unit is None:
                unit = _attach(site, parent, OrgUnit(p.code, p.name, p.type))
                created.append(unit)
                _set(unit, self.values(p))
                events.append(
                    ("org.create", unit, {"name": p.name, "type": p.type, "parent": p.parent})
                )
                self.result.created += 1
                continue
            changes = _set(unit, {"name": p.name, "type": p.type, **self.values(p)})
            if p.code in moved:
                parent.add(unit.code, unit)
                old = moved[p.code]
                events.append(("org.move", unit, {"from": _code(old), "to": p.parent}))
            if p.code in moved or changes:
                self.result.updated += 1
            else:
                self.result.unchanged += 1
            if changes.get("active") == (True, False):
                ended = {
                    k: changes.pop(k) for k in ("active", "valid_to", "successor") if k in changes
                }
                events.append(("org.deactivate", unit, audit_detail(ended)))
            if changes:
                events.append(("org.update", unit, {"changes": audit_detail(changes)}))
        relocate_moved(
            self.request.dbsession, [(path, unit) for unit, _old, path in moving], created
        )
        for event, unit, detail in events:
            self.record(event, unit, unit.code, detail)

    @staticmethod
    def values(p: _Planned) -> dict:
        return {
            "active": p.active,
            "valid_from": p.valid_from,
            "valid_to": p.valid_to,
            "successor": p.successor,
        }

    def record(self, event, unit, target, detail, outcome="success") -> None:
        if self.actor is not None:
            detail = {**detail, "actor": self.actor}
        audit.record(self.request, event, outcome, target=target, unit=unit, detail=detail)


def import_file(
    request,
    fileobj: IO[bytes],
    filename: str,
    scope: OrgUnit | None = None,
    actor: str | None = None,
) -> ImportResult:
    """Import units from a CSV or XLSX file: new codes are created, existing ones updated
    (a changed parent moves the unit; a changed type is allowed where the tree's rules
    allow it). A column left out of the file leaves that attribute as it is. Every row is
    checked first, against the tree as it will be; if anything is wrong nothing changes
    and `errors` says what, row by row.

    scope: when given, only that unit and units below it may be touched (the web import);
    the CLI imports the whole tree. actor: who to name in the audit log when the request
    has no logged-in user (the CLI).
    """
    importer = _Importer(request, scope, actor)
    rows = importer.read(fileobj, filename)
    if rows is not None:
        importer.parse(rows)
        importer.check()
    result = importer.result
    result.errors = importer.sorted_errors()
    summary = {"format": importer.table_format, "rows": len(rows or ())}
    if result.errors:
        importer.record(
            "org.import",
            scope,
            getattr(scope, "code", None),
            {**summary, "errors": len(result.errors)},
            outcome="failure",
        )
        return result
    importer.apply()
    importer.record(
        "org.import",
        scope,
        getattr(scope, "code", None),
        {**summary, "created": result.created, "updated": result.updated},
    )
    return result
