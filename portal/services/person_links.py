"""Links between records that the indicators count on: a person-level record names its
person's 个人基本信息表 in the same unit by 健康档案编号, a person has one such record in
a unit, and a unit answers a once-a-period questionnaire once for each period.

Checked when a record is submitted or edited, never for drafts. Records are found by the
JSON value of their record number, which an expression index covers (migration 0008).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import literal_column, select

from portal.i18n import _
from portal.models import Submission
from portal.services.forms import CompiledVersion
from workflows import submission as workflow

# The field that names a person's health record (健康档案编号), and the form that is it.
RECORD_NO = "record_no"
PERSONAL_INFO = "personal_info"
# Forms a unit fills in once a period: the baseline survey's institution questionnaire.
ONCE_PER_PERIOD = frozenset({"baseline_institution"})


def check(
    request,
    current: CompiledVersion,
    unit_code: str,
    period: str | None,
    clean: dict[str, Any],
    errors: dict[str, Any],
    exclude_id: str | None = None,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`errors` with the links' problems added (a new dict; `errors` is not changed): on
    `record_no` when a person-level record names no personal information record of
    `unit_code`, or a personal information record repeats one, or changes the number that
    the person's other records name; on `period` when the unit has answered a
    once-a-period form for it. `exclude_id` is the record being edited and `previous` its
    values as submitted before. Values that already have an error are not looked up."""
    definition = current.definition
    problems: dict[str, Any] = {}
    record_no = clean.get(RECORD_NO)
    if (
        isinstance(record_no, str)
        and RECORD_NO not in errors
        and definition.get_field(RECORD_NO) is not None
    ):
        old = (previous or {}).get(RECORD_NO)
        if (
            definition.name == PERSONAL_INFO
            and isinstance(old, str)
            and old != record_no
            and _named_elsewhere(request, unit_code, old)
        ):
            problems[RECORD_NO] = _(
                "person_link_renumbered",
                default="Other records of this person name the health record number "
                "${old}: it cannot change while they do.",
                mapping={"old": old},
            )
        elif definition.name == PERSONAL_INFO:
            if _exists(request, PERSONAL_INFO, unit_code, exclude_id, record_no=record_no):
                problems[RECORD_NO] = _(
                    "person_link_duplicate",
                    default="This unit already has a personal information record with this "
                    "health record number: one person, one record.",
                )
        elif not _exists(request, PERSONAL_INFO, unit_code, exclude_id, record_no=record_no):
            problems[RECORD_NO] = _(
                "person_link_unknown",
                default="No personal information record with this health record number in "
                "this unit: create the record first.",
            )
    if definition.name in ONCE_PER_PERIOD and period and "period" not in errors:
        if _exists(request, definition.name, unit_code, exclude_id, period=period):
            problems["period"] = _(
                "person_link_once_per_period",
                default="This unit has already submitted this questionnaire for ${period}: "
                "edit that one instead.",
                mapping={"period": period},
            )
    return {**problems, **errors} if problems else errors


def record_no_of(dbsession):
    """A submission's record number, as the expression that migration 0008 indexes (with
    the JSON path written out, not bound, so that the planner matches the index)."""
    if dbsession.get_bind().dialect.name == "postgresql":
        return Submission.data.op("->>")(literal_column("'record_no'"))
    return literal_column("json_extract(submissions.data, '$.record_no')")


def _named_elsewhere(request, unit_code: str, record_no: str) -> bool:
    """Whether a record of the unit (not a draft) other than personal information names
    this health record number."""
    found = request.dbsession.scalar(
        select(Submission.id)
        .where(
            Submission.org_code == unit_code,
            Submission.form_name != PERSONAL_INFO,
            Submission.status != workflow.DRAFT,
            record_no_of(request.dbsession) == record_no,
        )
        .limit(1)
    )
    return found is not None


def _exists(
    request,
    form_name: str,
    unit_code: str,
    exclude_id: str | None,
    record_no: str | None = None,
    period: str | None = None,
) -> bool:
    """Whether the unit has a record (not a draft) of `form_name` with this record number
    or for this period, other than `exclude_id`."""
    conditions = [
        Submission.form_name == form_name,
        Submission.org_code == unit_code,
        Submission.status != workflow.DRAFT,
    ]
    if record_no is not None:
        conditions.append(record_no_of(request.dbsession) == record_no)
    if period is not None:
        conditions.append(Submission.period == period)
    if exclude_id is not None:
        conditions.append(Submission.id != exclude_id)
    found = request.dbsession.scalar(select(Submission.id).where(*conditions).limit(1))
    return found is not None
