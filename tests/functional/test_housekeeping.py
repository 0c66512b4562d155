"""Housekeeping: lapsed uploads removed and the ZODB packed, so their files' space is given
back; by the running portal itself (portal.housekeeping_hours, for the embedded store,
which admits one process) or by `portal attachments-clean` and `portal pack`."""

import datetime as dt
import time

import pytest
import transaction
import webtest
from ZODB.POSException import POSKeyError

from portal import housekeeping, make_config
from portal.scripts import cli
from tests.conftest import close_app_registry, write_ini
from tests.functional.test_attachments import PNG, api_submit, api_upload, form_published, today

__all__ = ["form_published"]  # a fixture, used by name


def in_site(db, work):
    """work(site) in a transaction of its own, committed."""
    tm = transaction.TransactionManager(explicit=True)
    with tm:
        conn = db.open(transaction_manager=tm)
        result = work(conn.root()["site"])
    conn.close()
    return result


def lapse(site, attachment_id):
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    site["attachments"].pending[attachment_id] = past
    site["attachments"][attachment_id].expires = past


def blob_oid(site, attachment_id):
    return site["attachments"][attachment_id].blob._p_oid


def loads(db, oid) -> bool:
    try:
        db.storage.load(oid)
    except POSKeyError:
        return False
    return True


@pytest.fixture
def uploads(testapp, form_published, tokens):
    """(kept, lapsed): an upload a submission refers to, and one that has lapsed."""
    kept = api_upload(testapp, tokens["staff"], PNG).json["id"]
    api_submit(testapp, tokens["staff"], {"visit_date": today(), "photo": kept})
    lapsed = api_upload(testapp, tokens["staff"], PNG).json["id"]
    in_site(testapp.app.registry.zodb, lambda site: lapse(site, lapsed))
    return kept, lapsed


def test_a_round_removes_lapsed_uploads_and_the_pack_drops_their_files(testapp, tokens, uploads):
    db, (kept, lapsed) = testapp.app.registry.zodb, uploads
    oids = in_site(db, lambda site: {key: blob_oid(site, key) for key in uploads})
    assert all(loads(db, oid) for oid in oids.values())

    done = housekeeping.run(db, pack_days=0)
    assert (done.removed, done.packed) == (1, True)
    assert not loads(db, oids[lapsed])  # gone from the storage, not just unlinked
    assert loads(db, oids[kept])
    testapp.get(f"/api/v1/attachments/{lapsed}", headers=tokens["staff"], status=404)
    got = testapp.get(f"/api/v1/attachments/{kept}", headers=tokens["staff"], status=200)
    assert got.body == PNG
    # Nothing left to do: a second round removes nothing and keeps what is used.
    again = housekeeping.run(db, pack_days=None)
    assert (again.removed, again.packed) == (0, False)
    assert loads(db, oids[kept])


def test_the_portal_does_it_itself_in_a_background_thread(testapp, uploads):
    db, (kept, _lapsed) = testapp.app.registry.zodb, uploads
    keeper = housekeeping.Housekeeper(
        db, every=dt.timedelta(seconds=0.05), pack_days=None, first=dt.timedelta(0)
    )
    keeper.start()
    try:
        deadline = time.monotonic() + 20
        while keeper.rounds < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        keeper.stop(timeout=20)
    assert keeper.rounds >= 2
    assert in_site(db, lambda site: set(site["attachments"])) == {kept}


def test_the_setting_starts_it_at_the_first_request_and_no_setting_does_not(settings):
    config = make_config({**settings, "portal.housekeeping_hours": "24", "portal.pack_days": "3"})
    app = webtest.TestApp(config.make_wsgi_app())
    try:
        # Booted, as by a command: no thread.
        assert getattr(app.app.registry, "housekeeper", None) is None
        app.get("/login")
        keeper = app.app.registry.housekeeper
        app.get("/login")
        assert app.app.registry.housekeeper is keeper  # one per process
        assert keeper.every == dt.timedelta(hours=24) and keeper.pack_days == 3
        assert keeper.first == housekeeping.FIRST_RUN_AFTER and keeper.rounds == 0
        assert keeper._thread.is_alive()
    finally:
        keeper.stop(timeout=5)
        close_app_registry(app.app.registry)
    assert not keeper._thread.is_alive()
    app = webtest.TestApp(make_config(settings).make_wsgi_app())
    try:
        app.get("/login")
        assert getattr(app.app.registry, "housekeeper", None) is None
    finally:
        close_app_registry(app.app.registry)


def test_the_pack_command(settings, tmp_path, capsys, uploads, testapp):
    db, (_kept, lapsed) = testapp.app.registry.zodb, uploads
    oid = in_site(db, lambda site: blob_oid(site, lapsed))
    close_app_registry(testapp.app.registry)  # the commands open the storage themselves
    ini = write_ini(tmp_path / "t.ini", settings)
    assert cli.main(["attachments-clean", ini]) == 0
    assert cli.main(["pack", ini, "--days", "0"]) == 0
    out = capsys.readouterr().out
    assert "Removed 1 lapsed upload" in out and "keeping 0 days" in out
    config = make_config(settings)
    try:
        assert not loads(config.registry.zodb, oid)
    finally:
        close_app_registry(config.registry)
    assert cli.main(["pack", ini, "--days", "-1"]) == 1
    assert "negative" in capsys.readouterr().err
