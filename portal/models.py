"""SQL storage: the engine, the per-request session joined to request.tm, and the tables.

SQL holds what grows without bound: the audit log, login sessions, API tokens, the
submissions and their revisions, their workflow history, review queries and period
approvals; and a mirror of each org
unit's path, which submissions copy. The schema is owned by
Alembic (portal/alembic); these classes must match it, which a test checks.
"""

import datetime as dt
import os
import re
import threading

import zope.sqlalchemy
from pyramid.settings import asbool
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
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
    # The levels of its review chain that have approved it, in order ("centre,district");
    # empty until the first approval (workflows: a record with any is locked for staff).
    approved_levels: Mapped[str] = mapped_column(String(64), default="", server_default="")


class SubmissionRevision(Base):
    """One version of a submission's values, kept when a submitted record is edited: the
    values it was submitted with (revision 1) and every edit after (2, 3, …), each with who
    saved it and when. The submission row keeps the current values, which the latest
    revision repeats; a submission never edited has no rows here (it is at revision 1).

    The primary key makes an edit an optimistic lock: two edits of the same revision both
    insert the next number, and only one of them can.
    """

    __tablename__ = "submission_revisions"

    submission_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_version: Mapped[int] = mapped_column(Integer)
    period: Mapped[str | None] = mapped_column(String(16))
    data: Mapped[dict] = mapped_column(JSONData)
    saved_by: Mapped[str] = mapped_column(String(64))
    saved: Mapped[dt.datetime] = mapped_column(DateTime)


class WorkflowEntry(Base):
    """One transition of a record's workflow (a submission's review, a referral): who took
    it, when, from which state to which, at which level of the chain, and why. Written in
    the same transaction as the state it records; never changed."""

    __tablename__ = "workflow_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))  # "submission", "referral"
    subject_id: Mapped[str] = mapped_column(String(36))
    workflow: Mapped[str] = mapped_column(String(32))
    transition: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(16))
    approved_levels: Mapped[str] = mapped_column(String(64))  # after the transition
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    comment: Mapped[str | None] = mapped_column(Text)


class PeriodApproval(Base):
    """A manager's approval of a whole (form, period, unit subtree) once its records are
    final: it locks them, from their own reviewers too. Un-approving keeps the row, with
    who un-approved it, when and why."""

    __tablename__ = "period_approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_name: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
    org_code: Mapped[str] = mapped_column(String(32))
    org_path: Mapped[str] = mapped_column(String(255))
    level: Mapped[str] = mapped_column(String(16))
    approved_by: Mapped[str] = mapped_column(String(64))
    approved_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoke_reason: Mapped[str | None] = mapped_column(Text)


class RecordQuery(Base):
    """A reviewer's query on a record (optionally on one field) asking for a correction:
    open until the reviewer resolves it; open queries block approval."""

    __tablename__ = "record_queries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    submission_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("submissions.id", ondelete="CASCADE")
    )
    field: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # open, answered, resolved
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    org_path: Mapped[str] = mapped_column(String(255))


class QueryMessage(Base):
    """One message of a query's conversation: the question, answers, replies, resolution."""

    __tablename__ = "query_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    query_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("record_queries.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))  # open, answer, reply, resolve
    author: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    text: Mapped[str] = mapped_column(Text)


class Referral(Base):
    """A two-way referral (双向转诊): a 转诊单 (a referral_slip submission) sent by a centre or
    station to a partner hospital, then accepted or rejected, treated, referred back with
    the hospital's 回转单, and closed when the sender has the patient back. The hospital's
    desk reads what it needs of the patient from `patient`, never the submission."""

    __tablename__ = "referrals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    submission_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("submissions.id", ondelete="CASCADE"), unique=True
    )
    from_org: Mapped[str] = mapped_column(String(32))
    from_path: Mapped[str] = mapped_column(String(255))
    to_org: Mapped[str] = mapped_column(String(32))
    to_path: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    sent_by: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    returned_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated: Mapped[dt.datetime] = mapped_column(DateTime)
    patient: Mapped[dict] = mapped_column(JSON)  # name, sex, age, impression, reason
    back: Mapped[dict | None] = mapped_column(JSON)  # the 回转单


class CommitLog(Base):
    """The SQL half of a transaction that wrote both stores: its id, whose ZODB half is a
    marker in root["portal_commits"]. A marker without its row is a transaction whose SQL
    part a crash lost (portal/crossstore.py)."""

    __tablename__ = "commit_log"

    cid: Mapped[str] = mapped_column(String(128), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class UnitPath(Base):
    """Each org unit's current path, mirrored from the ZODB tree: the row a submission
    takes its org_path from, and a move rewrites before it rewrites the submissions (see
    portal/services/unit_paths.py for why)."""

    __tablename__ = "unit_paths"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    path: Mapped[str] = mapped_column(String(255))


class ReferenceValue(Base):
    """A reference figure of a unit for a year: the denominators of the indicators that are
    not records (常住人口, 65岁及以上人口, 0–6岁儿童, 活产数, estimated patients). A unit's
    figure is its own where one is entered, else the sum of its children's figures."""

    __tablename__ = "reference_values"

    org_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    updated: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(64))


class ReportFact(Base):
    """A counted submission as the indicators read it (reports.indicators.Fact): kept so that
    a change takes the record's old contribution away exactly, and so that a person's or a
    unit's records are found without reading the submissions' values."""

    __tablename__ = "report_facts"

    submission_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    form_name: Mapped[str] = mapped_column(String(64))
    org_code: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16))
    person: Mapped[str | None] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(64))
    at: Mapped[str] = mapped_column(String(40))
    on_time: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[dict] = mapped_column(JSON)  # passes, latest_ok, numbers


class ReportContribution(Base):
    """What one person or one unit-and-form contributes now to the aggregates of its unit
    (and so of every unit above it), per period and indicator: the state that lets a
    person's latest follow-up replace an earlier one's contribution."""

    __tablename__ = "report_contributions"

    entity: Mapped[str] = mapped_column(String(200), primary_key=True)
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    org_code: Mapped[str] = mapped_column(String(32))
    n: Mapped[int] = mapped_column(Integer)


class ReportEntity(Base):
    """One row per person or unit-and-form with a contribution: its upsert is the lock that
    makes concurrent changes of one person's records take turns."""

    __tablename__ = "report_entities"

    entity: Mapped[str] = mapped_column(String(200), primary_key=True)
    changes: Mapped[int] = mapped_column(Integer)


class ReportAggregate(Base):
    """The sums every report reads: per unit (its whole subtree), period ("2026-10",
    "2026-Q4", "2026") and indicator key, a count `n` and a sum `total`. Kept in the same
    transaction as every change of a submission (portal/services/aggregates.py)."""

    __tablename__ = "report_aggregates"
    # Key before period: a report reads a few keys of a few units, over one period or (the
    # records held) every period up to its end, which is then one run of the index.
    __table_args__ = (PrimaryKeyConstraint("org_code", "key", "period"),)

    org_code: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(96))
    n: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float)


class ReportState(Base):
    """Facts about the kept aggregates: the fingerprint of the indicators they were computed
    for (a changed definition makes them stale until rebuilt)."""

    __tablename__ = "report_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class Job(Base):
    """Long work run in the background (portal/services/jobs.py): a report that took longer
    than the request would wait, its progress, and once done its file, kept for a day."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID
    kind: Mapped[str] = mapped_column(String(32))
    owner: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))  # running, done, failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished: Mapped[dt.datetime | None] = mapped_column(DateTime)
    content_type: Mapped[str | None] = mapped_column(String(100))
    filename: Mapped[str | None] = mapped_column(String(255))
    result: Mapped[bytes | None] = mapped_column(LargeBinary)


Index("ix_jobs_owner_created", Job.owner, Job.created)


# A prefix LIKE can use a b-tree index on PostgreSQL only under the C collation or with the
# pattern operator class; the servers' databases use a Chinese or UTF-8 locale.
_PATTERN_OPS = {"org_path": "varchar_pattern_ops", "path": "varchar_pattern_ops"}

Index("ix_audit_events_event_ts", AuditEvent.event, AuditEvent.ts)
Index("ix_audit_events_actor_event_ts", AuditEvent.actor, AuditEvent.event, AuditEvent.ts)
Index("ix_audit_events_org_path", AuditEvent.org_path, postgresql_ops=_PATTERN_OPS)
Index("ix_submissions_form_name_period", Submission.form_name, Submission.period)
Index(
    "ix_workflow_history_subject",
    WorkflowEntry.subject_type,
    WorkflowEntry.subject_id,
    WorkflowEntry.id,
)
Index(
    "ix_period_approvals_form_name_period",
    PeriodApproval.form_name,
    PeriodApproval.period,
    PeriodApproval.org_path,
    postgresql_ops=_PATTERN_OPS,
)
Index("ix_record_queries_submission_id", RecordQuery.submission_id)
Index(
    "ix_record_queries_status_org_path",
    RecordQuery.status,
    RecordQuery.org_path,
    postgresql_ops=_PATTERN_OPS,
)
# The inbox: records waiting in a state under a unit.
Index(
    "ix_submissions_status_org_path",
    Submission.status,
    Submission.org_path,
    postgresql_ops=_PATTERN_OPS,
)
Index("ix_query_messages_query_id", QueryMessage.query_id)
Index(
    "ix_referrals_from_path",
    Referral.from_path,
    postgresql_ops={"from_path": "varchar_pattern_ops"},
)
Index("ix_referrals_to_org_status", Referral.to_org, Referral.status)
Index("ix_submissions_org_path", Submission.org_path, postgresql_ops=_PATTERN_OPS)
# ix_submissions_form_name_org_code_record_no, on (form_name, org_code, the JSON record_no),
# is an expression index whose expression differs by dialect: migration 0008 makes it, and
# person_links.record_no_of queries it.
Index("ix_unit_paths_path", UnitPath.path, postgresql_ops=_PATTERN_OPS)
Index("ix_report_facts_org_code_person", ReportFact.org_code, ReportFact.person)
Index(
    "ix_report_facts_org_code_author_period",
    ReportFact.org_code,
    ReportFact.author,
    ReportFact.period,
)
Index(
    "ix_report_facts_org_code_form_name_period",
    ReportFact.org_code,
    ReportFact.form_name,
    ReportFact.period,
)


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


BUSY_TIMEOUT_MS = 10_000


# SQLite's `synchronous` for the embedded database (`portal.sqlite_synchronous`). FULL, the
# default, syncs the write-ahead log at every commit: a submission answered 201 survives a
# power cut. NORMAL syncs only at checkpoints: a commit costs microseconds instead of an
# fsync, but a power cut or an OS crash (not a crash of the process) may lose the last
# commits; the file is never corrupted. Choose NORMAL only where the disk's cache is
# battery-backed or the data can be entered again.
SQLITE_SYNCHRONOUS = ("full", "normal")


def _sqlite_pragmas(synchronous: str):
    def on_connect(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return on_connect


class _SQLiteWriters:
    """A queue for the writers of one process. SQLite lets one connection write at a time;
    the others wait in its busy handler, which sleeps 1, 2, 5, 10, 15… ms between tries and
    so wakes them late, long after the writer has committed. Here a connection takes a lock
    at its first write (where pysqlite begins the transaction) and gives it back when it
    returns to the pool (after its commit or rollback), so the next writer goes on at once.
    Other processes' connections still meet the busy handler; a writer that has waited
    `timeout` seconds goes on without the lock and leaves the waiting to SQLite."""

    _WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
    _HOLDS = "portal.sqlite_writer"

    def __init__(self, engine, timeout: float):
        self._lock = threading.Lock()
        self._timeout = timeout
        event.listen(engine, "before_cursor_execute", self._before_execute)
        event.listen(engine, "checkin", self._release)
        event.listen(engine, "detach", self._release)

    def _before_execute(self, conn, cursor, statement, parameters, context, executemany):
        info = conn.info
        if self._HOLDS not in info and self._WRITE.match(statement):
            info[self._HOLDS] = self._lock.acquire(timeout=self._timeout)

    def _release(self, dbapi_connection, connection_record):
        if connection_record is not None and connection_record.info.pop(self._HOLDS, False):
            self._lock.release()


def get_engine(settings: dict, prefix: str = "sqlalchemy."):
    settings = dict(settings)
    key = prefix + "pool_pre_ping"
    if key in settings:  # a string from the .ini: "false" must mean False
        settings[key] = asbool(settings[key])
    # Statements' parameters (submitted health data) stay out of error messages and logs.
    engine = engine_from_config(settings, prefix, hide_parameters=True)
    if engine.dialect.name == "sqlite":
        if engine.url.database and engine.url.database != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(engine.url.database)), exist_ok=True)
        synchronous = settings.get("portal.sqlite_synchronous", "full").strip().lower()
        if synchronous not in SQLITE_SYNCHRONOUS:
            raise ValueError(
                f"portal.sqlite_synchronous must be one of {', '.join(SQLITE_SYNCHRONOUS)},"
                f" not {synchronous!r}"
            )
        event.listen(engine, "connect", _sqlite_pragmas(synchronous))
        _SQLiteWriters(engine, timeout=BUSY_TIMEOUT_MS / 1000)
    from portal import crossstore

    crossstore.adapt_engine(engine, crossstore.prepared_transactions_available(engine))
    return engine


# zope.sqlalchemy's session events (those zope.sqlalchemy.register listens for), each with
# the way to the session from the event's first argument.
_TM_EVENTS = {
    "after_begin": None,
    "after_attach": None,
    "after_flush": None,
    "after_bulk_update": "session",
    "after_bulk_delete": "session",
    "before_commit": None,
    "do_orm_execute": "session",
}
_TM_KEY = "portal.transaction_events"


def _relay(name: str, via: str | None):
    def relay(target, *args):
        session = getattr(target, via) if via else target
        events = session.info.get(_TM_KEY)
        if events is not None:
            getattr(events, name)(target, *args)

    return relay


def get_session_factory(engine) -> sessionmaker:
    """Sessions that follow a transaction manager when made by `get_tm_session`.

    zope.sqlalchemy.register(session) listens for seven events on each session it is given,
    which costs a twentieth of an API request. Here they are listened for once, on the
    factory, and relayed to the zope.sqlalchemy events of the session's own transaction
    manager, kept in session.info; sessions made without one are left alone."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    for name, via in _TM_EVENTS.items():
        event.listen(factory, name, _relay(name, via))
    return factory


def get_tm_session(session_factory, transaction_manager):
    """A session whose commit and rollback follow the transaction manager: two-phase, so
    that where ZODB is in the transaction too, SQL commits after it (portal/crossstore.py)."""
    dbsession = session_factory()
    dbsession.twophase = True
    dbsession.info[_TM_KEY] = zope.sqlalchemy.ZopeTransactionEvents(
        transaction_manager=transaction_manager
    )
    return dbsession


def write(request, statement, params=None):
    """Run a Core INSERT, UPDATE or DELETE in the request's transaction. zope.sqlalchemy
    commits a session only when it knows the session changed: the ORM's flushes tell it,
    a Core statement has to."""
    result = request.dbsession.execute(statement, params)
    zope.sqlalchemy.mark_changed(request.dbsession, transaction_manager=request.tm)
    return result


def includeme(config):
    settings = config.get_settings()
    engine = get_engine(settings)
    config.registry.sql_engine = engine
    config.registry.dbsession_factory = get_session_factory(engine)
    config.add_request_method(_request_dbsession, "dbsession", reify=True)


def _request_dbsession(request):
    from portal import crossstore

    crossstore.watch(request)
    dbsession = get_tm_session(request.registry.dbsession_factory, request.tm)
    # For what follows a change of the rows without a request at hand (record_changes).
    dbsession.info["registry"] = request.registry
    return dbsession
