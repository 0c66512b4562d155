"""Housekeeping: removing lapsed uploads and packing the ZODB, so that their space (and
that of old object revisions) is given back.

`portal attachments-clean` and `portal pack` do it from the command line, which suits the
scale-out store (RelStorage: any process may open it; run them from one host's cron). The
embedded FileStorage admits one process, the running portal: there, set
`portal.housekeeping_hours` and the portal does both itself, in a background thread, 10
minutes after its first request and then every that many hours.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass

import transaction
from pyramid.events import NewRequest

from portal.services.attachments import clear_expired

log = logging.getLogger(__name__)

FIRST_RUN_AFTER = dt.timedelta(minutes=10)


@dataclass
class Done:
    removed: int  # lapsed uploads removed
    packed: bool
    seconds: float


def clean_attachments(db) -> int:
    """Remove the lapsed uploads, in a transaction of its own; how many."""
    tm, conn = transaction.TransactionManager(explicit=True), None
    try:
        with tm:
            conn = db.open(transaction_manager=tm)
            return clear_expired(conn.root()["site"])
    finally:
        if conn is not None:
            conn.close()


def pack(db, days: float) -> None:
    """Pack the database: drop object revisions older than `days` days, and whatever
    nothing refers to any more (removed uploads' blobs included). Requests go on meanwhile."""
    db.pack(days=days)


def run(db, pack_days: float | None) -> Done:
    """One round: lapsed uploads, then a pack unless pack_days is None."""
    started = time.monotonic()
    removed = clean_attachments(db)
    if pack_days is not None:
        pack(db, pack_days)
    return Done(removed, pack_days is not None, time.monotonic() - started)


class Housekeeper:
    """The background thread of one process: `run` after `first`, then every `every`."""

    def __init__(self, db, every: dt.timedelta, pack_days: float | None, first=FIRST_RUN_AFTER):
        self.db, self.every, self.pack_days, self.first = db, every, pack_days, first
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="portal-housekeeping", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        wait = self.first
        while not self._stop.wait(wait.total_seconds()):
            try:
                done = run(self.db, self.pack_days)
            except Exception:  # logged, and tried again next round
                log.exception("housekeeping failed")
            else:
                log.info(
                    "housekeeping: removed %d lapsed uploads%s in %.1f s",
                    done.removed,
                    ", packed the database" if done.packed else "",
                    done.seconds,
                )
            self.rounds += 1
            wait = self.every


def includeme(config):
    """Start the housekeeper when the app serves its first request: an app that only a
    command boots (portal init, demo-data …) serves none and starts no thread."""
    settings = config.get_settings()
    hours = float(settings.get("portal.housekeeping_hours", 0) or 0)
    if hours <= 0:
        return
    raw_days = str(settings.get("portal.pack_days", "7")).strip()
    pack_days = None if raw_days.lower() in ("", "none", "off") else float(raw_days)
    lock = threading.Lock()

    def start(event):
        registry = event.request.registry
        if getattr(registry, "housekeeper", None) is not None:
            return
        with lock:
            if getattr(registry, "housekeeper", None) is not None:
                return
            keeper = Housekeeper(registry.zodb, dt.timedelta(hours=hours), pack_days)
            keeper.start()
            registry.housekeeper = keeper
        log.info(
            "housekeeping in %s, then every %g hours%s",
            FIRST_RUN_AFTER,
            hours,
            "" if pack_days is None else f", packing to {pack_days:g} days of history",
        )

    config.add_subscriber(start, NewRequest)
