"""Failpoints: places in the commit where the fault-injection tests crash the process.

Off unless the process was started with PORTAL_FAILPOINTS=1 (the tests' subprocess
servers); then a request carrying the header `X-Portal-Failpoint: NAME` arms NAME for the
transactions of that request, and reaching it kills the process at once (SIGKILL, as a
power failure or `kill -9` would: nothing is flushed, no handler runs). The places, in the
order a transaction that writes both stores reaches them (portal/crossstore.py):

- before-vote: marked, nothing committed;
- sql-voted: ZODB voted, SQL voted (on PostgreSQL: prepared), neither committed;
- zodb-committed: ZODB committed, SQL not yet;
- after-commit: both committed, the response not yet sent.
"""

from __future__ import annotations

import os
import signal
import threading

ENABLED = os.environ.get("PORTAL_FAILPOINTS") == "1"
HEADER = "X-Portal-Failpoint"
NAMES = ("before-vote", "sql-voted", "zodb-committed", "after-commit")

_armed = threading.local()


def arm(request) -> None:
    """Arm the failpoint the request names, for this thread's transactions."""
    if ENABLED:
        name = request.headers.get(HEADER)
        _armed.name = name if name in NAMES else None


def disarm() -> None:
    if ENABLED:
        _armed.name = None


def reached(name: str) -> None:
    if ENABLED and getattr(_armed, "name", None) == name:
        os.kill(os.getpid(), signal.SIGKILL)
