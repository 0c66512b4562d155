"""Submissions: accepting filled-in forms for a unit and a period, within the caller's part of
the tree, validated by the form version they were filled with; and reading them back with
personal fields masked for those who may not see them.

One SQL row per submission (portal.models.Submission); the form versions live in ZODB.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

from pyramid_retry import mark_error_retryable
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from forms.identifiers import mask_pii
from forms.messages import Message
from portal import audit
from portal.i18n import _, translate
from portal.models import Submission, in_subtrees, utcnow
from portal.resources import FormResource, OrgUnit
from portal.security import Permission
from portal.services.forms import CompiledVersion, compiled

SUBMITTED = "submitted"
# Saved from the data-entry pages, not yet submitted: only its author resumes it, and only
# the values' types were checked. The API never makes one.
DRAFT = "draft"
STATUSES = (DRAFT, SUBMITTED)

# FormValidator's messages about a value's type: the only ones that stop a draft.
_TYPE_ERRORS = frozenset(
    f"validation.{kind}"
    for kind in (
        "not_text",
        "not_integer",
        "not_number",
        "not_boolean",
        "not_date",
        "not_datetime",
        "not_a_list",
        "not_an_object",
        "unknown_field",
    )
)

_PERIODS = {
    "month": (re.compile(r"(\d{4})-(0[1-9]|1[0-2])\Z"), "2026-10"),
    "quarter": (re.compile(r"(\d{4})-Q([1-4])\Z"), "2026-Q3"),
    "year": (re.compile(r"(\d{4})\Z"), "2026"),
}


class Refused(Exception):
    """The caller may not submit this here (HTTP 403); `reason` is for the API's answer."""

    def __init__(self, reason: str, unit: OrgUnit | None = None):
        super().__init__(reason)
        self.reason = reason
        self.unit = unit


class Invalid(Exception):
    """The submission does not validate: messages (forms' Message or a translation string)
    keyed by `period` or by field name (inside repeats `repeat.index.field`)."""

    def __init__(self, errors: dict[str, Any]):
        super().__init__(", ".join(errors))
        self.errors = errors


class ClientIdTaken(Exception):
    """The client_id names a submission of someone else or of another form."""


@dataclass
class Accepted:
    submission: Submission
    created: bool  # False: the client_id had been seen, this is the original


# -- periods -------------------------------------------------------------------------------
def period_start(period_type: str, period: str) -> dt.date | None:
    """The first day of a well-formed period of that type, else None."""
    pattern = _PERIODS.get(period_type)
    match = pattern[0].match(period) if pattern and isinstance(period, str) else None
    if match is None:
        return None
    year = int(match.group(1))
    if period_type == "month":
        return dt.date(year, int(match.group(2)), 1)
    if period_type == "quarter":
        return dt.date(year, 3 * int(match.group(2)) - 2, 1)
    return dt.date(year, 1, 1)


def period_problem(period_type: str, period: Any, today: dt.date):
    """Why `period` does not fit a form with this period type (a translation string), or
    None. Periods that have not begun cannot be reported on."""
    if period_type == "none":
        if period in (None, ""):
            return None
        return _(
            "submission_period_none",
            default="This form has no reporting period: leave the period out.",
        )
    if period in (None, ""):
        return _(
            "submission_period_required",
            default="Enter the reporting period, such as ${example}.",
            mapping={"example": _PERIODS[period_type][1]},
        )
    start = period_start(period_type, period)
    if start is None:
        return _(
            "submission_period_format",
            default="Enter the period as ${example}.",
            mapping={"example": _PERIODS[period_type][1]},
        )
    if start > today:
        return _(
            "submission_period_future",
            default="The period ${period} has not begun.",
            mapping={"period": period},
        )
    return None


def client_id_of(value: Any) -> str | None:
    """The idempotency key in its canonical form (a UUID, lower case), or None."""
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


# -- accepting -----------------------------------------------------------------------------
def by_client_id(dbsession, client_id: str) -> Submission | None:
    return dbsession.scalar(select(Submission).filter_by(client_id=client_id))


def _own_original(request, form: FormResource, client_id: str) -> Submission | None:
    """The submission an earlier request made with this client_id, or None; ClientIdTaken
    when it is someone else's or another form's."""
    original = by_client_id(request.dbsession, client_id)
    if original is not None and (
        original.author != request.identity.login or original.form_name != form.name
    ):
        raise ClientIdTaken(client_id)
    return original


def _target(
    request, form: FormResource, org: str, version_number: int | None
) -> tuple[OrgUnit, CompiledVersion, int]:
    """The unit to fill in for and the compiled version; LookupError or Refused."""
    version = form.latest if version_number is None else form.version(version_number)
    if version is None:
        raise LookupError(form.name)
    unit = request.root_site.unit_by_code(org) if isinstance(org, str) else None
    if unit is None or not request.has_permission(Permission.SUBMISSION_CREATE, unit):
        raise Refused("you may not submit forms for this unit", unit)
    current = compiled(request, form, version)
    definition = current.definition
    if unit.type not in definition.levels:
        raise Refused(
            f"this form is filled in at {' or '.join(definition.levels)} level, "
            f"not at {unit.type} level",
            unit,
        )
    if not unit.active:
        raise Refused("the unit is inactive", unit)
    return unit, current, version.number


def _store(
    request,
    form: FormResource,
    row: Submission | None,
    unit: OrgUnit,
    version_number: int,
    period: str | None,
    client_id: str,
    status: str,
    data: dict,
) -> Accepted:
    """Add the submission, or update the draft `row`, and audit it."""
    now = utcnow()
    created = row is None
    if created:
        row = Submission(
            id=str(uuid.uuid4()), author=request.identity.login, created=now, client_id=client_id
        )
        request.dbsession.add(row)
    row.form_name = form.name
    row.form_version = version_number
    row.org_code = unit.code
    row.org_path = unit.path
    row.period = period or None
    row.status = status
    row.updated = now
    row.data = data
    try:
        request.dbsession.flush()
    except IntegrityError as error:
        # The same client_id committed by a concurrent request: a retry finds it.
        mark_error_retryable(error)
        raise
    event = "submission.draft" if status == DRAFT else "submission.create"
    audit.record(
        request,
        event,
        target=row.id,
        unit=unit,
        detail={"form": form.name, "version": version_number},
    )
    return Accepted(row, created=created)


def submit(
    request,
    form: FormResource,
    org: str,
    period: str | None,
    client_id: str,
    data: Any,
    today: dt.date,
    version_number: int | None = None,
) -> Accepted:
    """Accept a submission of `form` for unit `org` from the caller.

    A client_id seen before returns the original submission (its author retrying) or raises
    ClientIdTaken; the author's draft under that client_id is submitted (validated, then
    updated in place). Otherwise raises LookupError (no such published version), Refused
    (the unit is not the caller's to fill in for, or the form is not filled in at its level)
    or Invalid; values of fields that are not relevant are dropped and calculations
    recomputed.
    """
    original = _own_original(request, form, client_id)
    if original is not None and original.status != DRAFT:
        return Accepted(original, created=False)
    unit, current, number = _target(request, form, org, version_number)
    clean, errors = current.validator.validate(data, today=today)
    problem = period_problem(current.definition.period_type, period, today)
    if problem is not None:
        errors = {"period": problem, **errors}
    if errors:
        raise Invalid(errors)
    accepted = _store(request, form, original, unit, number, period, client_id, SUBMITTED, clean)
    return Accepted(accepted.submission, created=True)


def save_draft(
    request,
    form: FormResource,
    org: str,
    period: str | None,
    client_id: str,
    data: dict,
    today: dt.date,
    version_number: int | None = None,
) -> Accepted:
    """Save (or save again) the caller's draft under `client_id`, keeping `data` as typed.

    Only the values' types are checked (Invalid otherwise), and the period's form when one
    is given; the unit is checked as for `submit`. A client_id already submitted returns
    that submission unchanged (created False), as a retried submit would.
    """
    original = _own_original(request, form, client_id)
    if original is not None and original.status != DRAFT:
        return Accepted(original, created=False)
    unit, current, number = _target(request, form, org, version_number)
    _clean, errors = current.validator.validate(data, today=today)
    errors = {k: m for k, m in errors.items() if getattr(m, "id", None) in _TYPE_ERRORS}
    if period and period_start(current.definition.period_type, period) is None:
        errors = {"period": period_problem(current.definition.period_type, period, today), **errors}
    if errors:
        raise Invalid(errors)
    return _store(request, form, original, unit, number, period, client_id, DRAFT, dict(data))


# -- reading -------------------------------------------------------------------------------
def scope_paths(request, permission: Permission = Permission.SUBMISSION_VIEW) -> list[str]:
    """The org paths of the highest units where the caller has `permission`: their
    submissions are those under these paths."""
    site = request.root_site
    paths = set()
    for _role, code in request.identity.account.grants:
        unit = site.unit_by_code(code)
        if unit is not None and request.has_permission(permission, unit):
            paths.add(unit.path)
    return sorted(p for p in paths if not any(p != q and p.startswith(q) for q in paths))


def search(
    request,
    form_name: str | None,
    paths: list[str],
    period: str | None = None,
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Submission], int]:
    """One page of a form's submissions (every form's when `form_name` is None) under
    `paths` (newest first) and how many there are."""
    dialect = request.dbsession.get_bind().dialect.name
    conditions = [in_subtrees(Submission.org_path, paths, dialect)]
    if form_name:
        conditions.append(Submission.form_name == form_name)
    if period:
        conditions.append(Submission.period == period)
    if status:
        conditions.append(Submission.status == status)
    total = request.dbsession.scalar(select(func.count()).where(*conditions))
    rows = request.dbsession.scalars(
        select(Submission)
        .where(*conditions)
        .order_by(Submission.created.desc(), Submission.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), total


@dataclass
class Reading:
    """A submission as the caller may see it."""

    submission: Submission
    data: dict
    masked: bool


def read(request, submission_id: str) -> Reading:
    """A submission for the caller: LookupError when there is none, Refused outside their
    part of the tree. Personal fields are masked unless the caller may see them at the
    submission's unit; every read of a form with personal fields is audited (without the
    values)."""
    submission = request.dbsession.get(Submission, submission_id)
    if submission is None:
        raise LookupError(submission_id)
    unit = request.root_site.unit_by_code(submission.org_code)
    if unit is None or not request.has_permission(Permission.SUBMISSION_VIEW, unit):
        raise Refused("the submission is outside your part of the tree", unit)
    current = compiled_version_of(request, submission)
    masked = current.has_pii and not request.has_permission(Permission.SUBMISSION_PII, unit)
    data = mask_pii(current.definition, submission.data) if masked else submission.data
    if current.has_pii:
        audit.record(
            request,
            "submission.read",
            target=submission.id,
            unit=unit,
            detail={
                "form": submission.form_name,
                "version": submission.form_version,
                "masked": masked,
            },
        )
    return Reading(submission, data, masked)


def compiled_version_of(request, submission: Submission) -> CompiledVersion:
    form = request.root_site["forms"].get(submission.form_name)
    version = form.version(submission.form_version) if form is not None else None
    if version is None:
        # Published versions are never removed: the storage is inconsistent.
        raise RuntimeError(f"{submission.form_name} v{submission.form_version} is missing")
    return compiled(request, form, version)


def render_errors(request, errors: dict[str, Any], language: str) -> dict[str, str]:
    """Errors as texts in the caller's language: the 422 answer's `errors`."""
    return {
        key: message.render(language)
        if isinstance(message, Message)
        else translate(request.localizer, message)
        for key, message in errors.items()
    }
