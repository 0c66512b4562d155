"""Period approval, as DHIS2 users know it: a district (or city) manager approves a whole
form, period and unit subtree once every record in it is final. The approval locks those
records, from their own reviewers too, and refuses new records for the period there.

Un-approving needs a reason, and is refused while a higher level's approval of the same
form and period stands above it. Rows are never deleted: un-approval records who, when and
why on the row.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from forms import periods
from portal import audit
from portal.i18n import _
from portal.models import PeriodApproval, Submission, in_subtrees, utcnow
from portal.resources import OrgUnit
from portal.security import Permission, Refused
from portal.services import review

# Units whose managers approve periods, and the level each approval is at.
APPROVING_TYPES = ("district", "city")
REASON_MAX = 2000
# The inbox's look for periods ready to approve: the newest final records, and the pairs
# checked whole (each check counts one form's period in a subtree).
SCAN_MAX = 2000
PAIRS_MAX = 10


class Conflict(Exception):
    """The period cannot be approved or un-approved now (HTTP 409); `message` says why."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class ReasonMissing(Exception):
    """Un-approving without a reason (HTTP 422)."""


@dataclass
class Status:
    form: str
    period: str
    unit: OrgUnit
    records: int  # counted records (not drafts) of the form and period in the subtree
    final: int  # of which final
    drafts: int
    approval: PeriodApproval | None  # the standing approval at this unit
    above: PeriodApproval | None  # a standing approval at a unit above

    @property
    def ready(self) -> bool:
        return self.records > 0 and self.final == self.records and self.approval is None

    def json(self) -> dict:
        def approval_json(a: PeriodApproval | None):
            if a is None:
                return None
            return {
                "org": a.org_code,
                "level": a.level,
                "approved_by": a.approved_by,
                "approved_at": a.approved_at.replace(tzinfo=None).isoformat() + "Z",
            }

        return {
            "form": self.form,
            "period": self.period,
            "org": self.unit.code,
            "records": self.records,
            "final": self.final,
            "drafts": self.drafts,
            "approved": self.approval is not None or self.above is not None,
            "approval": approval_json(self.approval),
            "approved_above": approval_json(self.above),
        }


def standing(dbsession, form: str, period: str, paths: list[str]) -> list[PeriodApproval]:
    """The standing approvals of the form and period at any of `paths` (unit paths)."""
    if not paths:
        return []
    return list(
        dbsession.scalars(
            select(PeriodApproval).where(
                PeriodApproval.form_name == form,
                PeriodApproval.period == period,
                PeriodApproval.org_path.in_(paths),
                PeriodApproval.revoked_at.is_(None),
            )
        )
    )


def status(request, form: str, period: str, unit: OrgUnit) -> Status:
    dbsession = request.dbsession
    dialect = dbsession.get_bind().dialect.name
    counts = dict(
        dbsession.execute(
            select(Submission.status, func.count())
            .where(
                Submission.form_name == form,
                Submission.period == period,
                in_subtrees(Submission.org_path, [unit.path], dialect),
            )
            .group_by(Submission.status)
        ).all()
    )
    final_states = {name for name, state in review.definition().states.items() if state.final}
    drafts = counts.pop("draft", 0)
    here = standing(dbsession, form, period, [unit.path])
    above_paths = [p for p in review._path_prefixes(unit.path) if p != unit.path]
    above = standing(dbsession, form, period, above_paths)
    return Status(
        form=form,
        period=period,
        unit=unit,
        records=sum(counts.values()),
        final=sum(n for state, n in counts.items() if state in final_states),
        drafts=drafts,
        approval=here[0] if here else None,
        above=min(above, key=lambda a: len(a.org_path)) if above else None,
    )


def check_target(request, form: str, period: str, unit: OrgUnit | None) -> None:
    """Refused unless the caller approves periods at `unit`; ValueError for a form or period
    that does not exist."""
    if unit is None or unit.type not in APPROVING_TYPES:
        raise Refused("periods are approved at a district or the city", unit)
    if not request.has_permission(Permission.PERIOD_APPROVE, unit):
        raise Refused("you do not approve periods for this unit", unit)
    if request.root_site["forms"].get(form) is None:
        raise ValueError("form")
    if periods.period_type_of(period) is None:
        raise ValueError("period")


def approve(request, form: str, period: str, unit: OrgUnit) -> PeriodApproval:
    check_target(request, form, period, unit)
    current = status(request, form, period, unit)
    if current.approval is not None:
        raise Conflict(_("period_already_approved", default="This period is already approved."))
    if current.records == 0:
        raise Conflict(
            _("period_nothing", default="There are no records of this form in this period.")
        )
    if current.final < current.records:
        raise Conflict(
            _(
                "period_not_final",
                default="${n} of ${total} records are not yet final: they must all be approved "
                "up their review chain first.",
                mapping={"n": current.records - current.final, "total": current.records},
            )
        )
    row = PeriodApproval(
        form_name=form,
        period=period,
        org_code=unit.code,
        org_path=unit.path,
        level=unit.type,
        approved_by=request.identity.login,
        approved_at=utcnow(),
    )
    request.dbsession.add(row)
    request.dbsession.flush()
    audit.record(
        request,
        "period.approve",
        target=f"{form}/{period}",
        unit=unit,
        detail={"form": form, "period": period, "records": current.records},
    )
    return row


def unapprove(request, form: str, period: str, unit: OrgUnit, reason: str | None) -> None:
    check_target(request, form, period, unit)
    reason = (reason or "").strip()
    if not reason:
        raise ReasonMissing()
    current = status(request, form, period, unit)
    if current.approval is None:
        raise Conflict(_("period_not_approved", default="This period is not approved here."))
    if current.above is not None:
        raise Conflict(
            _(
                "period_approved_above",
                default="A higher level (${unit}) has approved this period: it must be "
                "un-approved there first.",
                mapping={"unit": current.above.org_code},
            )
        )
    approval = current.approval
    approval.revoked_by = request.identity.login
    approval.revoked_at = utcnow()
    approval.revoke_reason = reason[:REASON_MAX]
    audit.record(
        request,
        "period.unapprove",
        target=f"{form}/{period}",
        unit=unit,
        detail={"form": form, "period": period},
    )


def locked_for_new(dbsession, form: str, period: str | None, unit: OrgUnit) -> bool:
    """Whether a new record of the form and period at `unit` falls in an approved period."""
    if not period:
        return False
    return bool(standing(dbsession, form, period, review._path_prefixes(unit.path)))


def waiting(request) -> list[Status]:
    """Form periods the caller could approve now: at the units where they approve periods,
    the (form, period) pairs whose records are all final and which are not yet approved.
    Bounded: the last 12 months' and 4 quarters' periods and this and last year."""
    identity = request.identity
    if identity is None:
        return []
    site = request.root_site
    today = periods.beijing_today()
    recent = [
        *periods.recent("month", today, 12),
        *periods.recent("quarter", today, 4),
        *periods.recent("year", today, 2),
    ]
    found = []
    for _role, code in identity.account.grants:
        unit = site.unit_by_code(code)
        if unit is None or unit.type not in APPROVING_TYPES:
            continue
        if not request.has_permission(Permission.PERIOD_APPROVE, unit):
            continue
        dialect = request.dbsession.get_bind().dialect.name
        # The (form, period) pairs of the newest final records there (a bounded look), each
        # then checked whole, at most PAIRS_MAX of them.
        newest = (
            select(Submission.form_name, Submission.period)
            .where(
                in_subtrees(Submission.org_path, [unit.path], dialect),
                Submission.period.in_(recent),
                Submission.status == "approved",
            )
            .order_by(Submission.updated.desc())
            .limit(SCAN_MAX)
            .subquery()
        )
        pairs = request.dbsession.execute(
            select(newest.c.form_name, newest.c.period)
            .group_by(newest.c.form_name, newest.c.period)
            .order_by(newest.c.period.desc())
            .limit(PAIRS_MAX)
        ).all()
        for form, period in pairs:
            current = status(request, form, period, unit)
            if current.ready and current.above is None:
                found.append(current)
    return found
