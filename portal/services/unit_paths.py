"""Each org unit's path, kept in SQL beside the submissions that copy it.

A submission stores its unit's path (org_path) so that scope queries and reports select a
subtree by prefix, and a move rewrites the paths of the subtree's submissions in the
move's transaction. But a request reads ZODB as it was when the request began: a
submission saved while an admin moves its unit could write the old path after the move
had rewritten the others, and stay counted in the old district for good.

So each unit's path is also a row of `unit_paths`, and a submission takes its path from
that row in the very statement that writes it (`path_of`), locking the row for share on
PostgreSQL (SQLite has one writer at a time). A move updates these rows (`record`) before
it rewrites the submissions; so either the submission waits for the move to commit and
reads the new path, or the move waits for the submission to commit and then rewrites it.

A unit without a row falls back to the path its ZODB object gives. Every way units are
made records them, and `sync` brings the table in line with the tree: `portal init`,
`portal migrate` and `portal evolve` run it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.models import UnitPath
from portal.resources import OrgUnit, Site

_INSERT = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


def path_of(code, fallback):
    """A SQL expression for a unit's current path: its row's, read under a share lock, or
    `fallback` (the path from ZODB) when it has none. `code` and `fallback` are values or
    bind parameters."""
    current = (
        select(UnitPath.path)
        .where(UnitPath.code == code)
        .with_for_update(read=True)
        .scalar_subquery()
    )
    return func.coalesce(current, fallback)


def record(dbsession, units: Iterable[OrgUnit]) -> int:
    """Write the paths the units have now, in the session's transaction (a row that exists
    is updated, and locked until the transaction ends). Returns how many were written."""
    rows = [{"code": unit.code, "path": unit.path} for unit in units]
    if not rows:
        return 0
    statement = _INSERT[dbsession.get_bind().dialect.name](UnitPath)
    dbsession.execute(
        statement.on_conflict_do_update(
            index_elements=[UnitPath.code], set_={"path": statement.excluded.path}
        ),
        rows,
    )
    return len(rows)


def sync(dbsession, site: Site) -> int:
    """Make the table hold exactly the tree's units and their paths, in the session's
    transaction. Returns how many rows were added, changed or removed."""
    have = dict(dbsession.execute(select(UnitPath.code, UnitPath.path)).all())
    units = list(site.units.values())
    stale = [unit for unit in units if have.get(unit.code) != unit.path]
    gone = set(have) - {unit.code for unit in units}
    record(dbsession, stale)
    if gone:
        dbsession.execute(delete(UnitPath).where(UnitPath.code.in_(sorted(gone))))
    return len(stale) + len(gone)
