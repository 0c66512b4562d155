"""What waits for the caller (待办): records to review at their level, records returned to
them, open queries, and (once there) referrals and periods waiting for approval; counts
and the newest items, each linking to its record.

Every list is bounded: counts come from grouped queries (one row per form, approved levels
and unit), items from the newest few hundred candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from sqlalchemy import func, select

from portal.models import RecordQuery, Submission, in_subtrees
from portal.resources import OrgUnit
from portal.security import REVIEWER_ROLES
from portal.services import period_approval, referrals, review

ITEMS_MAX = 50  # per kind
CANDIDATES_MAX = 500
COUNT_CAP = 5000  # records looked at to count those waiting for review


@dataclass
class Item:
    kind: str  # review, returned, query
    submission: Submission
    detail: dict = field(default_factory=dict)

    def json(self) -> dict:
        row = self.submission
        return {
            "kind": self.kind,
            "id": row.id,
            "form": row.form_name,
            "org": row.org_code,
            "period": row.period,
            "status": row.status,
            "approved_levels": [x for x in (row.approved_levels or "").split(",") if x],
            "url": f"/api/v1/submissions/{row.id}",
            **self.detail,
        }


@dataclass
class PeriodItem:
    """A form period whose records are all final, for the caller to approve."""

    status: period_approval.Status
    kind: str = "period"

    def json(self) -> dict:
        return {
            "kind": self.kind,
            "form": self.status.form,
            "period": self.status.period,
            "org": self.status.unit.code,
            "records": self.status.records,
            "url": "/api/v1/period-approvals?"
            + urlencode(
                {
                    "form": self.status.form,
                    "period": self.status.period,
                    "org": self.status.unit.code,
                }
            ),
        }


@dataclass
class Waiting:
    counts: dict[str, int]
    items: list[Item | PeriodItem]
    capped: set[str] = field(default_factory=set)  # kinds whose count is a floor


def reviewing_units(request) -> list[tuple[OrgUnit, str]]:
    """The units where the caller holds a reviewer's role, with the level it reviews at."""
    identity = request.identity
    if identity is None:
        return []
    site = request.root_site
    found = []
    for role, code in identity.account.grants:
        level = REVIEWER_ROLES.get(role)
        unit = site.unit_by_code(code)
        if level is not None and unit is not None and unit.type == level:
            found.append((unit, level))
    return found


def _dialect(request) -> str:
    return request.dbsession.get_bind().dialect.name


def _next_level(request, form_name: str, approved: str, org_code: str) -> str | None:
    """The level a submitted record of this form, unit and approvals waits for."""
    site = request.root_site
    form = site["forms"].get(form_name)
    unit = site.unit_by_code(org_code)
    if form is None or unit is None:
        return None
    chain = review.record_chain(review.form_chain(form), unit)
    done = {x for x in approved.split(",") if x}
    return next((level for level in chain if level not in done), None)


def to_review(request, capped: set[str]) -> tuple[int, list[Item]]:
    """Submitted records whose next level is one the caller reviews at, but not their own.
    Adds "review" to `capped` when the count is a floor."""
    login = request.identity.login
    count, items = 0, []
    for unit, level in reviewing_units(request):
        where = (
            Submission.status == "submitted",
            in_subtrees(Submission.org_path, [unit.path], _dialect(request)),
            Submission.author != login,
        )
        # Counted over at most COUNT_CAP waiting records (a home page has a bounded cost);
        # beyond that the count is a floor, and says so.
        waiting = (
            select(Submission.form_name, Submission.approved_levels, Submission.org_code)
            .where(*where)
            .limit(COUNT_CAP)
            .subquery()
        )
        groups = request.dbsession.execute(
            select(
                waiting.c.form_name, waiting.c.approved_levels, waiting.c.org_code, func.count()
            ).group_by(waiting.c.form_name, waiting.c.approved_levels, waiting.c.org_code)
        ).all()
        if sum(n for *_key, n in groups) >= COUNT_CAP:
            capped.add("review")
        mine = {
            (form, approved, org)
            for form, approved, org, _n in groups
            if _next_level(request, form, approved, org) == level
        }
        count += sum(n for form, approved, org, n in groups if (form, approved, org) in mine)
        if not mine or len(items) >= ITEMS_MAX:
            continue
        candidates = request.dbsession.scalars(
            select(Submission)
            .where(*where)
            .order_by(Submission.updated.desc())
            .limit(CANDIDATES_MAX)
        )
        for row in candidates:
            if (row.form_name, row.approved_levels, row.org_code) in mine:
                items.append(Item("review", row, {"level": level}))
                if len(items) >= ITEMS_MAX:
                    break
    return count, items


def returned(request) -> tuple[int, list[Item]]:
    """Records returned to the caller (their own), with why."""
    login = request.identity.login
    where = (Submission.status == "returned", Submission.author == login)
    count = request.dbsession.scalar(select(func.count()).select_from(Submission).where(*where))
    rows = request.dbsession.scalars(
        select(Submission).where(*where).order_by(Submission.updated.desc()).limit(ITEMS_MAX)
    ).all()
    items = []
    for row in rows:
        entry = review.last_comment(request.dbsession, row.id, "return")
        detail = {"comment": entry.comment, "by": entry.actor} if entry is not None else {}
        items.append(Item("returned", row, detail))
    return count, items


def queries(request) -> tuple[int, list[Item]]:
    """Open queries on the caller's records, and answered ones the caller opened."""
    login = request.identity.login
    condition = ((RecordQuery.status == "open") & (Submission.author == login)) | (
        (RecordQuery.status == "answered") & (RecordQuery.opened_by == login)
    )
    base = select(RecordQuery, Submission).join(
        Submission, Submission.id == RecordQuery.submission_id
    )
    count = request.dbsession.scalar(
        select(func.count())
        .select_from(RecordQuery)
        .join(Submission, Submission.id == RecordQuery.submission_id)
        .where(condition)
    )
    rows = request.dbsession.execute(
        base.where(condition).order_by(RecordQuery.opened_at.desc()).limit(ITEMS_MAX)
    ).all()
    items = [
        Item("query", row, {"query": query.id, "field": query.field, "query_status": query.status})
        for query, row in rows
    ]
    return count, items


def waiting(request) -> Waiting:
    counts: dict[str, int] = {}
    items: list[Item | PeriodItem] = []
    capped: set[str] = set()
    counts["review"], found = to_review(request, capped)
    items += found
    for kind, find in (("returned", returned), ("queries", queries)):
        count, found = find(request)
        counts[kind] = count
        items += found
    for kind, n in referrals.waiting_counts(request).items():
        counts[f"referrals_{kind}"] = n
    ready = period_approval.waiting(request)
    counts["periods"] = len(ready)
    items += [PeriodItem(status) for status in ready[:ITEMS_MAX]]
    return Waiting(counts, items, capped)
