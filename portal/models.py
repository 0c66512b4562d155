"""SQL storage: the engine, the per-request session joined to request.tm, and the tables.

SQL holds what grows without bound: the audit log, login sessions, API tokens and the
submissions (later workflow history too). The schema is owned by Alembic (portal/alembic);
these classes must match it, which a test checks.
"""

import datetime as dt
import os

import zope.sqlalchemy
from pyramid.settings import asbool
from sqlalchemy import (
    JSON,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    and_,
    engine_from_config,
    event,
    false,
    or_,
)
from sqlalchemy.dialects.postgresql import JSONB
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
    org_path: Mapped[str | None] = mapped_column(String(255))
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


# Submitted values: JSONB on PostgreSQL (parsed once on write, so reports can aggregate and
# index fields inside it), JSON text elsewhere.
JSONData = JSON().with_variant(JSONB(), "postgresql")


class Submission(Base):
    """One filled-in form. The values are keyed by field name, as validated against the
    recorded form version; personal fields are masked when read by those who may not see them.

    Reports select by form and period and aggregate over a subtree of units: hence the
    (form_name, period) index and the org_path prefix index.
    """

    __tablename__ = "submissions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID
    form_name: Mapped[str] = mapped_column(String(64))
    form_version: Mapped[int] = mapped_column(Integer)
    org_code: Mapped[str] = mapped_column(String(32))
    # The unit's path when submitted: "/110000/110101/110101001/"
    org_path: Mapped[str] = mapped_column(String(255))
    # "2026-10", "2026-Q3", "2026", or None for forms without a reporting period
    period: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(64))
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # The client's idempotency key: a retried POST finds the submission it already made.
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    data: Mapped[dict] = mapped_column(JSONData)


# A prefix LIKE can use a b-tree index on PostgreSQL only under the C collation or with the
# pattern operator class; the servers' databases use a Chinese or UTF-8 locale.
_PATTERN_OPS = {"org_path": "varchar_pattern_ops"}

Index("ix_audit_events_event_ts", AuditEvent.event, AuditEvent.ts)
Index("ix_audit_events_org_path", AuditEvent.org_path, postgresql_ops=_PATTERN_OPS)
Index("ix_submissions_form_name_period", Submission.form_name, Submission.period)
Index("ix_submissions_org_path", Submission.org_path, postgresql_ops=_PATTERN_OPS)


def in_subtrees(column, paths, dialect_name: str):
    """A condition: `column` (an org path) lies under one of `paths` ("/110000/110101/").

    Written so each database answers it from its org_path index: PostgreSQL with a prefix
    LIKE (the pattern_ops index), SQLite with a range, as it compares text byte by byte and
    its LIKE is case-insensitive and would not use the index. No paths: nothing matches.
    """
    conditions = []
    for path in paths:
        if dialect_name == "postgresql":
            escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(column.like(escaped + "%", escape="\\"))
        else:
            # The first string after every one that starts with `path`.
            after = path[:-1] + chr(ord(path[-1]) + 1)
            conditions.append(and_(column >= path, column < after))
    return or_(*conditions) if conditions else false()


def _sqlite_pragmas(dbapi_connection, connection_record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def get_engine(settings: dict, prefix: str = "sqlalchemy."):
    settings = dict(settings)
    key = prefix + "pool_pre_ping"
    if key in settings:  # a string from the .ini: "false" must mean False
        settings[key] = asbool(settings[key])
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
