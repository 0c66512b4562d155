"""The JSON API for form definitions and submissions (described in portal/openapi.json).

Every view needs a login (401 otherwise); what the caller may do is then checked against the
forms folder (reading and editing definitions) or the unit a submission belongs to.
Messages meant for people come in the caller's language (_LOCALE_ or Accept-Language).
"""

import datetime as dt
import re

from pyramid.httpexceptions import HTTPForbidden
from pyramid.response import Response
from pyramid.view import view_config

from forms.xlsform import export_xlsform
from portal import audit
from portal.i18n import _, forms_language, translate
from portal.security import Permission
from portal.services import forms as form_service
from portal.services import review, submissions
from portal.views.api import json_body, json_error
from portal.views.common import BEIJING, PAGE_RE, PAGE_SIZE, local_time

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# An XLSForm is a few dozen KB; anything near this is not one.
MAX_XLSFORM_BYTES = 5 * 1024 * 1024


def require(request, permission, context):
    if not request.has_permission(permission, context):
        raise HTTPForbidden()  # the forbidden view audits it and answers in JSON


def refuse(request, refused: submissions.Refused):
    """403 with the reason; audited like any denied access, whatever becomes of the request."""
    audit.record(
        request,
        "access",
        "denied",
        target=request.path[:255],
        unit=refused.unit,
        detail={"method": request.method, "reason": refused.reason},
        independent=True,
    )
    return json_error(request, 403, refused.reason)


def folder(request):
    return form_service.forms_folder(request.root_site)


def form_or_none(request):
    return folder(request).get(request.matchdict["name"])


def requested_version(request, form):
    """?version=N or the latest published version; None when there is no such version.
    Raises ValueError when N is not a number."""
    value = request.GET.get("version")
    return form.latest if value is None else form.version(int(value))


def utc(value: dt.datetime) -> str:
    return value.replace(tzinfo=dt.UTC).isoformat()


def changes_json(changes, language) -> list[dict]:
    return [{**change.to_dict(), "text": change.message.render(language)} for change in changes]


def problems_json(problems, language) -> list[dict]:
    return [
        {
            "field": problem.field,
            "attribute": problem.attribute,
            "choice_list": problem.choice_list,
            "code": problem.code,
            **problem.message.to_dict(),
            "text": problem.message.render(language),
        }
        for problem in problems
    ]


# -- definitions ---------------------------------------------------------------------------
@view_config(
    route_name="api_forms", request_method="GET", renderer="json", permission=Permission.HOME
)
def list_forms(request):
    forms = folder(request)
    require(request, Permission.FORM_VIEW, forms)
    editor = request.has_permission(Permission.FORM_EDIT, forms)
    items = []
    for form in forms.values():
        latest = form.latest
        if latest is None and not editor:
            continue  # nothing to fill in or read yet
        if latest is not None:
            definition = form_service.compiled(request, form, latest).definition
        else:
            definition = form.draft()
        draft_version = form.next_number if editor and form.has_draft else None
        items.append(
            {
                "name": form.name,
                "title": definition.title.to_dict(),
                "category": definition.category,
                "levels": list(definition.levels),
                "period_type": definition.period_type,
                "version": definition.version,
                "status": form.status,
                "draft_version": draft_version,
            }
        )
    return items


@view_config(
    route_name="api_form", request_method="GET", renderer="json", permission=Permission.HOME
)
def get_form(request):
    require(request, Permission.FORM_VIEW, folder(request))
    form = form_or_none(request)
    if form is None:
        return json_error(request, 404, "no such form")
    try:
        version = requested_version(request, form)
    except ValueError:
        return json_error(request, 400, "version must be a whole number")
    if version is None:
        return json_error(request, 404, "no such published version")
    return form_service.compiled(request, form, version).definition.to_dict()


@view_config(route_name="api_form_xlsform", request_method="GET", permission=Permission.HOME)
def download_xlsform(request):
    require(request, Permission.FORM_VIEW, folder(request))
    form = form_or_none(request)
    if form is None:
        return file_view_error(404, "no such form")
    try:
        version = requested_version(request, form)
    except ValueError:
        return file_view_error(400, "version must be a whole number")
    if version is None:
        return file_view_error(404, "no such published version")
    definition = form_service.compiled(request, form, version).definition
    return Response(
        body=export_xlsform(definition),
        content_type=XLSX,
        content_disposition=f'attachment; filename="{form.name}-v{version.number}.xlsx"',
    )


def file_view_error(status, message) -> Response:
    """An error answer from a view that otherwise answers with a file."""
    return Response(json={"error": message}, status=status, charset="utf-8")


@view_config(
    route_name="api_forms", request_method="POST", renderer="json", permission=Permission.HOME
)
def upload_form(request):
    forms = folder(request)
    require(request, Permission.FORM_EDIT, forms)
    upload = request.POST.get("file")
    if not hasattr(upload, "file"):
        return json_error(request, 400, "send the XLSForm as the multipart field 'file'")
    data = upload.file.read(MAX_XLSFORM_BYTES + 1)
    if len(data) > MAX_XLSFORM_BYTES:
        return json_error(request, 413, f"an XLSForm may have at most {MAX_XLSFORM_BYTES} bytes")
    language = forms_language(request)
    outcome = form_service.import_xlsform(request.root_site, data, upload.filename)
    warnings = [w.to_dict(language) for w in outcome.warnings]
    if not outcome.ok:
        request.response.status_int = 422
        return {"errors": [e.to_dict(language) for e in outcome.errors], "warnings": warnings}
    form = outcome.form
    audit.record(
        request,
        "form.import",
        target=form.name,
        unit=forms.org_scope(),
        detail={"version": form.next_number, "created": outcome.created},
    )
    request.response.status_int = 201
    return {
        "name": form.name,
        "version": form.next_number,
        "status": "draft",
        "created": outcome.created,
        "changes": changes_json(outcome.changes, language),
        "warnings": warnings,
    }


@view_config(
    route_name="api_form_publish",
    request_method="POST",
    renderer="json",
    permission=Permission.HOME,
)
def publish_form(request):
    forms = folder(request)
    require(request, Permission.FORM_EDIT, forms)
    form = form_or_none(request)
    if form is None:
        return json_error(request, 404, "no such form")
    language = forms_language(request)
    try:
        version, changes = form_service.publish(form, request.identity.login)
    except form_service.NoDraft:
        return json_error(request, 409, "the form has no draft to publish")
    except form_service.PublishRefused as refused:
        request.response.status_int = 422
        return {"errors": problems_json(refused.problems, language)}
    data_loss = any(change.data_loss for change in changes)
    audit.record(
        request,
        "form.publish",
        target=form.name,
        unit=forms.org_scope(),
        detail={"version": version.number, "data_loss": data_loss},
    )
    return {
        "name": form.name,
        "version": version.number,
        "changes": changes_json(changes, language),
        "data_loss": data_loss,
    }


# -- submissions ---------------------------------------------------------------------------
def submission_json(submission) -> dict:
    return {
        "id": submission.id,
        "form": submission.form_name,
        "form_version": submission.form_version,
        "org": submission.org_code,
        "period": submission.period,
        "status": submission.status,
        "author": submission.author,
        "created": utc(submission.created),
        "updated": utc(submission.updated),
    }


@view_config(
    route_name="api_form_submissions",
    request_method="POST",
    renderer="json",
    permission=Permission.HOME,
)
def create_submission(request):
    form = form_or_none(request)
    if form is None:
        return json_error(request, 404, "no such form")
    body = json_body(request)
    if body is None:
        return json_error(
            request, 400, 'expected a JSON object {"org", "period", "client_id", "data"}'
        )
    client_id = submissions.client_id_of(body.get("client_id"))
    if client_id is None:
        return json_error(request, 400, "client_id must be a UUID")
    org, period, version = body.get("org"), body.get("period"), body.get("form_version")
    if not isinstance(org, str):
        return json_error(request, 400, "org must be the code of a unit")
    if period is not None and not isinstance(period, str):
        return json_error(request, 400, "period must be a string or null")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        return json_error(request, 400, "form_version must be a whole number")
    try:
        accepted = submissions.submit(
            request,
            form,
            org,
            period,
            client_id,
            body.get("data"),
            today=dt.datetime.now(BEIJING).date(),
            version_number=version,
        )
    except LookupError:
        return json_error(request, 404, "no such published version of the form")
    except submissions.ClientIdTaken:
        return json_error(request, 409, "this client_id was used for another submission")
    except submissions.Refused as refused:
        return refuse(request, refused)
    except submissions.Invalid as invalid:
        request.response.status_int = 422
        return {
            "errors": submissions.render_errors(request, invalid.errors, forms_language(request))
        }
    submission = accepted.submission
    if accepted.created:
        request.response.status_int = 201
        request.response.location = request.route_url("api_submission", id=submission.id)
    return {
        "id": submission.id,
        "status": submission.status,
        "form_version": submission.form_version,
    }


@view_config(
    route_name="api_form_submissions",
    request_method="GET",
    renderer="json",
    permission=Permission.HOME,
)
def list_submissions(request):
    require(request, Permission.FORM_VIEW, folder(request))
    form = form_or_none(request)
    if form is None:
        return json_error(request, 404, "no such form")
    org = request.GET.get("org")
    if org:
        unit = request.root_site.unit_by_code(org)
        if unit is None or not request.has_permission(Permission.SUBMISSION_VIEW, unit):
            return refuse(
                request, submissions.Refused("the unit is outside your part of the tree", unit)
            )
        paths = [unit.path]
    else:
        paths = submissions.scope_paths(request)
        if not paths:
            raise HTTPForbidden()
    raw_page = request.GET.get("page", "1")
    if not (PAGE_RE.fullmatch(raw_page) and int(raw_page) >= 1):
        return json_error(request, 400, "page must be a whole number from 1 to 999999999")
    page = int(raw_page)
    rows, total = submissions.search(
        request,
        form.name,
        paths,
        period=request.GET.get("period") or None,
        status=request.GET.get("status") or None,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    return {
        "items": [submission_json(row) for row in rows],
        "total": total,
        "page": page,
        "page_size": PAGE_SIZE,
    }


@view_config(
    route_name="api_submission", request_method="GET", renderer="json", permission=Permission.HOME
)
def get_submission(request):
    try:
        reading = submissions.read(request, request.matchdict["id"])
    except LookupError:
        return json_error(request, 404, "no such submission")
    except submissions.Refused as refused:
        return refuse(request, refused)
    row = reading.submission
    revision = submissions.current_revision(request.dbsession, row.id)
    request.response.headers["ETag"] = revision_etag(revision)
    return {
        **submission_json(row),
        **review.state_dict(review.context(request, row)),
        "data": reading.data,
        "masked": reading.masked,
        "revision": revision,
    }


# A submission's entity tag names its revision: a client sends it back in If-Match to have
# a PUT refused (412) if the record was saved again since it read it.
_REVISION_ETAG = re.compile(r"r([0-9]{1,9})")


def revision_etag(revision: int) -> str:
    return f'"r{revision}"'


# What If-Match gives when it names no revision of ours: revisions start at 1.
NO_REVISION = 0


def if_match_revision(request) -> int | None:
    """The revision the request's If-Match header names: None without the header (or with
    `*`, which any existing record matches), NO_REVISION when it names none of ours (a
    weak tag, someone else's tag, several tags)."""
    if "If-Match" not in request.headers:
        return None
    value = request.headers["If-Match"].strip()
    if value == "*":
        return None
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return NO_REVISION  # weak (W/"…") or malformed: never matches (strong comparison)
    match = _REVISION_ETAG.fullmatch(value[1:-1])
    return int(match.group(1)) if match else NO_REVISION


def stale_message(request, stale: submissions.Stale) -> str:
    return translate(
        request.localizer,
        _(
            "submission_stale_api",
            default="${who} changed this submission at ${time} (it is now at revision "
            "${current}; your changes are based on revision ${expected}). Read it again and "
            "send your changes for the current revision.",
            mapping={
                "who": stale.saved_by,
                "time": local_time(stale.saved).strftime("%Y-%m-%d %H:%M"),
                "current": stale.current,
                "expected": stale.expected,
            },
        ),
    )


@view_config(
    route_name="api_submission", request_method="PUT", renderer="json", permission=Permission.HOME
)
def edit_submission(request):
    body = json_body(request)
    if body is None or "data" not in body:
        return json_error(request, 400, 'expected a JSON object {"data", "period"?, "revision"?}')
    period, revision = body.get("period", submissions.KEEP), body.get("revision")
    if period is not submissions.KEEP and period is not None and not isinstance(period, str):
        return json_error(request, 400, "period must be a string or null")
    if revision is not None and (isinstance(revision, bool) or not isinstance(revision, int)):
        return json_error(request, 400, "revision must be a whole number")
    matching = if_match_revision(request)
    if matching is not None:
        if revision is not None and revision != matching:
            return json_error(request, 400, "the revision and If-Match name different revisions")
        revision = matching
    try:
        edited = submissions.edit(
            request,
            request.matchdict["id"],
            body["data"],
            today=dt.datetime.now(BEIJING).date(),
            period=period,
            expected_revision=revision,
        )
    except LookupError:
        return json_error(request, 404, "no such submission")
    except submissions.Refused as refused:
        return refuse(request, refused)
    except submissions.NotEditable as refused:
        return json_error(request, 409, translate(request.localizer, refused.message))
    except submissions.Stale as stale:
        # Refused by If-Match: 412, as HTTP has it; by the body's revision: 409.
        request.response.headers["ETag"] = revision_etag(stale.current)
        if matching is None:
            return json_error(request, 409, stale_message(request, stale), revision=stale.current)
        message = (
            stale_message(request, stale)
            if matching != NO_REVISION
            else 'If-Match names no revision of this submission: send its ETag ("r1", "r2" …)'
        )
        return json_error(request, 412, message, revision=stale.current)
    except submissions.Invalid as invalid:
        request.response.status_int = 422
        return {
            "errors": submissions.render_errors(request, invalid.errors, forms_language(request))
        }
    row = edited.submission
    request.response.headers["ETag"] = revision_etag(edited.revision)
    return {
        "id": row.id,
        "status": row.status,
        "form_version": row.form_version,
        "revision": edited.revision,
    }
