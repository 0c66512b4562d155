"""The ZODB connection: one database per process, one connection per request on request.tm.

This is the only module that knows how the connection is obtained, so swapping in
pyramid_zodbconn (or anything else) touches this file alone.
"""

import os
from urllib.parse import urlsplit

import ZODB
import zodburi


def open_db(uri: str) -> ZODB.DB:
    """Open the database a zodburi names (file://, memory://, postgres:// via RelStorage)."""
    if uri.startswith("file://"):
        # The embedded default keeps everything under var/: create it on first use.
        os.makedirs(os.path.dirname(urlsplit(uri).path), exist_ok=True)
    storage_factory, dbkw = zodburi.resolve_uri(uri)
    return ZODB.DB(storage_factory(), **dbkw)


def request_connection(request):
    """The request's ZODB connection, joined to request.tm and closed when the request ends.

    The explicit manager has begun the transaction already, so the connection missed the
    begin() that would have synchronised it with other processes; opening it registers it
    with the manager, which synchronises it then (TransactionManager.registerSynch calls
    its newTransaction). Once is enough: on RelStorage each costs round trips to the
    server. Outside a transaction (a script's bootstrap), begin() will."""
    from portal import crossstore

    crossstore.watch(request)
    db = request.registry.zodb
    conn = db.open(transaction_manager=request.tm)
    request.add_finished_callback(lambda request: conn.close())
    return conn


def includeme(config):
    settings = config.get_settings()
    config.registry.zodb = open_db(settings["zodbconn.uri"])
    config.add_request_method(request_connection, "zodb", reify=True)
