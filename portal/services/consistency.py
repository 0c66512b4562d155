"""The invariants between the two stores, checked and repaired (`portal check [--repair]`,
and the crash recovery of portal/crossstore.py).

ZODB is the truth for the tree and the attachments; SQL follows:

- paths: every unit has a `unit_paths` row holding its ZODB path, and every row filed under
  a unit (submissions, review queries, period approvals, referrals) carries that unit's
  current path. A unit whose row holds another path moved in a transaction whose SQL part
  was lost: it is moved again on the SQL side (its rows, and the report aggregates, follow
  it), as the move itself would have done.
- attachments: a file a submission refers to exists and is bound to it; a file bound to a
  submission belongs to one SQL has. An orphan (its submission's transaction lost its SQL
  part) is made pending again, so it lapses like any upload nobody used.
- aggregates: the kept report aggregates equal a recomputation from the raw rows
  (portal/services/aggregates.py `check`), repaired by a rebuild.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select, update

from forms.attachments import attachment_values
from portal.models import (
    PeriodApproval,
    RecordQuery,
    Referral,
    Submission,
    UnitPath,
)
from portal.resources import Site
from portal.services import unit_paths

_SLICE = 500


# -- paths ---------------------------------------------------------------------------------
def _unit_path(code_column):
    return select(UnitPath.path).where(UnitPath.code == code_column).scalar_subquery()


def _filed_rows():
    """(name, table, path column, the path it should hold) for every table of rows filed
    under a unit by path. The audit log is not among them: it keeps where units were."""
    submission_path = (
        select(Submission.org_path)
        .where(Submission.id == RecordQuery.submission_id)
        .scalar_subquery()
    )
    return [
        ("submissions", Submission, Submission.org_path, _unit_path(Submission.org_code)),
        ("queries", RecordQuery, RecordQuery.org_path, submission_path),
        (
            "period_approvals",
            PeriodApproval,
            PeriodApproval.org_path,
            _unit_path(PeriodApproval.org_code),
        ),
        ("referrals_from", Referral, Referral.from_path, _unit_path(Referral.from_org)),
        ("referrals_to", Referral, Referral.to_path, _unit_path(Referral.to_org)),
    ]


def _stale(dbsession, site: Site):
    have = dict(dbsession.execute(select(UnitPath.code, UnitPath.path)).all())
    units = list(site.units.values())
    moved = [(have[u.code], u) for u in units if u.code in have and have[u.code] != u.path]
    missing = [u for u in units if u.code not in have]
    gone = set(have) - {u.code for u in units}
    return moved, missing, gone


def check_paths(dbsession, site: Site) -> dict[str, int]:
    """How many unit paths and filed rows disagree with the tree."""
    moved, missing, gone = _stale(dbsession, site)
    found = {"unit_paths": len(moved) + len(missing) + len(gone)}
    for name, _table, column, should in _filed_rows():
        found[name] = dbsession.execute(select(func.count()).where(column != should)).scalar_one()
    return found


def repair_paths(dbsession, site: Site) -> dict[str, int]:
    """Make SQL's paths follow the tree, in the session's transaction: units that moved are
    moved (with their rows and sums), then any row still filed under another path than its
    unit's is refiled. Returns what was changed."""
    from portal.services.orgtree import relocate_moved

    moved, missing, gone = _stale(dbsession, site)
    relocate_moved(dbsession, moved, missing)
    if gone:
        unit_paths.sync(dbsession, site)
    done = {"unit_paths": len(moved) + len(missing) + len(gone)}
    for name, table, column, should in _filed_rows():
        result = dbsession.execute(
            update(table)
            .where(column != should)
            .values({column.key: should})
            .execution_options(synchronize_session=False)
        )
        done[name] = result.rowcount
    return done


# -- attachments ---------------------------------------------------------------------------
@dataclass
class AttachmentProblems:
    missing: list[tuple[str, str]] = field(default_factory=list)  # (submission, attachment)
    unbound: list[tuple[str, str]] = field(default_factory=list)  # refers, not bound to it
    orphans: list[str] = field(default_factory=list)  # bound to no submission SQL has

    def count(self) -> int:
        return len(self.missing) + len(self.unbound) + len(self.orphans)


def _references(dbsession, site: Site) -> Iterator[tuple[str, str]]:
    """(submission id, attachment id) for every file a submission refers to."""
    forms = site["forms"] if "forms" in site else {}
    for form in forms.values():
        for number, version in enumerate(form.versions, 1):
            definition = version.definition()
            if not any(f.type in ("file", "image") for f in definition.iter_fields()):
                continue
            rows = dbsession.execute(
                select(Submission.id, Submission.data).where(
                    Submission.form_name == form.name,
                    Submission.form_version == number,
                )
            ).yield_per(1000)
            for submission_id, data in rows:
                for _key, _f, _holder, value in attachment_values(definition, data or {}):
                    if isinstance(value, str) and value:
                        yield submission_id, value


def check_attachments(dbsession, site: Site) -> AttachmentProblems:
    problems = AttachmentProblems()
    attachments = site["attachments"] if "attachments" in site else {}
    for submission_id, attachment_id in _references(dbsession, site):
        attachment = attachments.get(attachment_id)
        if attachment is None:
            problems.missing.append((submission_id, attachment_id))
        elif attachment.submission != submission_id:
            problems.unbound.append((submission_id, attachment_id))
    bound: dict[str, list[str]] = {}
    for attachment in attachments.values():
        if attachment.submission:
            bound.setdefault(attachment.submission, []).append(attachment.id)
    ids = list(bound)
    for start in range(0, len(ids), _SLICE):
        part = ids[start : start + _SLICE]
        have = set(
            dbsession.execute(select(Submission.id).where(Submission.id.in_(part))).scalars()
        )
        for submission_id in part:
            if submission_id not in have:
                problems.orphans.extend(bound[submission_id])
    return problems


def _release(site: Site, attachment, pending_hours: float) -> None:
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=pending_hours)
    attachment.submission = None
    attachment.expires = expires
    site["attachments"].pending[attachment.id] = expires


def release_orphans(request, site: Site, submission_id: str, ids: list[str]) -> int:
    """The files of a submission whose SQL part a crash lost, made pending again."""
    from portal.services.attachments import limits

    if request.dbsession.get(Submission, submission_id) is not None:
        return 0
    attachments = site["attachments"]
    released = 0
    for attachment_id in ids:
        attachment = attachments.get(attachment_id)
        if attachment is not None and attachment.submission == submission_id:
            _release(site, attachment, limits(request).pending_hours)
            released += 1
    return released


def repair_attachments(request, site: Site, problems: AttachmentProblems) -> dict[str, int]:
    """Release orphans and bind files a submission refers to but are not bound to it.
    Missing files cannot be made again; they are reported, not repaired."""
    from portal.services.attachments import limits

    attachments = site["attachments"]
    for attachment_id in problems.orphans:
        _release(site, attachments[attachment_id], limits(request).pending_hours)
    rebound = 0
    for submission_id, attachment_id in problems.unbound:
        attachment = attachments[attachment_id]
        if attachment.submission is None:
            attachments.pending.pop(attachment_id, None)
            attachment.expires = None
            attachment.submission = submission_id
            rebound += 1
    return {"orphans": len(problems.orphans), "rebound": rebound}


# -- everything, for `portal check` --------------------------------------------------------
@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    problems: int = 0
    repaired: dict[str, int] = field(default_factory=dict)

    def found(self, count: int, text: str) -> None:
        if count:
            self.problems += count
            self.lines.append(f"{count:,} {text}")


def check_all(request, repair: bool = False, with_aggregates: bool = True) -> Report:
    """Check every cross-store invariant; with `repair`, run the crash recovery first and
    then repair what remains, with an audit row naming what was repaired."""
    from portal import audit, crossstore
    from portal.services import aggregates

    report = Report()
    if repair:
        done = crossstore.recover(request)
        report.repaired.update({k: v for k, v in done.items() if v and k != "pruned"})
    pending = crossstore.pending(request)
    report.found(
        len(pending["lost"]), "transactions whose SQL part a crash lost (not yet replayed)"
    )
    report.found(len(pending["in_doubt"]), "prepared SQL transactions in doubt")
    with request.tm:
        site = request.root_site
        paths = check_paths(request.dbsession, site)
        for name, count in paths.items():
            report.found(count, f"{name} filed under another path than the tree gives")
        files = check_attachments(request.dbsession, site)
        report.found(len(files.missing), "files submissions refer to are missing")
        report.found(len(files.unbound), "files submissions refer to are not bound to them")
        report.found(len(files.orphans), "files are bound to submissions that do not exist")
        differences: list[str] = []
        if with_aggregates:
            catalogue = aggregates.catalogue_of(site, request.registry)
            differences = aggregates.differences(request.dbsession, catalogue)
            report.found(len(differences), "report aggregates differ from a recomputation")
        if repair and report.problems:
            fixed = {k: v for k, v in repair_paths(request.dbsession, site).items() if v}
            fixed.update({k: v for k, v in repair_attachments(request, site, files).items() if v})
            if differences:
                aggregates.rebuild(request.dbsession, catalogue)
                fixed["aggregates"] = len(differences)
            report.repaired.update(fixed)
            audit.record(
                request, "check.repair", target="cross-store", detail=dict(report.repaired)
            )
    return report
