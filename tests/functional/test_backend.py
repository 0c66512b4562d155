"""The storage the suite was asked for is the one in use, and ZODB blobs live in it."""

import shutil
from urllib.parse import parse_qs, urlsplit

import transaction
from sqlalchemy import inspect
from ZODB.blob import Blob
from ZODB.interfaces import IBlobStorage

from portal.zodb import open_db
from tests.conftest import BACKEND


def test_the_configured_backend_is_in_use(app_config):
    registry = app_config.registry
    storage = registry.zodb.storage
    assert IBlobStorage.providedBy(storage)
    if BACKEND == "postgresql":
        assert type(storage).__name__ == "RelStorage"
        assert registry.sql_engine.dialect.name == "postgresql"
        # One database holds both: RelStorage's tables sit beside the portal's.
        tables = inspect(registry.sql_engine).get_table_names()
        assert {"object_state", "blob_chunk", "audit_events"} <= set(tables)
    else:
        assert storage.getName().endswith("Data.fs")  # a FileStorage behind BlobStorage
        assert registry.sql_engine.dialect.name == "sqlite"


def test_a_blob_written_by_one_process_is_read_by_the_next(settings):
    uri = settings["zodbconn.uri"]
    payload = "体检报告 scan".encode() * 5000

    db = open_db(uri)
    tm = transaction.TransactionManager(explicit=True)
    with tm:
        conn = db.open(transaction_manager=tm)
        conn.root()["probe_blob"] = blob = Blob()
        with blob.open("w") as f:
            f.write(payload)
    conn.close()
    db.close()
    if BACKEND == "postgresql":
        # The blob directory is only a cache: the blob itself must be in the database.
        shutil.rmtree(parse_qs(urlsplit(uri).query)["blob_dir"][0])

    db = open_db(uri)
    try:
        conn = db.open()
        with conn.root()["probe_blob"].open() as f:
            assert f.read() == payload
        conn.close()
    finally:
        db.close()
