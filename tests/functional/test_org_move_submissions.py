"""Moving an org unit takes its submissions along: their org_path is rewritten in the same
transaction as the ZODB move, so scope queries (API and pages) follow the unit; the audit
log keeps where the unit was when each event happened. A submission saved while the move
commits follows the unit too."""

import threading
import time

import transaction
import webtest
from pyramid.security import NO_PERMISSION_REQUIRED
from sqlalchemy import select

from portal.models import Submission, UnitPath, get_tm_session, utcnow
from portal.services import orgtree, submissions
from tests.conftest import audit_rows, login, sql
from tests.functional.test_api_forms import submit

OLD = "/110000/110101/110101001/"  # a 东城区 centre, with stations
NEW = "/110000/110102/110101001/"  # … below 西城区


def paths(testapp) -> dict[str, str]:
    with sql(testapp) as s:
        return dict(s.execute(select(Submission.id, Submission.org_path)).all())


def moved(before: dict, after: dict) -> dict:
    """The rows whose path changed: {id: (before, after)}."""
    return {key: (before[key], after[key]) for key in before if before[key] != after[key]}


def list_ids(checked, auth, **query):
    res = checked("get", "/api/v1/forms/bp_check/submissions", 200, headers=auth, params=query)
    return {item["id"] for item in res.json["items"]}


def test_moving_a_centre_moves_its_submissions_into_the_new_district(
    checked, testapp, published, tokens
):
    centre = submit(checked, tokens["staff"]).json["id"]
    station = submit(checked, tokens["station"], org="110101001001").json["id"]
    sibling = submit(checked, tokens["staff"], org="110101001002").json["id"]
    before = paths(testapp)
    under_old = {key for key, path in before.items() if path.startswith(OLD)}
    assert under_old == {centre, station, sibling}
    for login_name in ("dongcheng", "city"):
        assert {centre, station} <= list_ids(checked, tokens[login_name])
    assert not list_ids(checked, tokens["xicheng"]) & {centre, station}

    login(testapp, "admin")
    form = testapp.get(OLD + "move").forms["org-move"]
    form["parent"] = "110102"
    form.submit("save", status=303)

    after = paths(testapp)
    assert moved(before, after) == {
        key: (before[key], NEW + before[key][len(OLD) :]) for key in under_old
    }
    with sql(testapp) as s:
        mirrored = dict(s.execute(select(UnitPath.code, UnitPath.path)).all())
    assert mirrored["110101001"] == NEW and mirrored["110101001001"] == NEW + "110101001001/"
    assert mirrored["110101002"] == "/110000/110101/110101002/"
    with sql(testapp) as s:
        assert s.get(Submission, station).org_code == "110101001001"
    # The audit log is history: the submissions' events still say where they were made.
    [created] = [e for e in audit_rows(testapp, event="submission.create") if e.target == centre]
    assert created.org_path == OLD

    # The API follows the unit …
    assert {centre, station} <= list_ids(checked, tokens["xicheng"])
    assert {centre, station} <= list_ids(checked, tokens["xicheng"], org="110101001")
    assert not list_ids(checked, tokens["dongcheng"]) & {centre, station}
    checked("get", "/api/v1/submissions/" + station, 200, headers=tokens["xicheng"])
    checked("get", "/api/v1/submissions/" + station, 403, headers=tokens["dongcheng"])
    assert {centre, station} <= list_ids(checked, tokens["city"])
    # … and staff of the centre still have their records (their role moved with it).
    assert {centre, station} <= list_ids(checked, tokens["staff"])

    # … and so do the pages.
    testapp.reset()
    login(testapp, "xicheng")
    listing = testapp.get("/110000/110102/submissions?form=bp_check&unit=110101001")
    shown = {tr["data-id"] for tr in listing.html.select("#submissions tbody tr")}
    assert {centre, station} <= shown
    testapp.get("/110000/110102/110101001/submissions/" + centre, status=200)
    testapp.reset()
    login(testapp, "dongcheng")
    listing = testapp.get("/110000/110101/submissions?form=bp_check")
    shown = {tr["data-id"] for tr in listing.html.select("#submissions tbody tr")}
    assert not shown & {centre, station}
    testapp.get("/110000/110101/110101001/submissions/" + centre, status=404)


def test_an_import_that_moves_units_moves_their_submissions(checked, testapp, published, tokens):
    station = submit(checked, tokens["station"], org="110101001001").json["id"]
    before = paths(testapp)
    login(testapp, "admin")
    form = testapp.get("/110000/import").forms["org-import"]
    body = "code,name,type,parent\n110101001001,站,station,110101002\n"
    form["upload"] = ("move.csv", body.encode())
    form.submit("save", status=303)
    after = paths(testapp)
    assert after[station] == "/110000/110101/110101002/110101001001/"
    with sql(testapp) as s:
        assert s.get(UnitPath, "110101001001").path == after[station]
    assert set(moved(before, after)) == {
        key for key, path in before.items() if path.startswith(OLD + "110101001001/")
    }


def test_a_failure_after_the_move_leaves_both_stores_unchanged(app_config):
    """One transaction spans the ZODB move and the SQL rewrite."""

    def move_then_fail(request):
        site = request.root_site
        orgtree.move_unit(
            site, site.unit_by_code("110101001"), site.unit_by_code("110102"), request.dbsession
        )
        request.dbsession.flush()  # the UPDATE really reached the database
        raise RuntimeError("fails after the move")

    def move(request):
        site = request.root_site
        orgtree.move_unit(
            site, site.unit_by_code("110101001"), site.unit_by_code("110102"), request.dbsession
        )
        return {}

    for name, view in (("move_fail", move_then_fail), ("move_ok", move)):
        app_config.add_route(name, f"/_probe/{name}")
        app_config.add_view(
            view,
            route_name=name,
            renderer="json",
            permission=NO_PERMISSION_REQUIRED,
            require_csrf=False,
        )
    app = webtest.TestApp(app_config.make_wsgi_app())
    registry = app_config.registry

    def state():
        tm = transaction.TransactionManager(explicit=True)
        tm.begin()
        conn = registry.zodb.open(transaction_manager=tm)
        try:
            unit_path = conn.root()["site"].unit_by_code("110101001").path
        finally:
            tm.abort()
            conn.close()
        with registry.dbsession_factory() as s:
            rows = dict(s.execute(select(Submission.id, Submission.org_path)).all())
        return unit_path, rows

    with registry.dbsession_factory() as s:
        for key, path in (("a", OLD), ("b", OLD + "110101001001/"), ("c", "/110000/110101/")):
            s.add(
                Submission(
                    id=key,
                    form_name="f",
                    form_version=1,
                    org_code=path[-10:-1],
                    org_path=path,
                    status="submitted",
                    author="staff",
                    created=utcnow(),
                    updated=utcnow(),
                    client_id=key,
                    data={},
                )
            )
        s.commit()
    unit_path, rows = state()
    assert unit_path == OLD and rows == {
        "a": OLD,
        "b": OLD + "110101001001/",
        "c": "/110000/110101/",
    }
    try:
        app.get("/_probe/move_fail")
    except RuntimeError:
        pass
    assert state()[:2] == (unit_path, rows)
    # The same work without the failure lands in both stores.
    app.get("/_probe/move_ok", status=200)
    unit_path, after = state()
    assert unit_path == NEW
    assert after == {"a": NEW, "b": NEW + "110101001001/", "c": "/110000/110101/"}


def test_a_submission_saved_while_its_unit_moves_follows_the_unit(
    checked, app_config, testapp, published, tokens, monkeypatch
):
    """The submission's request read the tree before the move committed, so its ZODB view
    gives the old path; it must still be stored under the new one. It reads the path from
    unit_paths in its INSERT, which waits for the move (the row lock on PostgreSQL, the one
    writer on SQLite) and then reads what the move wrote."""
    registry = app_config.registry
    station_code, old_path = "110101001001", OLD + "110101001001/"
    auth = tokens["station"]
    list_ids(checked, auth)  # the token is made and used before the race begins
    insert_saw = []  # the ZODB path each submission's INSERT was given as a fallback
    write = submissions.write

    def watched_write(request, statement, params=None):
        if params and "unit_path" in params:
            insert_saw.append(params["unit_path"])
        return write(request, statement, params)

    monkeypatch.setattr(submissions, "write", watched_write)
    moved, release, failures = threading.Event(), threading.Event(), []

    def move():
        tm = transaction.TransactionManager(explicit=True)
        try:
            with tm:
                conn = registry.zodb.open(transaction_manager=tm)
                site = conn.root()["site"]
                orgtree.move_unit(
                    site,
                    site.unit_by_code("110101001"),
                    site.unit_by_code("110102"),
                    get_tm_session(registry.dbsession_factory, tm),
                )
                moved.set()  # written, not committed: the move holds its locks
                release.wait(10)
            conn.close()
        except Exception as error:  # reported below, not lost in the thread
            failures.append(error)
            moved.set()

    answers = []
    mover = threading.Thread(target=move)
    submitter = threading.Thread(
        target=lambda: answers.append(submit(checked, auth, org=station_code))
    )
    try:
        mover.start()
        assert moved.wait(10) and not failures
        submitter.start()
        deadline = time.monotonic() + 10
        while not insert_saw and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # into the wait for the move's lock
        assert not answers, "the submission did not wait for the move"
        release.set()
        mover.join(10)
        submitter.join(10)
    finally:
        release.set()
    assert failures == [] and len(answers) == 1
    # The request's view of the tree was from before the move …
    assert insert_saw == [old_path]
    # … yet the row, and its audit event, have the unit's new place.
    record = answers[0].json["id"]
    assert paths(testapp)[record] == NEW + "110101001001/"
    [created] = [e for e in audit_rows(testapp, event="submission.create") if e.target == record]
    assert created.org_path == NEW + "110101001001/"
    assert record in list_ids(checked, tokens["xicheng"])
    assert record not in list_ids(checked, tokens["dongcheng"])
    with sql(testapp) as s:
        assert s.get(UnitPath, station_code).path == NEW + "110101001001/"
