"""Transactions that write both stores: ZODB commits first, SQL follows, and whatever a crash
leaves between the two is put right before the next request is served.

ZODB is the truth for the tree (units, forms, accounts, attachments); SQL rows follow it. A
request's transaction commits its resources in the order of their sort keys, voting all of
them before finishing any. The SQL session is two-phase (`get_tm_session` makes it so) and
its data manager sorts after every ZODB storage, so the order is:

    ZODB vote (FileStorage writes the transaction; RelStorage holds its commit lock)
    SQL vote: flush; on PostgreSQL, PREPARE TRANSACTION when ZODB is in the transaction too
    ZODB finish: the ZODB part is durable
    SQL finish: COMMIT (PREPARED)

A transaction that changes only one store commits as before, in one phase: two-phase costs
only where both stores change. Where both do, `_before_commit` gives the transaction an id
(`cid`) and writes it on both sides: a *marker* in ZODB (root["portal_commits"][cid], with
what recovery needs: the audit rows of the transaction and notes such as which attachments
were bound to which submission) and a row of `commit_log` in SQL. After a crash:

- a marker without its commit_log row: ZODB committed, SQL did not (the crash came between
  the two finishes, or SQL's commit failed). `recover` makes SQL follow ZODB: units' paths
  and the rows filed under them (submissions, queries, period approvals, referrals, the
  report aggregates) are moved to where ZODB has the units; attachments bound to a
  submission SQL does not have are made pending again; the transaction's audit rows are
  written, marked as recovered; and the commit_log row is added.
- on PostgreSQL, a prepared SQL transaction left in doubt (the crash came after SQL voted):
  committed if its marker is in ZODB, rolled back if not.
- neither: nothing of the transaction landed.

The guarantee per configuration:
- PostgreSQL (RelStorage + SQL, `max_prepared_transactions` > 0): two-phase commit. Nothing
  SQL voted for is lost; an in-doubt SQL transaction is committed or rolled back with its
  ZODB part.
- PostgreSQL without prepared transactions, and the embedded default (SQLite cannot
  prepare): ZODB first, then SQL, with the marker as the intent record. A crash between the
  two loses the SQL part of a transaction that was never acknowledged; start-up replays what
  follows from ZODB (paths, attachments, audit) so the stores agree again.

Recovery runs when the application is made (before it serves), and `portal check --repair`
runs it with a full check of the cross-store invariants (portal/services/consistency.py).
With several processes, one that starts while another is mid-commit must not decide the
other's transaction: a transaction is recovered only when the process that made it (named
in its cid: host and pid) is gone, or it is older than `GRACE`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from typing import Any

from BTrees.OOBTree import OOBTree
from sqlalchemy import delete, insert, select, text
from zope.sqlalchemy.datamanager import _SESSION_STATE, STATUS_CHANGED

from portal import failpoints
from portal.models import CommitLog, utcnow

log = logging.getLogger(__name__)

MARKERS = "portal_commits"
# A transaction of a live process is never older than this between its two commits.
GRACE = dt.timedelta(seconds=60)
# Markers and commit_log rows whose transactions completed are removed after this.
KEEP = dt.timedelta(hours=1)

_CID = "portal.crossstore.cid"  # on the SQL connection: this transaction's id
_PREPARED = "portal.crossstore.prepared"  # on the SQL connection: PREPARE TRANSACTION done
_HOST = socket.gethostname().replace(":", "_")[:40]


def new_cid() -> str:
    return f"portal:{_HOST}:{os.getpid()}:{uuid.uuid4().hex}"


def _owner_gone(cid: str) -> bool:
    """Whether the process that made `cid` is known to be gone (this host, pid not alive)."""
    try:
        _prefix, host, pid, _rest = cid.split(":", 3)
    except ValueError:
        return False
    if host != _HOST:
        return False
    if int(pid) == os.getpid():
        return False  # this process's own: it is alive
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        return False
    return False


def _decidable(cid: str, at: dt.datetime, now: dt.datetime) -> bool:
    return _owner_gone(cid) or now - at > GRACE


# -- the SQL dialect's two-phase methods -------------------------------------------------
def adapt_engine(engine, prepared_transactions: bool) -> None:
    """Make the engine's sessions two-phase where it matters. SQLAlchemy calls the dialect's
    do_*_twophase methods for a two-phase session; here they begin and commit as usual, and
    PREPARE only a transaction `_before_commit` named (one that writes ZODB too), and only
    where the database can (`prepared_transactions`). SQLite's "prepare" is its flush: its
    commit still waits for the second phase, after ZODB's."""
    from sqlalchemy.dialects.postgresql.base import PGDialect

    dialect = engine.dialect
    # The SQL statements (PREPARE TRANSACTION, COMMIT PREPARED 'cid'), not the driver's
    # tpc_* methods, which would have begun every transaction as a two-phase one.
    base = PGDialect

    def begin(connection, xid):
        dialect.do_begin(connection.connection)

    def prepare(connection, xid):
        cid = connection.info.get(_CID)
        if cid is None:
            return
        if prepared_transactions:
            base.do_prepare_twophase(dialect, connection, cid)
            connection.info[_PREPARED] = cid
        failpoints.reached("sql-voted")

    def commit(connection, xid, is_prepared=True, recover=False):
        if connection.info.pop(_CID, None) is not None:
            failpoints.reached("zodb-committed")
        cid = connection.info.pop(_PREPARED, None)
        if cid is not None:
            base.do_commit_twophase(dialect, connection, cid, True, recover)
        else:
            dialect.do_commit(connection.connection)

    def rollback(connection, xid, is_prepared=True, recover=False):
        connection.info.pop(_CID, None)
        cid = connection.info.pop(_PREPARED, None)
        if cid is not None:
            base.do_rollback_twophase(dialect, connection, cid, True, recover)
        else:
            dialect.do_rollback(connection.connection)

    dialect.do_begin_twophase = begin
    dialect.do_prepare_twophase = prepare
    dialect.do_commit_twophase = commit
    dialect.do_rollback_twophase = rollback


def prepared_transactions_available(engine) -> bool:
    """PostgreSQL with max_prepared_transactions > 0."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("SHOW max_prepared_transactions").scalar()) > 0


# -- marking a transaction that writes both stores -----------------------------------------
class _Watcher:
    """Registered on a request's transaction manager: each transaction it begins gets the
    before-commit hook, and the transaction's audit rows and notes are kept for the marker."""

    def __init__(self, request):
        self.request = request
        self.audit: list[dict] = []
        self.notes: list[tuple[str, dict]] = []
        self.cid: str | None = None

    def newTransaction(self, txn):  # noqa: N802 (ISynchronizer)
        self.audit, self.notes, self.cid = [], [], None
        failpoints.arm(self.request)
        txn.addBeforeCommitHook(_before_commit, (self.request, self))

    def beforeCompletion(self, txn):  # noqa: N802
        pass

    def afterCompletion(self, txn):  # noqa: N802
        if self.cid is not None and txn.status == "Committed":
            failpoints.reached("after-commit")
        failpoints.disarm()
        self.audit, self.notes, self.cid = [], [], None


def watch(request) -> None:
    """Watch the request's transactions (called when its ZODB connection or SQL session is
    first used). The watcher is kept on the request: the manager holds synchs weakly."""
    if "portal.crossstore" in request.__dict__:
        return
    watcher = request.__dict__["portal.crossstore"] = _Watcher(request)
    request.tm.registerSynch(watcher)


def _watcher(request) -> _Watcher | None:
    return getattr(request, "__dict__", {}).get("portal.crossstore")


def remember_audit(request, values: dict) -> None:
    """An audit row written in the request's transaction: kept for the marker, so that a
    crash that loses SQL's part does not lose the record of what ZODB's part did."""
    watcher = _watcher(request)
    if watcher is not None:
        watcher.audit.append(values)


def note(request, kind: str, **data) -> None:
    """Something recovery must know if SQL's part of this transaction is lost."""
    watcher = _watcher(request)
    if watcher is not None:
        watcher.notes.append((kind, data))


def _before_commit(request, watcher: _Watcher) -> None:
    txn = request.tm.get()
    zodb = request.__dict__.get("zodb")
    session = request.__dict__.get("dbsession")
    if zodb is None or session is None:
        return
    # A ZODB connection joins the transaction when one of its objects changes.
    if not any(resource is zodb for resource in txn._resources):
        return
    if _SESSION_STATE.get(session) is not STATUS_CHANGED:
        session.flush()  # pending ORM objects mark the session changed when flushed
        if _SESSION_STATE.get(session) is not STATUS_CHANGED:
            return
    cid = watcher.cid = new_cid()
    markers = zodb.root().get(MARKERS)
    if markers is None:
        markers = zodb.root()[MARKERS] = OOBTree()
    markers[cid] = {
        "at": utcnow(),
        "audit": [dict(values) for values in watcher.audit],
        "notes": list(watcher.notes),
    }
    connection = session.connection()
    connection.info[_CID] = cid
    session.execute(insert(CommitLog), {"cid": cid, "at": utcnow()})
    failpoints.reached("before-vote")


# -- recovery ----------------------------------------------------------------------------
def recover(request, now: dt.datetime | None = None) -> dict[str, int]:
    """Put right what crashes left between the stores (see the module's docstring), in
    transactions of `request.tm`. Returns counts of what was done."""
    now = now or utcnow()
    done = {"committed": 0, "rolled_back": 0, "replayed": 0, "pruned": 0}
    engine = request.registry.sql_engine
    if not _has_commit_log(engine):
        return done  # a database `portal migrate` has not reached yet
    if engine.dialect.name == "postgresql":
        _resolve_prepared(request, now, done)
    _replay_lost(request, now, done)
    done["pruned"] = prune(request, now)
    if any(done[key] for key in ("committed", "rolled_back", "replayed")):
        log.warning("cross-store recovery: %s", done)
    return done


def _has_commit_log(engine) -> bool:
    from sqlalchemy import inspect

    with engine.connect() as connection:
        return inspect(connection).has_table(CommitLog.__tablename__)


def _markers(request) -> dict[str, dict]:
    with request.tm:
        markers = request.zodb.root().get(MARKERS)
        return dict(markers.items()) if markers is not None else {}


# The portal's prepared transactions in this database, with when each was prepared.
_IN_DOUBT = text(
    "SELECT gid, prepared AT TIME ZONE 'UTC' FROM pg_prepared_xacts"
    " WHERE database = current_database() AND gid LIKE 'portal:%'"
)


def _resolve_prepared(request, now, done) -> None:
    engine = request.registry.sql_engine
    with engine.connect() as connection:
        rows = connection.execute(_IN_DOUBT).all()
    if not rows:
        return
    markers = _markers(request)
    for gid, prepared in rows:
        if not _decidable(gid, prepared, now):
            continue
        verb = "COMMIT" if gid in markers else "ROLLBACK"
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f"{verb} PREPARED :gid").bindparams(gid=gid))
        done["committed" if verb == "COMMIT" else "rolled_back"] += 1
        log.warning("cross-store recovery: %s PREPARED %s", verb, gid)


def _logged(engine, cids) -> set[str]:
    """Which of the transactions `cids` have their commit_log row (SQL's part landed)."""
    if not cids:
        return set()
    with engine.connect() as connection:
        return set(
            connection.execute(select(CommitLog.cid).where(CommitLog.cid.in_(list(cids)))).scalars()
        )


def _replay_lost(request, now, done) -> None:
    markers = _markers(request)
    if not markers:
        return
    logged = _logged(request.registry.sql_engine, markers)
    lost = {
        cid: marker
        for cid, marker in markers.items()
        if cid not in logged and _decidable(cid, marker["at"], now)
    }
    if not lost:
        return
    from portal.services import consistency

    with request.tm:
        site = request.zodb.root()["site"]
        consistency.repair_paths(request.dbsession, site)
        for cid, marker in sorted(lost.items(), key=lambda item: item[1]["at"]):
            for kind, data in marker["notes"]:
                if kind == "attachments":
                    consistency.release_orphans(request, site, data["submission"], data["ids"])
            _restore_audit(request, cid, marker["audit"])
            request.dbsession.execute(insert(CommitLog), {"cid": cid, "at": utcnow()})
            done["replayed"] += 1


def _restore_audit(request, cid: str, rows: list[dict]) -> None:
    from portal.models import AuditEvent

    for values in rows:
        values = dict(values)
        values["detail"] = {**(values.get("detail") or {}), "recovered": cid}
        values["ts"] = values.get("ts") or utcnow()
        request.dbsession.execute(insert(AuditEvent.__table__), values)


def prune(request, now: dt.datetime | None = None) -> int:
    """Remove the markers, then the commit_log rows, of transactions that completed more
    than KEEP ago. Separate transactions, ZODB first: a crash between them leaves rows
    without markers, which the next prune removes."""
    now = now or utcnow()
    cutoff = now - KEEP
    with request.registry.sql_engine.connect() as connection:
        old = set(connection.execute(select(CommitLog.cid).where(CommitLog.at < cutoff)).scalars())
    removed = 0
    if old:
        with request.tm:
            markers = request.zodb.root().get(MARKERS)
            for cid in old:
                if markers is not None and cid in markers:
                    del markers[cid]
                    removed += 1
        with request.registry.sql_engine.begin() as connection:
            connection.execute(delete(CommitLog).where(CommitLog.at < cutoff))
    return removed


def pending(request) -> dict[str, Any]:
    """What recovery would do now: markers without commit_log rows, and (PostgreSQL)
    prepared transactions left in doubt; for `portal check`."""
    engine = request.registry.sql_engine
    markers = _markers(request)
    in_doubt: list[str] = []
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            in_doubt = [gid for gid, _at in connection.execute(_IN_DOUBT)]
    return {
        "lost": sorted(set(markers) - _logged(engine, markers)),
        "in_doubt": sorted(in_doubt),
    }


def _recover_on_start(event) -> None:
    """Recovery before the application serves its first request."""
    from pyramid.scripting import prepare

    env = prepare(registry=event.app.registry)
    try:
        recover(env["request"])
    finally:
        env["closer"]()


def includeme(config) -> None:
    from pyramid.events import ApplicationCreated

    config.add_subscriber(_recover_on_start, ApplicationCreated)
