"""The one seam every change of the `submissions` table goes through, in the transaction of
the change: creating a record, saving a draft, submitting, editing, a change of status, a
unit move that rewrites org_path, and the bulk writers (demo data, imports), which may pass
many changes at once.

What must follow the records hangs on it as a listener: the report aggregates now, the
workflow history later. Listeners are registered on the Pyramid registry by `includeme`s
(`add_listener`), so the seam knows none of them; each is called with a `Changes`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from portal.services.aggregates import record_of
from reports.indicators import Record

# A change: the record before and after (None where it did not exist, or no longer does).
Change = tuple[Record | None, Record | None]


@dataclass
class Changes:
    dbsession: object  # a Session, or a Connection for the bulk writers
    site: object  # the ZODB site (report definitions, the tree)
    registry: object
    records: Sequence[Change] = ()
    # Units moved: (old path, new path) each; the records of their subtrees moved with them.
    moved: Sequence[tuple[str, str]] = ()
    actor: str | None = None


Listener = Callable[[Changes], None]


@dataclass
class _Listeners:
    items: list[Listener] = field(default_factory=list)


def add_listener(registry, listener: Listener) -> None:
    listeners = registry.__dict__.setdefault("record_listeners", _Listeners())
    if listener not in listeners.items:
        listeners.items.append(listener)


def _notify(changes: Changes) -> None:
    listeners = getattr(changes.registry, "record_listeners", None)
    for listener in listeners.items if listeners is not None else ():
        listener(changes)


def snapshot(row) -> Record:
    """A submission as it is now (an ORM row or a mapping of its columns)."""
    return record_of(row)


def records_changed(request, records: Sequence[Change]) -> None:
    """Submissions changed in this request's transaction."""
    if records:
        _notify(
            Changes(
                request.dbsession,
                request.root_site,
                request.registry,
                records,
                actor=getattr(request.identity, "login", None),
            )
        )


def bulk_changed(dbsession, site, registry, records: Sequence[Change]) -> None:
    """Submissions written in bulk (no request): the same listeners, many changes at once."""
    if records:
        _notify(Changes(dbsession, site, registry, records))


def bulk_writer(dbsession, site, registry) -> Callable[[list[dict]], None]:
    """What a bulk writer calls with each batch of new rows (mappings of the submissions'
    columns) it has inserted."""

    def written(batch: list[dict]) -> None:
        bulk_changed(dbsession, site, registry, [(None, snapshot(row)) for row in batch])

    return written


def units_moved(dbsession, moves: Sequence[tuple[str, str]]) -> None:
    """Units moved (old path, new path each; the paths after all the moves), their
    submissions with them, in the transaction of the session (made by the request, which
    put its registry and site in `info`)."""
    moves = [(old, new) for old, new in moves if old != new]
    if moves:
        info = dbsession.info
        _notify(Changes(dbsession, info.get("site"), info.get("registry"), moved=moves))
