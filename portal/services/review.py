"""Review up the tree: a submission's review chain, who reviews it at which level, and its
transitions, all decided by the `review` workflow definition (workflows/engine.py) and
recorded in the workflow history, in the transaction of the change.

A record climbs its form's chain of levels (by default the centre only; the baseline survey
centre → district → city; admins change it in the form builder), skipping levels that are
not above it. The reviewer at a level is a manager whose role is granted at a unit of that
type in the record's lineage (a centre manager reviews the centre's and its stations'
records). Every change of state goes through `apply`, which also calls the record seam
(the report aggregates) as saving does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyramid.traversal import lineage
from sqlalchemy import func, select

from portal import audit
from portal.models import PeriodApproval, RecordQuery, Submission, WorkflowEntry, utcnow
from portal.resources import FormResource, OrgUnit, SubmissionResource
from portal.security import REVIEWER_ROLES, Permission
from portal.services import record_changes
from workflows import engine

WORKFLOW = "review"
LEVELS = ("centre", "district", "city")  # review levels, lowest first
# A form's chain unless an admin set one: the baseline survey climbs to the city.
BASELINE_CATEGORY = "基线调查"
DEFAULT_CHAIN = ("centre",)
BASELINE_CHAIN = ("centre", "district", "city")
OPEN_QUERY_STATES = ("open", "answered")


def definition() -> engine.Definition:
    return engine.load_builtin(WORKFLOW)


# -- the chain ---------------------------------------------------------------------------------
def form_chain(form: FormResource) -> tuple[str, ...]:
    """The levels a form's records climb, as configured (or the default for its category)."""
    configured = getattr(form, "review_chain", None)
    if configured:
        return tuple(configured)
    latest = form.latest
    category = latest.definition().category if latest is not None else None
    return BASELINE_CHAIN if category == BASELINE_CATEGORY else DEFAULT_CHAIN


def chain_problem(levels) -> str | None:
    """Why `levels` is not a review chain (None when it is one)."""
    if not isinstance(levels, list | tuple) or not levels:
        return "empty"
    if any(level not in LEVELS for level in levels):
        return "unknown"
    if len(set(levels)) != len(levels) or list(levels) != sorted(levels, key=LEVELS.index):
        return "order"
    return None


def record_chain(form_levels: tuple[str, ...], unit: OrgUnit | None) -> tuple[str, ...]:
    """The levels of the chain that are at or above the record's unit (a station's record
    goes through its centre; a district's own record skips the centre). A record above every
    level of its chain is reviewed by the level above it."""
    if unit is None:
        return form_levels
    above = {u.type for u in lineage(unit) if isinstance(u, OrgUnit)}
    levels = tuple(level for level in form_levels if level in above)
    if levels:
        return levels
    higher = [level for level in LEVELS if level in above and level != unit.type]
    return tuple(higher[:1]) or form_levels[-1:]


def reviewer_levels(request, unit: OrgUnit | None, chain: tuple[str, ...]) -> frozenset[str]:
    """The levels of `chain` at which the caller reviews records of `unit`: those where a
    unit of the level's type in the unit's lineage grants them that level's manager role."""
    identity = request.identity
    if identity is None or unit is None:
        return frozenset()
    held = set()
    for node in lineage(unit):
        granted = getattr(node, "local_roles", None)
        if not granted or not isinstance(node, OrgUnit):
            continue
        for role in granted.get(identity.login, ()):
            level = REVIEWER_ROLES.get(role)
            if level is not None and level == node.type and level in chain:
                held.add(level)
    return frozenset(held)


def record_resource(request, submission_id: str, within: str = "/") -> SubmissionResource | None:
    """The record `submission_id` as a resource (its ACL locked once approved or its period
    is), if it lies under the unit path `within`; None otherwise."""
    row = request.dbsession.get(Submission, submission_id) if len(submission_id) <= 36 else None
    if row is None or not row.org_path.startswith(within):
        return None
    unit = request.root_site.unit_by_code(row.org_code)
    if unit is None:
        return None
    return SubmissionResource(row, unit, is_locked(row) or period_locked(request.dbsession, row))


# -- the record's state, the caller, the facts -------------------------------------------------
def state_of(row: Submission) -> engine.RecordState:
    levels = tuple(level for level in (row.approved_levels or "").split(",") if level)
    return engine.RecordState(status=row.status, approved=levels)


@dataclass
class Context:
    """What the workflow decides on for one record and one caller."""

    row: Submission
    unit: OrgUnit | None
    chain: tuple[str, ...]
    caller: engine.Caller
    facts: engine.Facts

    @property
    def state(self) -> engine.RecordState:
        return state_of(self.row)


def capacities(request, row: Submission, unit: OrgUnit | None, levels: frozenset[str]):
    held = set()
    if unit is not None and request.has_permission(Permission.SUBMISSION_CREATE, unit):
        held.add("staff")
        if row.author == request.identity.login:
            held.add("owner")
    if levels and request.has_permission(Permission.SUBMISSION_APPROVE, unit):
        held.add("reviewer")
    return frozenset(held)


def context(request, row: Submission, unit: OrgUnit | None = None) -> Context:
    if unit is None:
        unit = request.root_site.unit_by_code(row.org_code)
    form = request.root_site["forms"].get(row.form_name)
    chain = record_chain(form_chain(form) if form is not None else DEFAULT_CHAIN, unit)
    levels = reviewer_levels(request, unit, chain)
    caller = engine.Caller(
        login=request.identity.login if request.identity else "",
        capacities=capacities(request, row, unit, levels),
        reviewer_levels=levels,
    )
    facts = engine.Facts(
        author=row.author,
        chain=chain,
        open_queries=open_queries(request.dbsession, row.id),
        period_locked=period_locked(request.dbsession, row),
    )
    return Context(row, unit, chain, caller, facts)


def open_queries(dbsession, submission_id: str) -> int:
    return dbsession.scalar(
        select(func.count())
        .select_from(RecordQuery)
        .where(
            RecordQuery.submission_id == submission_id,
            RecordQuery.status.in_(OPEN_QUERY_STATES),
        )
    )


def period_approval_of(dbsession, row: Submission) -> PeriodApproval | None:
    """The standing period approval that covers the record (its form and period, at its
    unit or above), the highest first."""
    if not row.period:
        return None
    prefixes = _path_prefixes(row.org_path)
    return dbsession.scalars(
        select(PeriodApproval)
        .where(
            PeriodApproval.form_name == row.form_name,
            PeriodApproval.period == row.period,
            PeriodApproval.org_path.in_(prefixes),
            PeriodApproval.revoked_at.is_(None),
        )
        .order_by(func.length(PeriodApproval.org_path))
        .limit(1)
    ).first()


def period_locked(dbsession, row: Submission) -> bool:
    return period_approval_of(dbsession, row) is not None


def _path_prefixes(path: str) -> list[str]:
    """ "/110000/110101/110101001/" → the paths of the unit and every unit above it."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


# -- what the caller may do --------------------------------------------------------------------
def options(ctx: Context) -> list[engine.Option]:
    return engine.options(definition(), ctx.state, ctx.caller, ctx.facts)


def available(ctx: Context) -> list[str]:
    return engine.available(definition(), ctx.state, ctx.caller, ctx.facts)


def is_final(row: Submission) -> bool:
    state = definition().states.get(row.status)
    return bool(state is not None and state.final)


def is_locked(row: Submission, locked_by_period: bool = False) -> bool:
    """Whether staff may no longer change the record: a level approved it (or the chain
    made it final), or its period is approved."""
    return bool(state_of(row).approved) or is_final(row) or locked_by_period


def compiled_definition(request, row: Submission):
    """The form definition (version) the record was filled with."""
    from portal.services.submissions import compiled_version_of

    return compiled_version_of(request, row).definition


def state_dict(ctx: Context) -> dict:
    """The workflow part of a record's JSON: its state and what the caller may do now."""
    row = ctx.row
    return {
        "status": row.status,
        "approved_levels": list(ctx.state.approved),
        "chain": list(ctx.chain),
        "final": is_final(row),
        "locked": is_locked(row, ctx.facts.period_locked),
        "transitions": available(ctx),
    }


# -- changing the state --------------------------------------------------------------------
def apply(
    request,
    ctx: Context,
    name: str,
    comment: str | None,
    now: dt.datetime | None = None,
) -> WorkflowEntry:
    """Take transition `name` for the caller: engine.Refusal when it may not; otherwise the
    record's state changes, a history entry and an audit row are written and the record
    seam is told, all in the request's transaction."""
    before = record_changes.snapshot(ctx.row)
    state, entry = engine.execute(
        definition(), ctx.state, name, ctx.caller, ctx.facts, comment, now or utcnow()
    )
    row = ctx.row
    row.status = state.status
    row.approved_levels = ",".join(state.approved)
    row.updated = entry.at
    history = add_entry(request.dbsession, "submission", row.id, entry, state)
    request.dbsession.flush()
    record_changes.records_changed(request, [(before, record_changes.snapshot(row))])
    audit.record(
        request,
        f"submission.{name}",
        target=row.id,
        unit=ctx.unit,
        detail={
            "form": row.form_name,
            "from": entry.from_status,
            "to": entry.to_status,
            "level": entry.level,
        },
        path=row.org_path,
    )
    return history


@dataclass
class Moved:
    """One record's outcome in a bulk transition: `reason` None when it moved."""

    submission_id: str
    row: Submission | None
    reason: str | None = None
    message: dict | None = None


BULK_MAX = 500


def bulk(request, ids: list[str], name: str, comment: str | None) -> list[Moved]:
    """Take one transition for many records in the request's transaction: each that may
    take it does, each that may not is reported with its reason (`not_found`, `forbidden`,
    or the workflow's) and does not stop the others. At most BULK_MAX ids."""
    results = []
    for submission_id in list(dict.fromkeys(ids))[:BULK_MAX]:
        row = request.dbsession.get(Submission, submission_id) if len(submission_id) <= 36 else None
        unit = request.root_site.unit_by_code(row.org_code) if row is not None else None
        if row is None or unit is None:
            results.append(Moved(submission_id, None, "not_found"))
            continue
        if not request.has_permission(Permission.SUBMISSION_VIEW, unit):
            results.append(Moved(submission_id, None, "forbidden"))
            continue
        try:
            apply(request, context(request, row, unit), name, comment)
        except engine.Refusal as refusal:
            results.append(Moved(submission_id, row, refusal.reason, refusal.message))
            continue
        results.append(Moved(submission_id, row))
    return results


def add_entry(
    dbsession, subject_type: str, subject_id: str, entry, state: engine.RecordState
) -> WorkflowEntry:
    row = WorkflowEntry(
        subject_type=subject_type,
        subject_id=subject_id,
        workflow=WORKFLOW if subject_type == "submission" else subject_type,
        transition=entry.transition,
        from_status=entry.from_status,
        to_status=entry.to_status,
        level=entry.level,
        approved_levels=",".join(state.approved),
        actor=entry.actor,
        at=entry.at,
        comment=(entry.comment or None),
    )
    dbsession.add(row)
    return row


def submitted_entry(request, row: Submission, now: dt.datetime) -> dict:
    """The history row of a record submitted by its author (from a draft, or created
    submitted): the workflow's `submit` taken from the initial state. Returned as values
    for a Core insert (the API's hot path). engine.Refusal if the definition forbids it."""
    defn = definition()
    login = request.identity.login
    state, entry = engine.execute(
        defn,
        engine.RecordState(defn.initial),
        "submit",
        engine.Caller(login=login, capacities=frozenset({"owner", "staff"})),
        engine.Facts(author=row.author or login),
        None,
        now,
    )
    return {
        "subject_type": "submission",
        "subject_id": row.id,
        "workflow": WORKFLOW,
        "transition": entry.transition,
        "from_status": entry.from_status,
        "to_status": entry.to_status,
        "level": None,
        "approved_levels": ",".join(state.approved),
        "actor": login,
        "at": now,
        "comment": None,
    }


def history(dbsession, submission_id: str) -> list[WorkflowEntry]:
    return list(
        dbsession.scalars(
            select(WorkflowEntry)
            .where(
                WorkflowEntry.subject_type == "submission",
                WorkflowEntry.subject_id == submission_id,
            )
            .order_by(WorkflowEntry.id)
        )
    )


def last_comment(dbsession, submission_id: str, transition: str) -> WorkflowEntry | None:
    """The latest entry of a transition (why a record was returned)."""
    return dbsession.scalars(
        select(WorkflowEntry)
        .where(
            WorkflowEntry.subject_type == "submission",
            WorkflowEntry.subject_id == submission_id,
            WorkflowEntry.transition == transition,
        )
        .order_by(WorkflowEntry.id.desc())
        .limit(1)
    ).first()
