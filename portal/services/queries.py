"""Queries on records: a reviewer asks for a correction, on the whole record or on one
field; the record's staff answer; the reviewer resolves it or asks again. A query that is
not resolved (open or answered) blocks approval (the review workflow's `no_open_queries`).

Everything said is kept, message by message, with who and when; nothing is deleted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from portal import audit
from portal.models import QueryMessage, RecordQuery, Submission, utcnow
from portal.security import Permission, Refused
from portal.services import review

TEXT_MAX = 2000
OPEN, ANSWERED, RESOLVED = "open", "answered", "resolved"
# Who may say what, and what the query becomes.
BY_REVIEWER = {"reply": OPEN, "resolve": RESOLVED}
BY_STAFF = {"answer": ANSWERED}
# A record's queries are opened while it is under review.
QUERYABLE = ("submitted", "returned")


class QueryError(Exception):
    """A query change that cannot be made: `status` (409, 422) and `code`."""

    def __init__(self, status: int, code: str):
        super().__init__(code)
        self.status = status
        self.code = code


@dataclass
class Thread:
    query: RecordQuery
    messages: list[QueryMessage]

    def json(self) -> dict:
        q = self.query
        return {
            "id": q.id,
            "submission": q.submission_id,
            "field": q.field,
            "status": q.status,
            "opened_by": q.opened_by,
            "opened_at": q.opened_at.isoformat() + "Z",
            "messages": [
                {"kind": m.kind, "author": m.author, "at": m.at.isoformat() + "Z", "text": m.text}
                for m in self.messages
            ],
        }


def _text(text) -> str:
    if not isinstance(text, str) or not text.strip():
        raise QueryError(422, "text")
    return text.strip()[:TEXT_MAX]


def _is_reviewer(request, row: Submission, unit) -> bool:
    ctx = review.context(request, row, unit)
    return "reviewer" in ctx.caller.capacities


def _is_staff(request, unit) -> bool:
    return request.has_permission(Permission.SUBMISSION_CREATE, unit)


def threads(dbsession, submission_id: str) -> list[Thread]:
    queries = list(
        dbsession.scalars(
            select(RecordQuery)
            .where(RecordQuery.submission_id == submission_id)
            .order_by(RecordQuery.opened_at)
        )
    )
    if not queries:
        return []
    messages: dict[str, list[QueryMessage]] = {q.id: [] for q in queries}
    for message in dbsession.scalars(
        select(QueryMessage)
        .where(QueryMessage.query_id.in_(list(messages)))
        .order_by(QueryMessage.id)
    ):
        messages[message.query_id].append(message)
    return [Thread(q, messages[q.id]) for q in queries]


def open_query(request, row: Submission, unit, field: str | None, text) -> Thread:
    """A reviewer's new query on the record (or one of its fields)."""
    if not _is_reviewer(request, row, unit):
        raise Refused("only a reviewer of the record opens queries on it", unit)
    if row.status not in QUERYABLE:
        raise QueryError(409, "state")
    if field is not None:
        version = review.compiled_definition(request, row)
        if not isinstance(field, str) or version.get_field(field) is None:
            raise QueryError(422, "field")
    body = _text(text)
    now = utcnow()
    query = RecordQuery(
        id=str(uuid.uuid4()),
        submission_id=row.id,
        field=field,
        status=OPEN,
        opened_by=request.identity.login,
        opened_at=now,
        org_path=row.org_path,
    )
    request.dbsession.add(query)
    request.dbsession.flush()  # before its first message (no ORM relationship orders them)
    message = QueryMessage(
        query_id=query.id, kind="open", author=request.identity.login, at=now, text=body
    )
    request.dbsession.add(message)
    request.dbsession.flush()
    _audit(request, "query.open", row, unit, query)
    return Thread(query, [message])


def say(request, query: RecordQuery, row: Submission, unit, kind: str, text) -> Thread:
    """A message on a query: staff answer it; a reviewer replies (asks again) or resolves."""
    if query.status == RESOLVED:
        raise QueryError(409, "resolved")
    if kind in BY_REVIEWER:
        if not _is_reviewer(request, row, unit):
            raise Refused("only a reviewer of the record replies to or resolves a query", unit)
        status = BY_REVIEWER[kind]
        body = _text(text) if kind == "reply" else (text or "").strip()[:TEXT_MAX]
    elif kind in BY_STAFF:
        if not _is_staff(request, unit):
            raise Refused("only survey staff of the record's unit answer a query", unit)
        status = BY_STAFF[kind]
        body = _text(text)
    else:
        raise QueryError(422, "kind")
    query.status = status
    message = QueryMessage(
        query_id=query.id, kind=kind, author=request.identity.login, at=utcnow(), text=body
    )
    request.dbsession.add(message)
    request.dbsession.flush()
    _audit(request, f"query.{kind}", row, unit, query)
    return next(t for t in threads(request.dbsession, row.id) if t.query.id == query.id)


def _audit(request, event: str, row: Submission, unit, query: RecordQuery) -> None:
    audit.record(
        request,
        event,
        target=row.id,
        unit=unit,
        detail={"query": query.id, "field": query.field, "status": query.status},
        path=row.org_path,
    )
