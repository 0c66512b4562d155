"""The ZODB connection: one database per process, one connection per request on request.tm.

This is the only module that knows how the connection is obtained, so swapping in
pyramid_zodbconn (or anything else) touches this file alone.
"""

import os
from urllib.parse import urlsplit

import ZODB
import zodburi
from transaction.interfaces import NoTransaction


def open_db(uri: str) -> ZODB.DB:
    """Open the database a zodburi names (file://, memory://, postgres:// via RelStorage)."""
    if uri.startswith("file://"):
        # The embedded default keeps everything under var/: create it on first use.
        os.makedirs(os.path.dirname(urlsplit(uri).path), exist_ok=True)
    storage_factory, dbkw = zodburi.resolve_uri(uri)
    return ZODB.DB(storage_factory(), **dbkw)


def request_connection(request):
    """The request's ZODB connection, joined to request.tm and closed when the request ends."""
    db = request.registry.zodb
    conn = db.open(transaction_manager=request.tm)
    if getattr(request.tm, "explicit", False):
        # An explicit manager has already begun the transaction, so the connection missed
        # the begin() that would have synchronised it: catch up with other processes now.
        try:
            conn.newTransaction(request.tm.get(), True)
        except NoTransaction:
            pass  # outside a transaction (a script's bootstrap): begin() will sync it
    request.add_finished_callback(lambda request: conn.close())
    return conn


def includeme(config):
    settings = config.get_settings()
    config.registry.zodb = open_db(settings["zodbconn.uri"])
    config.add_request_method(request_connection, "zodb", reify=True)
