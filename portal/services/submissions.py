"""Submissions: accepting filled-in forms for a unit and a period, within the caller's part of
the tree, validated by the form version they were filled with; reading them back with
personal fields masked for those who may not see them; editing them while the workflow
(workflows.submission) allows, keeping every version of the values.

One SQL row per submission (portal.models.Submission) holds the current values; edits of
submitted records keep each version in portal.models.SubmissionRevision. The form versions
live in ZODB.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from pyramid_retry import mark_error_retryable
from sqlalchemy import bindparam, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached

from forms import periods
from forms.display import readable
from forms.identifiers import mask_pii
from forms.messages import Message
from portal import audit
from portal.i18n import _, translate
from portal.models import (
    AuditEvent,
    PeriodApproval,
    RecordQuery,
    Referral,
    Submission,
    SubmissionRevision,
    WorkflowEntry,
    in_subtrees,
    utcnow,
    write,
)
from portal.resources import FormResource, OrgUnit
from portal.security import Permission, Refused
from portal.services import (
    attachments,
    period_approval,
    person_links,
    record_changes,
    review,
    unit_paths,
)
from portal.services.forms import CompiledVersion, compiled
from workflows import submission as workflow
from workflows.history import changed_keys

SUBMITTED = workflow.SUBMITTED
# Saved from the data-entry pages, not yet submitted: only its author resumes it, and only
# the values' types were checked. The API never makes one.
DRAFT = workflow.DRAFT
STATUSES = workflow.STATES

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
# A new record (or one moved) into a period approved for its unit: at the period field.
PERIOD_APPROVED = _(
    "submission_period_approved",
    default="This period has been approved for your unit: no more records can be added to it.",
)


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
            mapping={"example": periods.example(period_type)},
        )
    start = periods.period_start(period_type, period)
    if start is None:
        return _(
            "submission_period_format",
            default="Enter the period as ${example}.",
            mapping={"example": periods.example(period_type)},
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
    before = None if created else record_changes.snapshot(row)
    if created:
        row = Submission(
            id=str(uuid.uuid4()), author=request.identity.login, created=now, client_id=client_id
        )
        request.dbsession.add(row)
    row.form_name = form.name
    row.form_version = version_number
    row.org_code = unit.code
    # Read in the INSERT or UPDATE itself: the path the unit has when this commits.
    row.org_path = unit_paths.path_of(unit.code, unit.path)
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
    if status != DRAFT:  # submitted from the draft: the workflow's `submit`
        request.dbsession.add(WorkflowEntry(**review.submitted_entry(request, row, now)))
    record_changes.records_changed(request, [(before, record_changes.snapshot(row))])
    event = "submission.draft" if status == DRAFT else "submission.create"
    audit.record(
        request,
        event,
        target=row.id,
        unit=unit,
        detail={"form": form.name, "version": version_number},
        path=row.org_path,  # read back: the path the flush wrote
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
    # The client_id is looked up only when needed, not for every new submission: when the
    # request fails (a retry returns its original, whatever it would make of the request
    # now), when the insert finds it taken, and when a draft's files may be reused.
    original = None
    try:
        unit, current, number = _target(request, form, org, version_number)
        if current.has_attachments:
            original = _own_original(request, form, client_id)
            if original is not None and original.status != DRAFT:
                return Accepted(original, created=False)
        clean, errors = current.validator.validate(data, today=today)
        errors = attachments.check(request, current, clean, original and original.id, errors)
        errors = person_links.check(request, current, unit.code, period, clean, errors)
        problem = period_problem(current.definition.period_type, period, today)
        if problem is None and period_approval.locked_for_new(
            request.dbsession, form.name, period, unit
        ):
            problem = PERIOD_APPROVED
        if problem is not None:
            errors = {"period": problem, **errors}
        if errors:
            raise Invalid(errors)
    except (LookupError, Refused, Invalid):
        original = _own_original(request, form, client_id)
        if original is not None and original.status != DRAFT:
            return Accepted(original, created=False)
        raise
    row = None
    if original is None:
        row = _insert(request, form, unit, number, period, client_id, clean)
    if row is None:  # the caller's draft under this client_id, or an earlier submission
        if original is None:
            original = _own_original(request, form, client_id)
        if original is None:  # taken by a transaction this one cannot see: a retry will
            race = RuntimeError(f"client_id {client_id} is taken by an unseen transaction")
            mark_error_retryable(race)
            raise race
        if original.status != DRAFT:
            return Accepted(original, created=False)
        row = _store(
            request, form, original, unit, number, period, client_id, SUBMITTED, clean
        ).submission
    attachments.bind(request, current, clean, row, unit)
    return Accepted(row, created=True)


# INSERT … ON CONFLICT (client_id) DO NOTHING, by dialect (both have the clause), with the
# unit's path read in the statement itself (see unit_paths) and returned.
_INSERT_NEW = {
    name: dialect_insert(Submission.__table__)
    .values(org_path=unit_paths.path_of(bindparam("unit_code"), bindparam("unit_path")))
    .on_conflict_do_nothing(index_elements=[Submission.__table__.c.client_id])
    .returning(Submission.__table__.c.org_path)
    for name, dialect_insert in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert))
}


_INSERT_ENTRY = WorkflowEntry.__table__.insert()


def _insert(
    request,
    form: FormResource,
    unit: OrgUnit,
    version_number: int,
    period: str | None,
    client_id: str,
    data: dict,
) -> Submission | None:
    """Insert a new submitted record and audit it; None, with nothing written, when the
    client_id is taken.

    The API's hot path, so one Core statement rather than a lookup and a unit-of-work flush:
    the unique constraint on client_id decides in the insert itself, also against a
    concurrent request with the same key (the insert waits for it to end). The row returned
    is persistent in the request's session, as if it had been loaded."""
    now = utcnow()
    values = {
        "id": str(uuid.uuid4()),
        "form_name": form.name,
        "form_version": version_number,
        "org_code": unit.code,
        "period": period or None,
        "status": SUBMITTED,
        "author": request.identity.login,
        "created": now,
        "updated": now,
        "client_id": client_id,
        "data": data,
    }
    dbsession = request.dbsession
    statement = _INSERT_NEW[dbsession.bind.dialect.name]
    org_path = write(
        request, statement, {**values, "unit_code": unit.code, "unit_path": unit.path}
    ).scalar_one_or_none()
    if org_path is None:
        return None
    row = Submission(**values, org_path=org_path)
    make_transient_to_detached(row)
    dbsession.add(row)
    write(request, _INSERT_ENTRY, review.submitted_entry(request, row, now))
    record_changes.records_changed(request, [(None, record_changes.snapshot(row))])
    audit.record_now(
        request,
        "submission.create",
        target=row.id,
        unit=unit,
        detail={"form": form.name, "version": version_number},
        path=org_path,
    )
    return row


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
    # Files must be the caller's to use even in a draft; whether they fit waits for submit.
    errors = attachments.check(request, current, data, original and original.id, errors, fit=False)
    if period and periods.period_start(current.definition.period_type, period) is None:
        errors = {"period": period_problem(current.definition.period_type, period, today), **errors}
    if errors:
        raise Invalid(errors)
    accepted = _store(request, form, original, unit, number, period, client_id, DRAFT, dict(data))
    attachments.bind(request, current, data, accepted.submission, unit)
    return accepted


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
    """A submission as the caller may see it, with the audit row of the read (None when
    the form has no personal fields)."""

    submission: Submission
    data: dict
    masked: bool
    audited: AuditEvent | None = None


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
    data = readable(data)  # what an older version let in must not stop the page
    audited = _audit_read(request, submission, unit, masked) if current.has_pii else None
    return Reading(submission, data, masked, audited)


def _audit_read(
    request, submission: Submission, unit: OrgUnit | None, masked: bool, **more
) -> AuditEvent:
    """A read of personal data: which record, whether masked; never the values."""
    return audit.record(
        request,
        "submission.read",
        target=submission.id,
        unit=unit,
        detail={
            "form": submission.form_name,
            "version": submission.form_version,
            "masked": masked,
            **more,
        },
    )


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


# -- editing -------------------------------------------------------------------------------
class NotEditable(Exception):
    """The record's state does not let it be edited now (HTTP 409); `message` (a translation
    string) says why."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class Stale(Exception):
    """The record was saved again since the caller read revision `expected` (HTTP 409).
    `changed` names what changed since then (field names, and `period`)."""

    def __init__(
        self, expected: int, current: int, saved_by: str, saved: dt.datetime, changed: list[str]
    ):
        super().__init__(f"revision {expected} is not the current revision {current}")
        self.expected = expected
        self.current = current
        self.saved_by = saved_by
        self.saved = saved
        self.changed = changed


@dataclass
class Edited:
    submission: Submission
    revision: int  # the revision the record is at now
    changed: list[str]  # field names (and `period`); empty: nothing changed, nothing saved


# `edit(period=KEEP)`: the period stays as it is.
KEEP: Any = object()


def actors(request, row: Submission, unit: OrgUnit) -> frozenset[workflow.Actor]:
    """The capacities the caller holds for `row` (of `unit`) in the workflow's terms."""
    held = set()
    if request.has_permission(Permission.SUBMISSION_CREATE, unit):
        held.add(workflow.Actor.STAFF)
        if row.author == request.identity.login:
            held.add(workflow.Actor.OWNER)
    elif request.has_permission(Permission.SUBMISSION_VIEW, unit):
        held.add(workflow.Actor.REVIEWER)
    return frozenset(held)


def check_editable(request, row: Submission, unit: OrgUnit | None) -> None:
    """Raise unless the caller may edit the submitted record `row` (of `unit`) now: Refused
    outside their part of the tree or when they are not survey staff there (managers review,
    they do not edit), NotEditable when its state does not allow it (drafts are saved again
    with `save_draft`, approved records are closed)."""
    if unit is None or not request.has_permission(Permission.SUBMISSION_VIEW, unit):
        raise Refused("the submission is outside your part of the tree", unit)
    decision = workflow.edit_decision(row.status, actors(request, row, unit))
    if decision is workflow.Decision.ACTOR:
        raise Refused("only survey staff of the submission's unit may edit it", unit)
    if decision is workflow.Decision.STATE or not workflow.keeps_revisions(row.status):
        raise NotEditable(_not_editable(row.status))
    if review.is_locked(row):
        raise NotEditable(
            _(
                "submission_edit_reviewed",
                default="A reviewer has approved this submission: it can no longer be edited. "
                "Ask the reviewer to reopen it if it must change.",
            )
        )
    if review.period_locked(request.dbsession, row):
        raise NotEditable(
            _(
                "submission_edit_period_approved",
                default="The period of this submission has been approved: it can no longer be "
                "edited.",
            )
        )


def may_revise(request, row: Submission, unit: OrgUnit | None) -> bool:
    try:
        check_editable(request, row, unit)
    except (Refused, NotEditable):
        return False
    return True


def current_revision(dbsession, submission_id: str) -> int:
    """The revision a submission's values are at: 1 until it is first edited."""
    latest = dbsession.scalar(
        select(func.max(SubmissionRevision.revision)).where(
            SubmissionRevision.submission_id == submission_id
        )
    )
    return latest or 1


def revisions(dbsession, submission_id: str) -> list[SubmissionRevision]:
    """Every kept version of a submission's values, oldest first (none if never edited)."""
    return list(
        dbsession.scalars(
            select(SubmissionRevision)
            .where(SubmissionRevision.submission_id == submission_id)
            .order_by(SubmissionRevision.revision)
        )
    )


def _not_editable(status: str):
    if status == DRAFT:
        return _(
            "submission_edit_draft",
            default="This submission is a draft: it is finished and submitted on the "
            "data-entry page.",
        )
    if status == workflow.APPROVED:
        return _(
            "submission_edit_approved",
            default="This submission has been approved: it can no longer be edited.",
        )
    return _(
        "submission_edit_state",
        default="This submission cannot be edited in its present state (${status}).",
        mapping={"status": status},
    )


def edit(
    request,
    submission_id: str,
    data: Any,
    today: dt.date,
    period: Any = KEEP,
    expected_revision: int | None = None,
) -> Edited:
    """Replace the values (and, if given, the period) of a submitted record.

    LookupError when there is no such submission; see `check_editable` for Refused and
    NotEditable. `expected_revision`, the revision the caller's values were based on, makes
    a concurrent edit raise Stale instead of being replaced unseen. The values are validated
    with the form version the record was filled with, as `submit` does (Invalid). Every
    version is kept: the first edit keeps the submitted values as revision 1, and each edit
    adds the next revision; the record's row keeps the current values. An edit that changes
    nothing saves nothing.
    """
    row = request.dbsession.get(Submission, submission_id)
    if row is None:
        raise LookupError(submission_id)
    unit = request.root_site.unit_by_code(row.org_code)
    check_editable(request, row, unit)
    number = current_revision(request.dbsession, row.id)
    if expected_revision is not None and expected_revision != number:
        raise _stale(request.dbsession, row, expected_revision, number)
    current = compiled_version_of(request, row)
    period = row.period if period is KEEP else (period or None)
    clean, errors = current.validator.validate(data, today=today)
    errors = attachments.check(request, current, clean, row.id, errors)
    errors = person_links.check(
        request,
        current,
        row.org_code,
        period,
        clean,
        errors,
        exclude_id=row.id,
        previous=row.data if row.status != "draft" else None,
    )
    problem = (
        None
        if period == row.period
        else period_problem(current.definition.period_type, period, today)
    )
    if (
        problem is None
        and period != row.period
        and unit is not None
        and period_approval.locked_for_new(request.dbsession, row.form_name, period, unit)
    ):
        problem = PERIOD_APPROVED
    if problem is not None:
        errors = {"period": problem, **errors}
    if errors:
        raise Invalid(errors)
    changed = changed_keys(row.data, clean, order=current.definition.field_names())
    if period != row.period:
        changed.append("period")
    if not changed:
        return Edited(row, number, [])
    now = utcnow()
    before = record_changes.snapshot(row)
    if number == 1:
        request.dbsession.add(_revision(row, 1, row.author, row.updated))
    row.data, row.period, row.updated = clean, period, now
    attachments.bind(request, current, clean, row, unit)
    request.dbsession.add(_revision(row, number + 1, request.identity.login, now))
    try:
        request.dbsession.flush()
    except IntegrityError as error:
        # A concurrent edit took this revision number first: the retry finds it.
        mark_error_retryable(error)
        raise
    record_changes.records_changed(request, [(before, record_changes.snapshot(row))])
    audit.record(
        request,
        "submission.edit",
        target=row.id,
        unit=unit,
        detail={
            "form": row.form_name,
            "version": row.form_version,
            "revision": number + 1,
            "fields": changed,  # names only, never values
        },
    )
    return Edited(row, number + 1, changed)


def _revision(row: Submission, number: int, saved_by: str, saved: dt.datetime):
    return SubmissionRevision(
        submission_id=row.id,
        revision=number,
        form_version=row.form_version,
        period=row.period,
        data=row.data,
        saved_by=saved_by,
        saved=saved,
    )


def _stale(dbsession, row: Submission, expected: int, number: int) -> Stale:
    kept = {r.revision: r for r in revisions(dbsession, row.id)}
    base = kept.get(expected)
    changed = []
    if base is not None:
        changed = changed_keys(base.data, row.data)
        if base.period != row.period:
            changed.append("period")
    latest = kept.get(number)
    saved_by = latest.saved_by if latest is not None else row.author
    return Stale(expected, number, saved_by, row.updated, changed)


@dataclass
class Change:
    name: str  # a field's name, or `period`
    before: Any
    after: Any


@dataclass
class HistoryEntry:
    revision: int
    saved_by: str
    saved: dt.datetime
    changes: list[Change]  # from the revision before; none for the first


def history(request, reading: Reading, current: CompiledVersion) -> list[HistoryEntry]:
    """The kept versions of a submission as the caller may read them (personal fields
    masked as in `reading`), newest first, each with what it changed. Reading them is
    audited like reading the record when the form has personal fields: on the audit row
    of `reading`, as the number of revisions read."""
    row = reading.submission
    kept = revisions(request.dbsession, row.id)
    if not kept:
        return []
    if reading.audited is not None:  # one read of the record, its revisions included
        reading.audited.detail = {**reading.audited.detail, "revisions": len(kept)}
    elif current.has_pii:
        unit = request.root_site.unit_by_code(row.org_code)
        _audit_read(request, row, unit, reading.masked, revisions=len(kept))
    order = current.definition.field_names()
    entries, before, before_shown = [], None, {}
    for revision in kept:
        shown = mask_pii(current.definition, revision.data) if reading.masked else revision.data
        changes = []
        if before is not None:
            changes = [
                Change(name, before_shown.get(name), shown.get(name))
                for name in changed_keys(before.data, revision.data, order)
            ]
            if before.period != revision.period:
                changes.append(Change("period", before.period, revision.period))
        entries.append(HistoryEntry(revision.revision, revision.saved_by, revision.saved, changes))
        before, before_shown = revision, shown
    return entries[::-1]


# -- the tree ------------------------------------------------------------------------------
def relocate(dbsession, old_path: str, new_path: str) -> int:
    """A unit moved from `old_path` to `new_path`: rewrite the org_path of every submission
    in its subtree, in one UPDATE (the prefix replaced), in the caller's transaction, and
    the paths of the rows filed with them: review queries, period approvals, referrals
    (from and to). Returns how many submissions changed. (Revisions store no path; the
    audit log keeps where units were when its events happened and is not rewritten.)"""
    dialect = dbsession.get_bind().dialect.name
    moved = 0
    for column in (
        Submission.org_path,
        RecordQuery.org_path,
        PeriodApproval.org_path,
        Referral.from_path,
        Referral.to_path,
    ):
        result = dbsession.execute(
            update(column.class_)
            .where(in_subtrees(column, [old_path], dialect))
            .values({column.key: literal(new_path) + func.substr(column, len(old_path) + 1)})
            .execution_options(synchronize_session=False)
        )
        if column is Submission.org_path:
            moved = result.rowcount
    # Rows this session already holds would still show the old paths.
    for instance in list(dbsession.identity_map.values()):
        if isinstance(instance, Referral):
            dbsession.expire(instance, ["from_path", "to_path"])
        elif isinstance(instance, Submission | RecordQuery | PeriodApproval):
            dbsession.expire(instance, ["org_path"])
    return moved
