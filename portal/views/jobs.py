"""A background job's URL: its progress while it runs, then its file (portal/services/jobs.py).

`GET /api/v1/jobs/{id}` answers 202 with the progress while the job runs, 200 with the file
once it is done, and 500 if it failed. `GET /api/v1/jobs/{id}/status` always answers with the
progress as JSON, and `/jobs/{id}` is the page people wait on (a progress bar, refreshed
without JavaScript, and the download link). A job is its owner's: for anyone else it does
not exist (404).
"""

from __future__ import annotations

from urllib.parse import quote

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config

from portal.i18n import _
from portal.security import Permission
from portal.services import jobs


def attachment(output: jobs.Output) -> Response:
    """A file to download: its name in ASCII for old clients, and in full (Chinese
    included) as RFC 6266 `filename*`."""
    ascii_name = output.filename.encode("ascii", "replace").decode().replace("?", "_")
    ascii_name = ascii_name.replace('"', "_").replace("\\", "_")
    response = Response(body=output.body, content_type=output.content_type)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(output.filename)}"
    )
    response.headers["Cache-Control"] = "no-store"  # personal data: no shared caches
    return response


def status_json(request, status: jobs.Status) -> dict:
    body = {
        "id": status.id,
        "kind": status.kind,
        "title": status.title,
        "status": status.status,
        "progress": round(status.progress, 3),
        "url": request.route_url("api_job", id=status.id),
        "page": request.route_url("job", id=status.id),
    }
    if status.status == jobs.DONE:
        body["download"] = body["url"]
    return body


def answer_api(request, outcome: jobs.Output | jobs.Status):
    """What an API view answers for work it ran through `jobs.run`."""
    if isinstance(outcome, jobs.Output):
        return attachment(outcome)
    request.response.status_int = 202
    request.response.headers["Location"] = request.route_url("api_job", id=outcome.id)
    request.response.headers["Retry-After"] = "1"
    return {"job": request.route_url("api_job", id=outcome.id), **status_json(request, outcome)}


def answer_page(request, outcome: jobs.Output | jobs.Status):
    """What a page answers for work it ran through `jobs.run`: the file, or the job's page."""
    if isinstance(outcome, jobs.Output):
        return attachment(outcome)
    return HTTPSeeOther(request.route_url("job", id=outcome.id))


def too_many(request, limit: jobs.JobLimit):
    message = (
        _(
            "jobs_limit_user",
            default="You already have several reports being prepared. "
            "Wait for one of them to finish, then ask again.",
        )
        if limit.per_user
        else _(
            "jobs_limit_process",
            default="The portal is busy preparing other reports. Try again in a minute.",
        )
    )
    return request.localizer.translate(message)


def _row(request):
    owner = request.identity.login if request.identity is not None else ""
    row = jobs.jobs_of(request).find(request.dbsession, request.matchdict["id"], owner)
    if row is None:
        raise HTTPNotFound()
    return row


@view_config(
    route_name="api_job", request_method="GET", renderer="json", permission=Permission.HOME
)
def api_job(request):
    row = _row(request)
    status = jobs.jobs_of(request).status(row)
    if status.status == jobs.DONE:
        return attachment(
            jobs.Output(row.result or b"", row.content_type or "", row.filename or "")
        )
    if status.status == jobs.FAILED:
        request.response.status_int = 500
        return {"error": "the job failed; ask for the report again", **status_json(request, status)}
    request.response.status_int = 202
    request.response.headers["Retry-After"] = "1"
    return status_json(request, status)


@view_config(
    route_name="api_job_status", request_method="GET", renderer="json", permission=Permission.HOME
)
def api_job_status(request):
    return status_json(request, jobs.jobs_of(request).status(_row(request)))


@view_config(
    route_name="job",
    request_method="GET",
    renderer="portal:templates/job.pt",
    permission=Permission.HOME,
)
def job_page(request):
    status = jobs.jobs_of(request).status(_row(request))
    if status.status == jobs.RUNNING:
        request.response.headers["Refresh"] = "2"
    return {
        "title": status.title,
        "job": status,
        "percent": int(round(status.progress * 100)),
        "download": request.route_url("api_job", id=status.id),
    }
