"""The audit log: who did what, where, when, from which address, and with what outcome.

Most events are written in the request's transaction, so they land exactly when the change
they describe lands. Security events (failed logins, lockouts, denied access) must survive
even when the request's transaction aborts: those are written after the request, in a
transaction of their own.
"""

import logging

from sqlalchemy import insert

from portal import crossstore, models

log = logging.getLogger(__name__)

# Keys that must never reach the audit log, whatever a caller passes.
_FORBIDDEN_KEYS = {"password", "new_password", "token", "csrf_token", "secret", "otp"}


def _values(request, event, outcome, target, unit, detail, path=None) -> dict:
    detail = {k: v for k, v in (detail or {}).items() if k not in _FORBIDDEN_KEYS}
    actor = detail.pop("actor", None)
    if actor is None:
        identity = request.identity
        actor = identity.login if identity is not None else None
    values = {
        "event": event,
        "outcome": outcome,
        "actor": actor,
        "ip": request.client_addr,
        "org_code": getattr(unit, "code", None),
        # Where the unit is in the tree; `path` when the caller knows it better than the
        # request's view of ZODB (a submission, which reads it from unit_paths).
        "org_path": path if path is not None else getattr(unit, "path", None),
        "target": target,
        "detail": detail or None,
    }
    # The log line names the event, never values.
    log.info("audit %s %s actor=%s target=%s", event, outcome, actor, target)
    return values


def record(
    request,
    event,
    outcome="success",
    target=None,
    unit=None,
    detail=None,
    independent=False,
    path=None,
):
    """Add an audit event. `independent=True` writes it even if the request aborts."""
    values = _values(request, event, outcome, target, unit, detail, path)
    row = models.AuditEvent(**values)
    if independent:
        after_request(request, lambda session: session.add(row))
    else:
        request.dbsession.add(row)
        crossstore.remember_audit(request, {"ts": models.utcnow(), **values})
    return row


_INSERT = insert(models.AuditEvent.__table__)


def record_now(request, event, outcome="success", target=None, unit=None, detail=None, path=None):
    """As `record`, in the request's transaction, but inserted at once by a Core statement,
    which costs a fraction of the ORM's flush: for hot paths that have just written to SQL
    themselves (so holding SQLite's write lock a little longer changes nothing)."""
    values = {"ts": models.utcnow(), **_values(request, event, outcome, target, unit, detail, path)}
    models.write(request, _INSERT, values)
    crossstore.remember_audit(request, values)


def after_request(request, work):
    """Run work(session) in its own SQL transaction once the request's has ended.

    Waiting for the end keeps it clear of the request's locks (SQLite has one writer).
    """
    pending = request.environ.setdefault("portal.after_request", [])
    if not pending:
        request.add_finished_callback(_run_pending)
    pending.append(work)


def _run_pending(request):
    work_items = request.environ.pop("portal.after_request", [])
    session = request.registry.dbsession_factory()
    try:
        for work in work_items:
            work(session)
        session.commit()
    except Exception:
        session.rollback()
        log.exception("could not write independent audit/security records")
    finally:
        session.close()
