"""Two-way referral (双向转诊), decided by the `referral` workflow (workflows/definitions):
a centre or station sends a submitted 转诊单 (referral_slip, direction 转出) to a partner
hospital; the hospital's referral desk accepts or rejects it (with a reason), marks the
patient treated and refers them back with its 回转单 (discharge summary and follow-up
advice); the sending unit closes it when it has the patient back.

Who sees what: the sending unit and the units above it see the referrals it sent (with the
slip itself, as their roles allow); a hospital's desk sees the referrals sent to its
hospital and what it needs of the patient (`Referral.patient`), never the slip or any
other record. Partners are the active hospitals of the org tree: admins list them there.

Deadlines: a referral not accepted within 2 days, or not referred back within 30 days of
being sent, is overdue, in both inboxes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from portal import audit
from portal.models import Referral, Submission, WorkflowEntry, in_subtrees, utcnow
from portal.resources import OrgUnit
from portal.security import Permission, Refused
from workflows import engine

WORKFLOW = "referral"
FORM = "referral_slip"
OUT = "1"  # the slip's direction: 转出（上转）
ACCEPT_WITHIN = dt.timedelta(days=2)
RETURN_WITHIN = dt.timedelta(days=30)
LIST_MAX = 200
# What the desk reads of the patient (from the slip: its patient group and the reason).
PATIENT_FIELDS = ("name", "sex", "age", "phone", "impression", "present_history", "past_history")
# The 回转单 the desk fills in to refer the patient back.
BACK_FIELDS = ("diagnosis", "main_results", "follow_plan", "inpatient_no")
BACK_REQUIRED = ("diagnosis", "follow_plan")
TEXT_MAX = 2000


class ReferralError(Exception):
    """A referral that cannot be made or moved (HTTP `status`, a `code`, and field
    problems by name)."""

    def __init__(self, status: int, code: str, fields: dict | None = None):
        super().__init__(code)
        self.status = status
        self.code = code
        self.fields = fields or {}


def definition() -> engine.Definition:
    return engine.load_builtin(WORKFLOW)


def hospitals(site) -> list[OrgUnit]:
    """The active hospitals of the tree, by code."""
    return sorted(
        (u for u in site.units.values() if u.type == "hospital" and u.active),
        key=lambda u: u.code,
    )


def partners(site) -> list[OrgUnit]:
    """The hospitals referrals may be sent to: those the admin lists as partners (every
    active hospital of the tree until a list is kept)."""
    listed = getattr(site, "referral_partners", None)
    found = hospitals(site)
    return found if listed is None else [u for u in found if u.code in listed]


def set_partners(site, codes) -> list[str]:
    """Keep the partner list (codes of active hospitals; others are ignored)."""
    known = {u.code for u in hospitals(site)}
    site.referral_partners = tuple(sorted(c for c in set(codes) if c in known))
    return list(site.referral_partners)


# -- who is who ------------------------------------------------------------------------------
def capacities(request, referral: Referral) -> frozenset[str]:
    site = request.root_site
    sender_unit = site.unit_by_code(referral.from_org)
    hospital = site.unit_by_code(referral.to_org)
    held = set()
    if sender_unit is not None:
        if request.has_permission(Permission.REFERRAL_SEND, sender_unit):
            held.add("sender")
        elif request.has_permission(Permission.REFERRAL_VIEW, sender_unit):
            held.add("reviewer")
    if hospital is not None and request.has_permission(Permission.REFERRAL_HANDLE, hospital):
        held.add("desk")
    return frozenset(held)


def visible(request, referral: Referral) -> bool:
    return bool(capacities(request, referral))


def get(request, referral_id: str) -> Referral:
    """The referral, if the caller may see it: LookupError, Refused."""
    referral = request.dbsession.get(Referral, referral_id) if len(referral_id) <= 36 else None
    if referral is None:
        raise LookupError(referral_id)
    if not visible(request, referral):
        raise Refused("the referral is neither from your units nor to your hospital")
    return referral


def _caller(request, referral: Referral) -> engine.Caller:
    return engine.Caller(login=request.identity.login, capacities=capacities(request, referral))


def _facts(referral: Referral) -> engine.Facts:
    return engine.Facts(author=referral.sent_by)


def available(request, referral: Referral) -> list[str]:
    state = engine.RecordState(referral.status)
    return engine.available(definition(), state, _caller(request, referral), _facts(referral))


# -- sending ---------------------------------------------------------------------------------
def send(request, submission_id: str, hospital_code: str) -> Referral:
    """Send a submitted referral slip (direction 转出) to a partner hospital."""
    row = request.dbsession.get(Submission, submission_id) if len(submission_id) <= 36 else None
    if row is None or row.form_name != FORM:
        raise ReferralError(404, "slip")
    unit = request.root_site.unit_by_code(row.org_code)
    if unit is None or not request.has_permission(Permission.REFERRAL_SEND, unit):
        raise Refused("only survey staff of the slip's unit send it", unit)
    if row.status == "draft" or (row.data or {}).get("direction") != OUT:
        raise ReferralError(409, "not_outgoing")
    hospital = request.root_site.unit_by_code(hospital_code or "")
    if hospital is None or hospital not in partners(request.root_site):
        raise ReferralError(422, "hospital", {"hospital": "hospital"})
    existing = request.dbsession.scalar(select(Referral.id).where(Referral.submission_id == row.id))
    if existing is not None:
        raise ReferralError(409, "already_sent")
    data = row.data or {}
    now = utcnow()
    referral = Referral(
        id=str(uuid.uuid4()),
        submission_id=row.id,
        from_org=unit.code,
        from_path=row.org_path,
        to_org=hospital.code,
        to_path=hospital.path,
        status=definition().initial,
        sent_by=request.identity.login,
        sent_at=now,
        updated=now,
        patient={k: data[k] for k in PATIENT_FIELDS if data.get(k) not in (None, "")},
        back=None,
    )
    request.dbsession.add(referral)
    request.dbsession.add(
        WorkflowEntry(
            subject_type="referral",
            subject_id=referral.id,
            workflow=WORKFLOW,
            transition="send",
            from_status="",
            to_status=referral.status,
            level=None,
            approved_levels="",
            actor=request.identity.login,
            at=now,
            comment=None,
        )
    )
    request.dbsession.flush()
    _audit(request, "referral.send", referral, unit)
    return referral


def _back(data) -> dict:
    """The 回转单 as sent: the known fields, trimmed; ReferralError(422) naming the required
    ones that are missing."""
    if not isinstance(data, dict):
        data = {}
    back = {}
    for name in BACK_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and value.strip():
            back[name] = value.strip()[:TEXT_MAX]
    missing = {name: "required" for name in BACK_REQUIRED if name not in back}
    if missing:
        raise ReferralError(422, "back", missing)
    return back


def move(request, referral: Referral, name: str, comment: str | None, back=None) -> Referral:
    """Take a transition (accept, reject, treat, return, close): engine.Refusal when the
    caller may not; ReferralError(422) when the 回转单 lacks what it needs."""
    now = utcnow()
    state, entry = engine.execute(
        definition(),
        engine.RecordState(referral.status),
        name,
        _caller(request, referral),
        _facts(referral),
        comment,
        now,
    )
    if name == "return":
        referral.back = _back(back)
        referral.returned_at = now
    if name == "accept":
        referral.accepted_at = now
    if definition().states[state.status].final:
        referral.closed_at = now
    referral.status = state.status
    referral.updated = now
    request.dbsession.add(
        WorkflowEntry(
            subject_type="referral",
            subject_id=referral.id,
            workflow=WORKFLOW,
            transition=entry.transition,
            from_status=entry.from_status,
            to_status=entry.to_status,
            level=None,
            approved_levels="",
            actor=entry.actor,
            at=now,
            comment=entry.comment,
        )
    )
    request.dbsession.flush()
    unit = request.root_site.unit_by_code(
        referral.to_org if "desk" in _caller(request, referral).capacities else referral.from_org
    )
    _audit(request, f"referral.{name}", referral, unit)
    return referral


def history(dbsession, referral_id: str) -> list[WorkflowEntry]:
    return list(
        dbsession.scalars(
            select(WorkflowEntry)
            .where(
                WorkflowEntry.subject_type == "referral", WorkflowEntry.subject_id == referral_id
            )
            .order_by(WorkflowEntry.id)
        )
    )


# -- deadlines -------------------------------------------------------------------------------
def overdue(referral: Referral, now: dt.datetime | None = None) -> str | None:
    """The step that is late: "accept" (not accepted within 2 days) or "return" (not
    referred back within 30 days of being sent); None when none is."""
    now = now or utcnow()
    if referral.status == "sent" and now > referral.sent_at + ACCEPT_WITHIN:
        return "accept"
    if (
        referral.status in ("sent", "accepted", "treated")
        and now > referral.sent_at + RETURN_WITHIN
    ):
        return "return"
    return None


# -- lists -----------------------------------------------------------------------------------
@dataclass
class Scope:
    """Where the caller's referrals are: units whose sent referrals they see, hospitals
    whose desk they are."""

    sending_paths: list[str]
    hospitals: list[str]


def scope(request) -> Scope:
    identity = request.identity
    site = request.root_site
    sending, hospitals = [], []
    for _role, code in identity.account.grants if identity is not None else ():
        unit = site.unit_by_code(code)
        if unit is None:
            continue
        if request.has_permission(Permission.REFERRAL_VIEW, unit):
            sending.append(unit.path)
        if request.has_permission(Permission.REFERRAL_HANDLE, unit):
            hospitals += [u.code for u in unit.walk() if u.type == "hospital"]
    return Scope(sorted(set(sending)), sorted(set(hospitals)))


def listing(request, direction: str | None = None, status: str | None = None) -> list[Referral]:
    """The caller's referrals, newest first: `out` those their units sent, `in` those sent
    to their hospitals, both when None; at most LIST_MAX."""
    where = _scope_condition(request, direction)
    query = select(Referral).where(where)
    if status:
        query = query.where(Referral.status == status)
    return list(request.dbsession.scalars(query.order_by(Referral.updated.desc()).limit(LIST_MAX)))


def _scope_condition(request, direction: str | None):
    mine = scope(request)
    dialect = request.dbsession.get_bind().dialect.name
    conditions = []
    if direction in (None, "out"):
        conditions.append(in_subtrees(Referral.from_path, mine.sending_paths, dialect))
    if direction in (None, "in") and mine.hospitals:
        conditions.append(Referral.to_org.in_(mine.hospitals))
    return or_(*conditions) if conditions else Referral.id.is_(None)


def waiting_counts(request) -> dict[str, int]:
    """For the inbox: referrals for the caller's desk to accept and to refer back, and
    referred back to the caller's units to confirm; and how many of them are overdue."""
    counts = {"accept": 0, "return": 0, "confirm": 0, "overdue": 0}
    mine = scope(request)
    now = utcnow()
    if mine.hospitals:
        rows = request.dbsession.execute(
            select(Referral.status, func.count(), func.min(Referral.sent_at))
            .where(
                Referral.to_org.in_(mine.hospitals),
                Referral.status.in_(("sent", "accepted", "treated")),
            )
            .group_by(Referral.status)
        ).all()
        for status, n, _oldest in rows:
            counts["accept" if status == "sent" else "return"] += n
        counts["overdue"] += _overdue_count(request, Referral.to_org.in_(mine.hospitals), now)
    if mine.sending_paths:
        dialect = request.dbsession.get_bind().dialect.name
        sent = in_subtrees(Referral.from_path, mine.sending_paths, dialect)
        counts["confirm"] = request.dbsession.scalar(
            select(func.count()).select_from(Referral).where(sent, Referral.status == "returned")
        )
        counts["overdue"] += _overdue_count(request, sent, now)
    return counts


def _overdue_count(request, condition, now: dt.datetime) -> int:
    late_accept = (Referral.status == "sent") & (Referral.sent_at < now - ACCEPT_WITHIN)
    late_return = Referral.status.in_(("sent", "accepted", "treated")) & (
        Referral.sent_at < now - RETURN_WITHIN
    )
    return request.dbsession.scalar(
        select(func.count()).select_from(Referral).where(condition, or_(late_accept, late_return))
    )


def of_submission(dbsession, submission_id: str) -> Referral | None:
    return dbsession.scalars(
        select(Referral).where(Referral.submission_id == submission_id)
    ).first()


def as_json(request, referral: Referral) -> dict:
    site = request.root_site
    sender, hospital = site.unit_by_code(referral.from_org), site.unit_by_code(referral.to_org)
    caps = capacities(request, referral)
    return {
        "id": referral.id,
        "status": referral.status,
        "from_org": referral.from_org,
        "from_name": sender.name if sender is not None else referral.from_org,
        "to_org": referral.to_org,
        "to_name": hospital.name if hospital is not None else referral.to_org,
        "sent_by": referral.sent_by,
        "sent_at": referral.sent_at.isoformat() + "Z",
        "accepted_at": referral.accepted_at.isoformat() + "Z" if referral.accepted_at else None,
        "returned_at": referral.returned_at.isoformat() + "Z" if referral.returned_at else None,
        "closed_at": referral.closed_at.isoformat() + "Z" if referral.closed_at else None,
        "overdue": overdue(referral),
        "patient": dict(referral.patient or {}),
        "back": dict(referral.back) if referral.back else None,
        # The slip itself, for the sending side only (the desk reads `patient`).
        "submission": referral.submission_id if caps & {"sender", "reviewer"} else None,
        "transitions": available(request, referral),
    }


def _audit(request, event: str, referral: Referral, unit) -> None:
    audit.record(
        request,
        event,
        target=referral.id,
        unit=unit,
        detail={"from": referral.from_org, "to": referral.to_org, "status": referral.status},
        path=unit.path if unit is not None else None,
    )
