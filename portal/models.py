"""SQL storage: the engine, the per-request session joined to request.tm, and the tables.

SQL holds what grows without bound: the audit log, login sessions and API tokens (and, in
later issues, submissions and workflow history). The schema is owned by Alembic
(portal/alembic); these classes must match it, which a test checks.
"""

import datetime as dt
import os

import zope.sqlalchemy
from sqlalchemy import (
    JSON,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    engine_from_config,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class AuditEvent(Base):
    """One audited action. Never holds a password or a health value."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # success, failure, denied
    actor: Mapped[str | None] = mapped_column(String(64), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    org_code: Mapped[str | None] = mapped_column(String(32))
    # "/110000/110101/..." so that a subtree is a prefix match
    org_path: Mapped[str | None] = mapped_column(String(255), index=True)
    target: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[dict | None] = mapped_column(JSON)


class AuthSession(Base):
    """A logged-in browser session; the cookie holds only its id. Deleting it logs out."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    login: Mapped[str] = mapped_column(String(64), index=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64))


class ApiToken(Base):
    """A bearer token for the API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    login: Mapped[str] = mapped_column(String(64), index=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires: Mapped[dt.datetime] = mapped_column(DateTime)


class LoginThrottle(Base):
    """Consecutive failed logins per login name, shared by every app process."""

    __tablename__ = "login_throttle"

    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)


Index("ix_audit_events_event_ts", AuditEvent.event, AuditEvent.ts)


def _sqlite_pragmas(dbapi_connection, connection_record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def get_engine(settings: dict, prefix: str = "sqlalchemy."):
    engine = engine_from_config(settings, prefix)
    if engine.dialect.name == "sqlite":
        if engine.url.database and engine.url.database != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(engine.url.database)), exist_ok=True)
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def get_session_factory(engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)


def get_tm_session(session_factory, transaction_manager):
    """A session whose commit and rollback follow the transaction manager."""
    dbsession = session_factory()
    zope.sqlalchemy.register(dbsession, transaction_manager=transaction_manager)
    return dbsession


def includeme(config):
    settings = config.get_settings()
    engine = get_engine(settings)
    config.registry.sql_engine = engine
    config.registry.dbsession_factory = get_session_factory(engine)
    config.add_request_method(
        lambda r: get_tm_session(r.registry.dbsession_factory, r.tm), "dbsession", reify=True
    )
