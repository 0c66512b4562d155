"""The embedded SQL engine: SQLite's settings, and the queue its writers take in one process."""

import threading
import time

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from portal.models import BUSY_TIMEOUT_MS, get_engine


@pytest.fixture
def engine(tmp_path):
    engine = get_engine({"sqlalchemy.url": f"sqlite:///{tmp_path}/q.sqlite"})
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine
    engine.dispose()


def pragmas(engine):
    with engine.connect() as connection:
        return {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "busy_timeout")
        }


def test_wal_with_full_sync_and_a_busy_timeout_by_default(engine):
    # synchronous 2 is FULL: every commit is on disk before it returns
    assert pragmas(engine) == {
        "journal_mode": "wal",
        "synchronous": 2,
        "busy_timeout": BUSY_TIMEOUT_MS,
    }


def test_normal_sync_is_a_setting(tmp_path):
    engine = get_engine(
        {
            "sqlalchemy.url": f"sqlite:///{tmp_path}/n.sqlite",
            "portal.sqlite_synchronous": "normal",
        }
    )
    try:
        assert pragmas(engine)["synchronous"] == 1  # NORMAL
    finally:
        engine.dispose()


def test_an_unknown_sync_setting_is_refused(tmp_path):
    with pytest.raises(ValueError, match="portal.sqlite_synchronous"):
        get_engine(
            {
                "sqlalchemy.url": f"sqlite:///{tmp_path}/x.sqlite",
                "portal.sqlite_synchronous": "off",
            }
        )


def _write_in_thread(engine, n, events):
    def work():
        with engine.connect() as connection:
            events.append(f"{n} writes")
            try:
                connection.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
            except OperationalError as error:
                events.append(str(error.orig))
                return
            events.append(f"{n} wrote")
            connection.commit()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


@pytest.mark.parametrize("ending", ["commit", "rollback", "close"])
def test_a_writer_waits_for_the_one_before_to_end(engine, ending):
    """In the queue, not in SQLite's busy handler: without the queue, with no busy timeout,
    the second writer would fail at once with "database is locked"."""

    @event.listens_for(engine, "connect")
    def no_busy_timeout(dbapi_connection, connection_record):
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    engine.dispose()  # connections made from now on
    events = []
    first = engine.connect()
    first.execute(text("INSERT INTO t VALUES (1)"))
    second = _write_in_thread(engine, 2, events)
    time.sleep(0.3)
    # Queued behind the open write transaction, not failing nor getting in.
    assert events == ["2 writes"] and second.is_alive()
    if ending == "commit":
        first.commit()
    elif ending == "rollback":
        first.rollback()
    first.close()  # back to the pool: the next writer goes on
    second.join(5)
    assert events == ["2 writes", "2 wrote"], events
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT n FROM t ORDER BY n")).scalars().all()
    assert rows == ([1, 2] if ending == "commit" else [2])


def test_readers_do_not_queue(engine):
    events = []
    with engine.connect() as reader:
        reader.execute(text("SELECT count(*) FROM t")).scalar()
        writer = _write_in_thread(engine, 1, events)
        writer.join(5)
        assert events == ["1 writes", "1 wrote"]


def test_errors_do_not_show_the_values_of_a_statement(engine):
    with pytest.raises(OperationalError) as raised, engine.connect() as connection:
        connection.execute(text("INSERT INTO missing VALUES (:v)"), {"v": "110105194912310029"})
    assert "110105194912310029" not in str(raised.value)
    assert "hidden" in str(raised.value)


def test_the_relayed_transaction_events_are_those_zope_sqlalchemy_listens_for(monkeypatch):
    # models._TM_EVENTS copies zope.sqlalchemy.register's list: a new event in an upgrade
    # would otherwise go unrelayed, and sessions would silently miss it.
    import zope.sqlalchemy
    from sqlalchemy.orm import sessionmaker

    from portal.models import _TM_EVENTS

    listened = []
    monkeypatch.setattr(event, "listen", lambda target, name, fn: listened.append(name))
    zope.sqlalchemy.register(sessionmaker())
    assert sorted(listened) == sorted(_TM_EVENTS)
