"""The report aggregates, kept current in the transaction of every change of a submission.

Every write of the `submissions` table goes through `record_changed` (portal/services/
record_changes.py calls it with the records before and after). For each change:

1. the record's stored fact (report_facts) is its old contribution, its new fact the new
   one: the record-level cells (counts by form, count and sum indicators) of the old are
   taken away from its unit and every unit above it, those of the new added;
2. each person, unit-and-form and member of staff the record belongs to (before or after)
   is locked (a report_entities upsert, so concurrent changes of one person take turns),
   its contribution in the periods concerned is computed again from its facts, and the
   difference from the kept one (report_contributions) is applied the same way.

A unit move (`unit_moved`) takes the moved unit's sums from the units it left and adds them
to the units it joined. `rebuild` recomputes everything from the raw rows, and `check`
compares the kept aggregates with a full recomputation (reports.indicators.recompute).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import and_, delete, or_, select, text, tuple_
from sqlalchemy.orm import Session

from forms import periods
from portal.models import (
    ReportAggregate,
    ReportContribution,
    ReportEntity,
    ReportFact,
    ReportState,
    Submission,
    UnitPath,
)
from reports import indicators as ind
from reports.indicators import Catalogue, Fact, Record

# IN lists are sent in slices of this many values.
_SLICE = 500


def catalogue_of(site, registry=None) -> Catalogue:
    """The compiled indicators of the site's report definitions, cached on the registry
    for as long as the definitions do not change."""
    folder = site["reports"] if "reports" in site else None
    # The indicators' and dimensions' JSON text is the cache key: comparing it costs far
    # less than parsing and compiling them again, which every change would otherwise do.
    source = (
        (folder.indicators_json, folder.dimensions_json, report_thresholds(folder))
        if folder is not None
        else ("[]", "[]", ())
    )
    cache = getattr(registry, "_report_catalogue", None) if registry is not None else None
    if cache is not None and cache[0] == source:
        return cache[1]
    definitions, dimensions = json.loads(source[0]), json.loads(source[1])
    thresholds = list(source[2])
    catalogue = Catalogue(
        (ind.Indicator.from_dict(d) for d in definitions),
        (ind.Dimension.from_dict(d) for d in dimensions),
        thresholds,
    )
    # Without dimensions the fingerprint is the indicators' alone, as it was before them;
    # the review levels reports count approved records from are in it when there are any.
    kept = definitions if not dimensions else [definitions, dimensions]
    fingerprint = _fingerprint(kept if not thresholds else [kept, thresholds])
    catalogue.fingerprint = fingerprint  # type: ignore[attr-defined]
    if registry is not None:
        registry._report_catalogue = (source, catalogue)
    return catalogue


def report_thresholds(folder) -> tuple[str, ...]:
    """The review levels the site's reports count approved records from (their definitions'
    `approved_at_least`), each once, lowest first."""
    levels = set()
    for report in folder.definitions():
        # Every change of a record asks: a look at the text spares parsing the others.
        if '"approved_at_least"' in report.definition_json:
            level = report.definition().get("approved_at_least")
            if level in ind.APPROVAL_LEVELS:
                levels.add(level)
    return tuple(sorted(levels, key=ind.APPROVAL_LEVELS.__getitem__))


def _fingerprint(definitions: list) -> str:
    text_ = json.dumps(definitions, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text_.encode()).hexdigest()[:32]


def record_of(row) -> Record:
    """A submission row (ORM object or mapping) as the indicators read it."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    data = get("data")
    if isinstance(data, str):
        data = json.loads(data)
    created = get("created")
    if isinstance(created, str):  # as the bulk writer hands it over
        created = dt.datetime.fromisoformat(created)
    return Record(
        id=get("id"),
        form_name=get("form_name"),
        org_code=get("org_code"),
        period=get("period"),
        status=get("status"),
        created=created,
        data=data or {},
        author=get("author") or "",
        path=_get_optional(row, "org_path"),
        approved=tuple(x for x in (_get_optional(row, "approved_levels") or "").split(",") if x),
    )


def _get_optional(row, name: str):
    return row.get(name) if isinstance(row, dict) else getattr(row, name, None)


# -- facts in SQL ----------------------------------------------------------------------------
def _fact_row(fact: Fact) -> dict:
    return {
        "submission_id": fact.submission_id,
        "form_name": fact.form_name,
        "org_code": fact.org_code,
        "period": fact.period,
        "person": fact.person,
        "author": fact.author,
        "at": fact.at,
        "on_time": fact.on_time,
        "detail": {
            "passes": sorted(fact.passes),
            "latest_ok": sorted(fact.latest_ok),
            "numbers": fact.numbers,
            **({"dims": fact.dims} if fact.dims else {}),
            **({"approval": fact.approval} if fact.approval else {}),
        },
    }


def _fact_of(row) -> Fact:
    detail = row.detail if isinstance(row.detail, dict) else json.loads(row.detail)
    return Fact(
        submission_id=row.submission_id,
        form_name=row.form_name,
        org_code=row.org_code,
        period=row.period,
        person=row.person,
        author=row.author,
        at=row.at,
        passes=frozenset(detail.get("passes", ())),
        numbers=detail.get("numbers", {}),
        latest_ok=frozenset(detail.get("latest_ok", ())),
        on_time=bool(row.on_time),
        dims=detail.get("dims") or {},
        approval=detail.get("approval", 0),
    )


def _slices(values: Sequence) -> Iterable[Sequence]:
    for start in range(0, len(values), _SLICE):
        yield values[start : start + _SLICE]


def _stored_facts(dbsession, ids: list[str]) -> dict[str, Fact]:
    found = {}
    for part in _slices(ids):
        for row in dbsession.execute(
            select(ReportFact.__table__).where(ReportFact.submission_id.in_(part))
        ):
            found[row.submission_id] = _fact_of(row)
    return found


def _entity_facts(dbsession, entities: dict[str, set[str]]) -> dict[str, list[Fact]]:
    """The facts of each entity ("p|unit|person", "u|unit|form", "a|unit|author") that its
    contribution in the periods concerned is computed from, from the years of those periods.
    A person's are read whole (a few a year); a unit's and a member of staff's, which may
    be thousands, are read as one stand-in fact per own period and timeliness, which is all
    their contribution reads."""
    found: dict[str, list[Fact]] = defaultdict(list)
    by_kind: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for entity in entities:
        kind, org_code, name = entity.split("|", 2)
        by_kind[kind].append((org_code, name))
    table = ReportFact.__table__
    for part in _slices(sorted(by_kind.get("p", ()))):
        # Only the years of the periods concerned: a person's contribution to a period is
        # computed from their facts inside it, and a long history need not be read.
        buckets = set().union(*(entities[f"p|{o}|{n}"] for o, n in part))
        query = select(table).where(
            tuple_(table.c.org_code, table.c.person).in_(part), _in_years(buckets)
        )
        for row in dbsession.execute(query):
            found[f"p|{row.org_code}|{row.person}"].append(_fact_of(row))
    for kind, column in (("u", table.c.form_name), ("a", table.c.author)):
        for part in _slices(sorted(by_kind.get(kind, ()))):
            buckets = set().union(*(entities[f"{kind}|{o}|{n}"] for o, n in part))
            query = (
                select(table.c.org_code, column, table.c.period, table.c.on_time)
                .where(tuple_(table.c.org_code, column).in_(part), _in_years(buckets))
                .group_by(table.c.org_code, column, table.c.period, table.c.on_time)
            )
            for org_code, name, period, on_time in dbsession.execute(query):
                found[f"{kind}|{org_code}|{name}"].append(
                    Fact(
                        "",
                        name if kind == "u" else "",
                        org_code,
                        period,
                        None,
                        name if kind == "a" else "",
                        "",
                        frozenset(),
                        on_time=bool(on_time),
                    )
                )
    return found


def _in_years(buckets: Iterable[str]):
    """Facts whose own period lies in one of the years of `buckets` (a superset: the
    contributions are computed per bucket from them)."""
    years = sorted({bucket[:4] for bucket in buckets})
    return or_(
        *(and_(ReportFact.period >= year, ReportFact.period < str(int(year) + 1)) for year in years)
    )


# -- applying changes ------------------------------------------------------------------------
class _Deltas:
    """Changes to aggregates, per unit (its own code): added up, then spread over the unit
    and everything above it in one statement."""

    def __init__(self):
        self.cells: dict[str, dict[tuple[str, str], list]] = defaultdict(dict)

    def add(self, org_code: str, cells: ind.Cells, sign: int) -> None:
        mine = self.cells[org_code]
        for key, (n, total) in cells.items():
            cell = mine.setdefault(key, [0, 0.0])
            cell[0] += sign * n
            cell[1] += sign * total

    def apply(self, dbsession, paths: dict[str, str]) -> None:
        spread: dict[tuple[str, str, str], list] = {}
        for org_code, cells in self.cells.items():
            for code in ind.ancestors(paths[org_code]):
                for (bucket, key), (n, total) in cells.items():
                    if n == 0 and total == 0:
                        continue
                    cell = spread.setdefault((code, bucket, key), [0, 0.0])
                    cell[0] += n
                    cell[1] += total
        rows = [
            {"org_code": c, "period": p, "key": k, "n": n, "total": t}
            for (c, p, k), (n, t) in spread.items()
            if n or t
        ]
        if rows:
            dbsession.execute(_UPSERT_AGGREGATE, rows)


_UPSERT_AGGREGATE = text(
    "INSERT INTO report_aggregates (org_code, period, key, n, total) "
    "VALUES (:org_code, :period, :key, :n, :total) "
    "ON CONFLICT (org_code, period, key) DO UPDATE SET "
    "n = report_aggregates.n + excluded.n, total = report_aggregates.total + excluded.total"
)
_LOCK_ENTITY = text(
    "INSERT INTO report_entities (entity, changes) VALUES (:entity, 1) "
    "ON CONFLICT (entity) DO UPDATE SET changes = report_entities.changes + 1"
)


def _wait_for_rebuild(dbsession) -> None:
    """On PostgreSQL, before a change reads anything kept: wait while a rebuild runs (it
    holds report_aggregates in EXCLUSIVE mode), so that the change applies to the rebuilt
    sums. The ROW EXCLUSIVE mode taken here is what its writes take anyway, and changes do
    not wait for each other on it. SQLite's writers take turns already."""
    if _needs_entity_locks(dbsession):
        dbsession.execute(text("LOCK TABLE report_aggregates IN ROW EXCLUSIVE MODE"))


def _needs_entity_locks(dbsession) -> bool:
    """Whether concurrent changes of one entity must take turns through report_entities.
    SQLite's writers take turns already: by the time the contributions are read, the
    transaction has written (the submission, and the facts just before), so it holds the
    database's one write lock and began after every other writer's commit (pysqlite begins
    a transaction at its first write). PostgreSQL's read-committed transactions do not."""
    bind = dbsession.get_bind() if hasattr(dbsession, "get_bind") else dbsession
    return bind.dialect.name != "sqlite"


def _paths(dbsession, codes: Iterable[str]) -> dict[str, str]:
    codes = sorted(set(codes))
    found: dict[str, str] = {}
    if not codes:
        return found
    for part in _slices(codes):
        found.update(
            dbsession.execute(
                select(UnitPath.code, UnitPath.path).where(UnitPath.code.in_(part))
            ).all()
        )
    missing = set(codes) - set(found)
    if missing:
        raise LookupError(f"no path is recorded for units {sorted(missing)}")
    return found


def record_changed(
    dbsession, catalogue: Catalogue, changes: Sequence[tuple[Record | None, Record | None]]
) -> None:
    """Keep the aggregates for these changes of submissions (before, after; None where the
    record did not or no longer exists), in the session's transaction."""
    ids = sorted({r.id for pair in changes for r in pair if r is not None})
    if not ids:
        return
    # Core statements on the session's connection, in its transaction: the ORM session's
    # own execute adds a good part of the cost on this path, which every submission takes.
    # (The change of the submission itself has marked the session changed already.)
    dbsession = dbsession.connection() if isinstance(dbsession, Session) else dbsession
    _wait_for_rebuild(dbsession)
    # A record that did not exist before has no stored fact to look up.
    old_facts = _stored_facts(dbsession, sorted({b.id for b, _a in changes if b is not None}))
    deltas = _Deltas()
    # entity → the periods (buckets) whose contribution may change
    touched: dict[str, set[str]] = defaultdict(set)
    # unit and staff entities only given new facts: the facts (their contribution can only
    # grow, so if the new facts' own cells are all kept already, nothing changes)
    added: dict[str, list[Fact]] = defaultdict(list)
    shrinking: set[str] = set()
    new_facts: dict[str, Fact | None] = {}
    for before, after in changes:
        record_id = (after or before).id  # type: ignore[union-attr]
        new_facts[record_id] = catalogue.fact(after) if after is not None else None
    for record_id, new in new_facts.items():
        old = old_facts.get(record_id)
        if old is not None:
            deltas.add(old.org_code, ind.record_cells(catalogue, old), -1)
        if new is not None:
            deltas.add(new.org_code, ind.record_cells(catalogue, new), +1)
        for fact in (old, new):
            if fact is None:
                continue
            for name_of, _cells in ind.ENTITIES.values():
                entity = name_of(fact)
                if entity is not None:
                    touched[entity].update(periods.enclosing(fact.period))
                    if fact is old:
                        shrinking.add(entity)
                    elif entity[0] in ind.GROWING:
                        added[entity].append(fact)
    grown = {e: facts for e, facts in added.items() if e not in shrinking}
    _write_facts(dbsession, old_facts, new_facts)
    _recontribute(dbsession, catalogue, touched, deltas, grown)
    # The rows carry their unit's path, as current as unit_paths in this transaction (a
    # move rewrites both); only the units of stored facts without a row need looking up.
    paths = {r.org_code: r.path for pair in changes for r in pair if r is not None and r.path}
    paths.update(_paths(dbsession, set(deltas.cells) - set(paths)))
    deltas.apply(dbsession, paths)


def _write_facts(dbsession, old_facts: dict[str, Fact], new_facts: dict[str, Fact | None]):
    gone = [i for i, fact in new_facts.items() if fact is None and i in old_facts]
    replaced = [i for i, fact in new_facts.items() if fact is not None and i in old_facts]
    for part in _slices(gone + replaced):
        dbsession.execute(delete(ReportFact).where(ReportFact.submission_id.in_(part)))
    rows = [_fact_row(fact) for fact in new_facts.values() if fact is not None]
    if rows:
        dbsession.execute(ReportFact.__table__.insert(), rows)


def _recontribute(
    dbsession,
    catalogue: Catalogue,
    touched: dict[str, set[str]],
    deltas: _Deltas,
    grown: dict[str, list[Fact]] | None = None,
):
    if not touched:
        return
    entities = sorted(touched)
    if _needs_entity_locks(dbsession):
        for part in _slices(entities):
            dbsession.execute(_LOCK_ENTITY, [{"entity": e} for e in part])
    kept: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    table = ReportContribution.__table__
    for part in _slices(entities):
        buckets = sorted(set().union(*(touched[e] for e in part)))
        query = select(table.c.entity, table.c.period, table.c.key, table.c.n).where(
            table.c.entity.in_(part), table.c.period.in_(buckets)
        )
        for row in dbsession.execute(query):
            if row.period in touched[row.entity]:
                kept[row.entity][(row.period, row.key)] = row.n
    # A unit or member of staff that only gained records, each of whose cells it has
    # already (the unit had reported in those periods): unchanged, and its facts, which
    # may be thousands, need not be read. The usual case of a new submission.
    unchanged = {
        entity
        for entity, facts in (grown or {}).items()
        if set(ind.ENTITIES[entity[0]][1](catalogue, facts, touched[entity])) <= set(kept[entity])
    }
    entities = [e for e in entities if e not in unchanged]
    facts = _entity_facts(dbsession, {e: touched[e] for e in entities})
    removals, additions = [], []
    for entity in entities:
        org_code = entity.split("|", 2)[1]
        cells_of = ind.ENTITIES[entity[0]][1]
        new = cells_of(catalogue, facts.get(entity, ()), touched[entity])
        old = kept.get(entity, {})
        if {k: v[0] for k, v in new.items()} == old:
            continue
        deltas.add(org_code, {k: (n, 0.0) for k, n in old.items()}, -1)
        deltas.add(org_code, new, +1)
        # Only the cells that changed are written: a person's new follow-up usually moves
        # them between few.
        removals += [
            {"entity": entity, "period": p, "key": k}
            for (p, k), n in old.items()
            if new.get((p, k), (None,))[0] != n
        ]
        additions += [
            {"entity": entity, "period": p, "key": k, "org_code": org_code, "n": n}
            for (p, k), (n, _t) in new.items()
            if old.get((p, k)) != n
        ]
    if removals:
        table = ReportContribution.__table__
        for part in _slices(removals):
            dbsession.execute(
                delete(table).where(
                    tuple_(table.c.entity, table.c.period, table.c.key).in_(
                        [(r["entity"], r["period"], r["key"]) for r in part]
                    )
                )
            )
    if additions:
        dbsession.execute(ReportContribution.__table__.insert(), additions)


def units_moved(dbsession, moves: Sequence[tuple[str, str]]) -> None:
    """Units moved (old path, new path each, paths after all the moves): the sums each
    carries (its subtree's, less those of moved units below it, which move by themselves)
    leave the units above it that it left and join those it joined."""
    moves = [(old, new) for old, new in moves if old != new]
    if not moves:
        return
    _wait_for_rebuild(dbsession)
    units = [ind.ancestors(new)[-1] for _old, new in moves]
    sums: dict[str, dict[tuple[str, str], tuple[int, float]]] = {}
    table = ReportAggregate.__table__
    for unit in units:
        rows = dbsession.execute(
            select(table.c.period, table.c.key, table.c.n, table.c.total).where(
                table.c.org_code == unit
            )
        )
        sums[unit] = {(p, k): (n, t) for p, k, n, t in rows}
    deltas = _Deltas()
    for (old, new), unit in zip(moves, units, strict=True):
        carried = _Deltas()
        carried.add(unit, sums[unit], +1)
        for (inner_old, _inner_new), inner in zip(moves, units, strict=True):
            if inner != unit and inner_old.startswith(old):
                carried.add(unit, sums[inner], -1)
        cells = {k: (n, t) for k, (n, t) in carried.cells[unit].items()}
        left, joined = ind.ancestors(old)[:-1], ind.ancestors(new)[:-1]
        for code in left:
            if code not in joined:
                deltas.add(code, cells, -1)
        for code in joined:
            if code not in left:
                deltas.add(code, cells, +1)
    # Each delta applies to that unit alone, not to the units above it.
    deltas.apply(dbsession, {code: f"/{code}/" for code in deltas.cells})


def _listener(changes) -> None:
    """The aggregates' listener on the record seam (portal/services/record_changes.py)."""
    if changes.moved:
        units_moved(changes.dbsession, changes.moved)
    if changes.records:
        catalogue = catalogue_of(changes.site, changes.registry)
        record_changed(changes.dbsession, catalogue, changes.records)


def includeme(config) -> None:
    from portal.services.record_changes import add_listener

    add_listener(config.registry, _listener)


# -- rebuilding and checking -------------------------------------------------------------------
def _all_records(dbsession, batch: int = 5_000) -> Iterable[Record]:
    table = Submission.__table__
    last = ""
    while True:
        rows = dbsession.execute(
            select(table).where(table.c.id > last).order_by(table.c.id).limit(batch)
        ).mappings()
        rows = list(rows)
        if not rows:
            return
        for row in rows:
            yield record_of(dict(row))
        last = rows[-1]["id"]


def rebuild(dbsession, catalogue: Catalogue, progress=None) -> int:
    """Recompute every aggregate, fact and contribution from the submissions, in the
    session's transaction. Returns how many records were read."""
    if _needs_entity_locks(dbsession):
        # Changes of submissions wait until this transaction ends (`_wait_for_rebuild`):
        # one that reached its aggregates first has committed by the time the lock is
        # granted (and is read below); one that has not applies its change on top of the
        # rebuilt sums. SQLite: the first delete below takes the one write lock.
        dbsession.execute(text("LOCK TABLE report_aggregates IN EXCLUSIVE MODE"))
    for table in (ReportAggregate, ReportContribution, ReportEntity, ReportFact):
        dbsession.execute(delete(table))
    paths = dict(dbsession.execute(select(UnitPath.code, UnitPath.path)).all())
    aggregates: ind.Aggregates = {}
    entities: dict[str, list[Fact]] = defaultdict(list)
    facts_batch: list[dict] = []
    count = 0
    for record in _all_records(dbsession):
        count += 1
        fact = catalogue.fact(record)
        if fact is None or record.org_code not in paths:
            continue
        facts_batch.append(_fact_row(fact))
        if len(facts_batch) >= 5_000:
            dbsession.execute(ReportFact.__table__.insert(), facts_batch)
            facts_batch = []
            if progress:
                progress(count)
        ind.spread(aggregates, paths[record.org_code], ind.record_cells(catalogue, fact))
        for name_of, _cells in ind.ENTITIES.values():
            entity = name_of(fact)
            if entity is not None:
                entities[entity].append(fact)
    if facts_batch:
        dbsession.execute(ReportFact.__table__.insert(), facts_batch)
    contributions, locks = [], []
    for entity, facts in entities.items():
        cells_of = ind.ENTITIES[entity[0]][1]
        buckets = {b for f in facts for b in periods.enclosing(f.period)}
        cells = cells_of(catalogue, facts, buckets)
        org_code = facts[0].org_code
        ind.spread(aggregates, paths[org_code], cells)
        locks.append({"entity": entity, "changes": 0})
        contributions += [
            {"entity": entity, "period": p, "key": k, "org_code": org_code, "n": n}
            for (p, k), (n, _t) in cells.items()
        ]
    for rows, table in (
        (locks, ReportEntity.__table__),
        (contributions, ReportContribution.__table__),
        (
            [
                {"org_code": c, "period": p, "key": k, "n": n, "total": t}
                for (c, p, k), (n, t) in aggregates.items()
                if n or t
            ],
            ReportAggregate.__table__,
        ),
    ):
        for part in _slices(rows):
            dbsession.execute(table.insert(), list(part))
    set_fingerprint(dbsession, getattr(catalogue, "fingerprint", ""))
    return count


def set_fingerprint(dbsession, fingerprint: str) -> None:
    dbsession.execute(delete(ReportState).where(ReportState.name == "fingerprint"))
    dbsession.execute(
        ReportState.__table__.insert(), [{"name": "fingerprint", "value": fingerprint}]
    )


def ensure_current(dbsession, site, registry=None, progress=None) -> int | None:
    """Rebuild the aggregates if they were kept for other indicators or dimensions than the
    site's (after an upgrade or an edit of the definitions); returns how many records were
    read, or None when they were current already."""
    catalogue = catalogue_of(site, registry)
    if stored_fingerprint(dbsession) == getattr(catalogue, "fingerprint", ""):
        return None
    return rebuild(dbsession, catalogue, progress=progress)


def is_current(dbsession, site, registry=None) -> bool:
    """Whether the kept aggregates were kept for the site's indicators and dimensions as
    they are now (not after an admin changed them, until the rebuild that follows). Never
    built is current only while there is nothing to count."""
    stored = stored_fingerprint(dbsession)
    if stored is None:
        return dbsession.scalar(select(Submission.id).limit(1)) is None
    return stored == getattr(catalogue_of(site, registry), "fingerprint", "")


def stored_fingerprint(dbsession) -> str | None:
    return dbsession.scalar(select(ReportState.value).where(ReportState.name == "fingerprint"))


def kept(dbsession) -> ind.Aggregates:
    rows = dbsession.execute(
        select(
            ReportAggregate.org_code,
            ReportAggregate.period,
            ReportAggregate.key,
            ReportAggregate.n,
            ReportAggregate.total,
        )
    )
    return {(c, p, k): (n, t) for c, p, k, n, t in rows if n or abs(t) > 1e-9}


def differences(dbsession, catalogue: Catalogue) -> list[str]:
    """Where the kept aggregates differ from a full recomputation from the submissions
    (empty: they agree)."""
    paths = dict(dbsession.execute(select(UnitPath.code, UnitPath.path)).all())
    full = ind.recompute(catalogue, _all_records(dbsession), paths)
    have = kept(dbsession)
    found = []
    for key in sorted(set(full) | set(have)):
        a, b = have.get(key, (0, 0.0)), full.get(key, (0, 0.0))
        if a[0] != b[0] or abs(a[1] - b[1]) > 1e-6 * max(1.0, abs(b[1])):
            found.append(
                f"{'/'.join(key)}: kept n={a[0]} total={a[1]:g}, recomputed n={b[0]} total={b[1]:g}"
            )
    return found
