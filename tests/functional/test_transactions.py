"""One transaction per request spans ZODB and SQL; conflicts are retried."""

import transaction
import webtest
from pyramid.security import NO_PERMISSION_REQUIRED
from sqlalchemy import func, select

from portal import audit, models


def zodb_site(registry):
    """Read the committed site state through a connection of our own."""
    tm = transaction.TransactionManager(explicit=True)
    tm.begin()
    conn = registry.zodb.open(transaction_manager=tm)
    return tm, conn, conn.root()["site"]


def count_audit(registry, event):
    with registry.dbsession_factory() as s:
        return s.scalar(select(func.count()).where(models.AuditEvent.event == event))


def add_probe(config, name, view):
    config.add_route(name, f"/_probe/{name}")
    config.add_view(
        view,
        route_name=name,
        renderer="json",
        permission=NO_PERMISSION_REQUIRED,
        require_csrf=False,
    )


def test_failure_after_writing_both_stores_leaves_neither_changed(app_config):
    def write_both_then_fail(request):
        request.root_site.probe_marker = "written"
        request.dbsession.add(models.AuditEvent(event="probe.write", outcome="success"))
        request.dbsession.flush()  # the row really reached the database
        raise RuntimeError("fails after both writes")

    def write_both(request):
        request.root_site.probe_marker = "written"
        request.dbsession.add(models.AuditEvent(event="probe.write", outcome="success"))
        return {}

    add_probe(app_config, "fail", write_both_then_fail)
    add_probe(app_config, "ok", write_both)
    app = webtest.TestApp(app_config.make_wsgi_app())
    registry = app_config.registry

    try:
        app.get("/_probe/fail")
    except RuntimeError:
        pass
    tm, conn, site = zodb_site(registry)
    assert getattr(site, "probe_marker", None) is None
    tm.abort()
    conn.close()
    assert count_audit(registry, "probe.write") == 0

    # The same work without the failure lands in both stores.
    app.get("/_probe/ok", status=200)
    tm, conn, site = zodb_site(registry)
    assert site.probe_marker == "written"
    tm.abort()
    conn.close()
    assert count_audit(registry, "probe.write") == 1


def test_zodb_conflict_is_retried_and_lands_once(app_config):
    """A concurrent writer commits the same object first; the request conflicts, is retried
    on fresh state, and its effect is applied exactly once."""
    attempts = []

    def increment(request):
        attempts.append(request.environ.get("retry.attempt"))
        site = request.root_site
        value = getattr(site, "probe_counter", 0)
        if len(attempts) == 1:
            # Another process commits a change to the same object meanwhile.
            tm, conn, other_site = zodb_site(request.registry)
            other_site.probe_counter = 100
            tm.commit()
            conn.close()
        site.probe_counter = value + 1
        request.dbsession.add(models.AuditEvent(event="probe.increment", outcome="success"))
        return {"value": site.probe_counter}

    add_probe(app_config, "increment", increment)
    app = webtest.TestApp(app_config.make_wsgi_app())
    res = app.get("/_probe/increment", status=200)
    assert attempts == [0, 1]
    assert res.json == {"value": 101}
    tm, conn, site = zodb_site(app_config.registry)
    assert site.probe_counter == 101
    tm.abort()
    conn.close()
    # The SQL row of the failed attempt was rolled back with it.
    assert count_audit(app_config.registry, "probe.increment") == 1


def test_security_events_survive_an_aborted_request(app_config):
    def record_then_fail(request):
        audit.record(request, "probe.security", "failure", independent=True)
        audit.record(request, "probe.ordinary", "success")
        raise RuntimeError("the request aborts")

    add_probe(app_config, "secfail", record_then_fail)
    app = webtest.TestApp(app_config.make_wsgi_app())
    try:
        app.get("/_probe/secfail")
    except RuntimeError:
        pass
    assert count_audit(app_config.registry, "probe.security") == 1
    assert count_audit(app_config.registry, "probe.ordinary") == 0


def test_failed_login_audit_survives_an_aborted_request(app_config):
    from portal.services.accounts import authenticate

    def failed_login_then_abort(request):
        result = authenticate(request, "city", "Wrong-password-1")
        assert result.status == "bad_credentials"
        raise RuntimeError("the request aborts after the failed login")

    add_probe(app_config, "loginfail", failed_login_then_abort)
    app = webtest.TestApp(app_config.make_wsgi_app())
    try:
        app.get("/_probe/loginfail")
    except RuntimeError:
        pass
    with app_config.registry.dbsession_factory() as s:
        rows = list(s.scalars(select(models.AuditEvent).filter_by(event="login", target="city")))
        assert [(r.outcome, r.detail["reason"]) for r in rows] == [("failure", "bad_credentials")]
        assert s.get(models.LoginThrottle, "city").failures == 1


def test_a_request_syncs_its_zodb_connection_with_other_processes_once(app_config, monkeypatch):
    """Opening the request's connection on the begun transaction synchronises it (on
    RelStorage, a poll of the server); a second sync would only cost round trips."""
    from ZODB.Connection import Connection

    syncs = []
    real = Connection.newTransaction

    def counting(self, transaction, sync=True):
        syncs.append(sync)
        return real(self, transaction, sync)

    monkeypatch.setattr(Connection, "newTransaction", counting)
    add_probe(app_config, "read", lambda request: {"units": len(request.root_site.units)})
    app = webtest.TestApp(app_config.make_wsgi_app())
    syncs.clear()  # the start-up recovery's own connection (portal/crossstore.py)
    app.get("/_probe/read", status=200)
    assert syncs == [True]


def test_a_request_sees_what_another_process_committed(app_config, settings):
    """Another process (here a second ZODB.DB on the same storage) commits; the next
    request reads it. Only RelStorage lets two processes open one database."""
    import pytest

    from portal.zodb import open_db

    if not settings["zodbconn.uri"].startswith("postgres://"):
        pytest.skip("FileStorage admits one process")
    add_probe(
        app_config,
        "marker",
        lambda request: {"marker": getattr(request.root_site, "probe_marker", None)},
    )
    app = webtest.TestApp(app_config.make_wsgi_app())
    assert app.get("/_probe/marker").json == {"marker": None}
    other = open_db(settings["zodbconn.uri"])
    try:
        tm = transaction.TransactionManager(explicit=True)
        with tm:
            conn = other.open(transaction_manager=tm)
            conn.root()["site"].probe_marker = "from elsewhere"
        conn.close()
    finally:
        other.close()
    assert app.get("/_probe/marker").json == {"marker": "from elsewhere"}
