"""Long work in the background: a report too big to wait for, later exports and imports.

A view hands `run` a piece of work (a function of a request of its own and a progress
callback, returning an `Output`). The work starts at once in a worker thread with its own
ZODB connection and SQL session, and the view waits for it for at most `portal.jobs.wait`
seconds (2 by default). Work done by then is answered at once, and leaves no trace here.
Work that is not becomes a job: a row in the `jobs` table, and the view answers 202 with
the job's URL; the request thread is free again. The job's URL answers with its progress
while it runs (`status`), then with the file (`output`), for a day (`portal.jobs.keep_hours`).

Progress is kept in memory by the process that runs the job, and written to the row at
most once a second, so that the other processes of a scaled-out portal can answer for it. A
job whose process died stays `running` in its row; after `portal.jobs.max_minutes` it is
reported as failed. Each user may have a few jobs running at once, the process a few more
queued (`JobLimit`): the cost of a request stays bounded.

Nothing of the work's data is logged: a failure logs the job's id, kind and the exception's
type and place, not its message (which may quote a value).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pyramid.request import Request, apply_request_extensions
from pyramid.threadlocal import RequestContext
from sqlalchemy import delete, update

from portal.models import Job, utcnow

log = logging.getLogger(__name__)

RUNNING, DONE, FAILED = "running", "done", "failed"
# How often a detached job writes its progress to its row, in seconds.
_PROGRESS_EVERY = 1.0


@dataclass
class Output:
    body: bytes
    content_type: str
    filename: str


class JobFailed(Exception):
    """The work raised; its details are in the log, not here."""


class JobLimit(Exception):
    """Too many jobs running: for this user (`per_user`) or for the process."""

    def __init__(self, per_user: bool):
        super().__init__("per user" if per_user else "process")
        self.per_user = per_user


Work = Callable[[Request, Callable[[float], None]], Output]


@dataclass
class _Job:
    id: str
    kind: str
    owner: str
    title: str
    progress: float = 0.0
    output: Output | None = None
    failed: bool = False
    detached: bool = False
    ready: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    written: float = 0.0  # when the progress was last written to the row


@dataclass
class Status:
    """What the job's URL tells while it has no file to give."""

    id: str
    kind: str
    title: str
    status: str
    progress: float
    created: dt.datetime | None


class Jobs:
    """The worker threads of one process and the jobs they run (registry.jobs)."""

    def __init__(self, registry, settings: dict):
        self.registry = registry
        self.workers = int(settings.get("portal.jobs.workers", 4))
        self.wait = float(settings.get("portal.jobs.wait", 2.0))
        self.keep = dt.timedelta(hours=float(settings.get("portal.jobs.keep_hours", 24)))
        self.max_runtime = dt.timedelta(minutes=float(settings.get("portal.jobs.max_minutes", 60)))
        # Fewer than the workers: one user's jobs never hold up everybody else's.
        self.per_user = int(settings.get("portal.jobs.per_user", max(1, self.workers // 2)))
        self.queued = int(settings.get("portal.jobs.queue", 4 * self.workers + 8))
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="portal-job")
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}

    # -- starting ------------------------------------------------------------------------
    def run(
        self,
        request,
        kind: str,
        title: str,
        work: Work,
        wait: float | None = None,
        commit: bool = False,
    ) -> Output | Status:
        """Run `work` for the request's user: its output if it is done within `wait`
        seconds, else the status of the job it became. Call it before the request writes
        to SQL (SQLite has one writer, and a detached job's row is written at once).
        Work that writes (`commit`) has its transaction committed when it returns; any
        other work's is rolled back. Raises JobLimit, or JobFailed when the work failed
        within the wait."""
        owner = request.identity.login if request.identity is not None else ""
        job = _Job(str(uuid.uuid4()), kind, owner, title[:255])
        with self._lock:
            if len(self._jobs) >= self.queued:
                raise JobLimit(per_user=False)
            if sum(1 for j in self._jobs.values() if j.owner == owner) >= self.per_user:
                raise JobLimit(per_user=True)
            self._jobs[job.id] = job
        language = request.locale_name
        base_url = request.application_url
        self._executor.submit(self._execute, job, work, language, base_url, commit)
        job.ready.wait(self.wait if wait is None else wait)
        with job.lock:
            if job.ready.is_set():
                self._forget(job)
                if job.failed or job.output is None:
                    raise JobFailed(job.id)
                return job.output
            job.detached = True
            self._insert(job)
        return Status(job.id, kind, job.title, RUNNING, job.progress, utcnow())

    def run_after_commit(
        self, request, kind: str, title: str, work: Work, commit: bool = False
    ) -> Status:
        """Run `work` as a job once the request's transaction has committed (work that must
        see what the request changed); if it aborts, the job fails at once. The job's row
        is written now, so that its page can be shown straight away."""
        owner = request.identity.login if request.identity is not None else ""
        job = _Job(str(uuid.uuid4()), kind, owner, title[:255], detached=True)
        with self._lock:
            if sum(1 for j in self._jobs.values() if j.owner == owner) >= self.per_user:
                raise JobLimit(per_user=True)
            self._jobs[job.id] = job
        self._insert(job)
        language, base_url = request.locale_name, request.application_url

        def after(committed: bool) -> None:
            if committed:
                self._executor.submit(self._execute, job, work, language, base_url, commit)
            else:
                with job.lock:
                    job.ready.set()
                    self._finish(job)
                    self._forget(job)

        request.tm.get().addAfterCommitHook(after)
        return Status(job.id, kind, job.title, RUNNING, 0.0, utcnow())

    def _forget(self, job: _Job) -> None:
        with self._lock:
            self._jobs.pop(job.id, None)

    # -- the worker ----------------------------------------------------------------------
    def _execute(
        self, job: _Job, work: Work, language: str, base_url: str, commit: bool = False
    ) -> None:
        output = None
        try:
            request = Request.blank("/", base_url=base_url)
            request.registry = self.registry
            request._LOCALE_ = language  # what pyramid's localizer reads first
            context = RequestContext(request)
            context.begin()
            try:
                apply_request_extensions(request)
                request.tm.begin()  # before the site is read (an explicit manager)
                committed = False
                try:
                    output = work(request, lambda fraction: self._progress(job, fraction))
                    if commit:
                        request.tm.commit()
                        committed = True
                finally:
                    if not committed:
                        request.tm.abort()  # work that only reads keeps nothing
            finally:
                request._process_finished_callbacks()
                context.end()
        except Exception as error:  # noqa: BLE001 - any failure fails the job, logged below
            log.error(
                "job %s (%s) failed: %s\n%s",
                job.id,
                job.kind,
                type(error).__name__,
                # Where, not what: file, line and function of each frame, no source text.
                "\n".join(
                    f"  {f.filename}:{f.lineno} in {f.name}"
                    for f in traceback.extract_tb(error.__traceback__)
                ),
            )
        with job.lock:
            job.output = output
            job.failed = output is None
            job.progress = 1.0
            job.ready.set()
            if job.detached:
                self._finish(job)
                self._forget(job)

    def _progress(self, job: _Job, fraction: float) -> None:
        job.progress = max(0.0, min(1.0, float(fraction)))
        now = time.monotonic()
        if job.detached and now - job.written >= _PROGRESS_EVERY:
            job.written = now
            self._write(update(Job).where(Job.id == job.id).values(progress=job.progress))

    # -- the rows ------------------------------------------------------------------------
    def _write(self, statement) -> None:
        with self.registry.dbsession_factory() as session, session.begin():
            session.execute(statement)

    def _insert(self, job: _Job) -> None:
        now = utcnow()
        with self.registry.dbsession_factory() as session, session.begin():
            session.execute(delete(Job).where(Job.created < now - self.keep))
            session.add(
                Job(
                    id=job.id,
                    kind=job.kind,
                    owner=job.owner,
                    title=job.title,
                    status=RUNNING,
                    progress=job.progress,
                    created=now,
                )
            )

    def _finish(self, job: _Job) -> None:
        values: dict = {"finished": utcnow(), "progress": 1.0}
        if job.output is None:
            values["status"] = FAILED
        else:
            values |= {
                "status": DONE,
                "result": job.output.body,
                "content_type": job.output.content_type,
                "filename": job.output.filename,
            }
        try:
            self._write(update(Job).where(Job.id == job.id).values(**values))
        except Exception as error:  # noqa: BLE001 - the row then times out as failed
            log.error("job %s: its result could not be kept: %s", job.id, type(error).__name__)

    # -- reading -------------------------------------------------------------------------
    def find(self, dbsession, job_id: str, owner: str) -> Job | None:
        """The job's row if it is the owner's (None for anyone else: a job's file is
        readable by whoever asked for it, and its existence by nobody else)."""
        row = dbsession.get(Job, job_id) if _is_uuid(job_id) else None
        if row is None or row.owner != owner:
            return None
        return row

    def status(self, row: Job) -> Status:
        status, progress = row.status, row.progress
        job = self._jobs.get(row.id)
        if job is not None and status == RUNNING:
            progress = job.progress  # fresher than the row
        elif status == RUNNING and utcnow() - row.created > self.max_runtime:
            status = FAILED  # its process ended before it did
        return Status(row.id, row.kind, row.title, status, progress, row.created)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def jobs_of(request) -> Jobs:
    return request.registry.jobs


def includeme(config):
    config.registry.jobs = Jobs(config.registry, config.get_settings())
