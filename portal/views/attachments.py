"""Attachments over HTTP: uploading a file for a form's file or image field through the API,
and reading a stored file (at the API's address and the pages'), streamed from its blob.

A file is always offered as a download (`Content-Disposition: attachment`) with the media
type sniffed from its content, `nosniff` and a sandboxing CSP, so that nothing uploaded runs
in the portal's origin. The only thing shown inline is a picture's thumbnail, which the
portal itself encoded (see portal.services.attachments).
"""

from dataclasses import dataclass, replace
from urllib.parse import quote

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound
from pyramid.response import FileResponse
from pyramid.view import view_config

from forms import display
from forms.attachments import format_size
from forms.model import ATTACHMENT_TYPES
from portal.i18n import forms_language
from portal.resources import Attachment
from portal.security import Permission
from portal.services import attachments
from portal.services.forms import compiled, forms_folder
from portal.views.api import json_error
from portal.views.api_forms import refuse

# What a multipart body adds to the file it carries (boundaries, part headers, other fields):
# a body larger than the site's limit by more than this is refused before it is read.
MULTIPART_OVERHEAD = 64 * 1024


def content_disposition(kind: str, filename: str) -> str:
    """`attachment` or `inline` with the filename for every browser: an ASCII fallback and
    the UTF-8 name (RFC 6266, RFC 5987)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;%' else "_" for c in filename
    )
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_response(request, attachment: Attachment, thumbnail: bool = False) -> FileResponse:
    """The stored file (or its thumbnail) streamed from the committed blob, never read whole
    into memory."""
    blob = attachment.thumbnail if thumbnail else attachment.blob
    response = FileResponse(
        blob.committed(),
        request=request,
        content_type="image/jpeg" if thumbnail else attachment.content_type,
    )
    if thumbnail:
        stem = attachment.filename.rpartition(".")[0] or attachment.filename
        response.content_disposition = content_disposition("inline", f"{stem}-thumbnail.jpg")
    else:
        response.content_disposition = content_disposition("attachment", attachment.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # Health records: no shared cache keeps a copy.
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- the pages -------------------------------------------------------------------------------
def _readable(request, purpose: str) -> Attachment:
    try:
        return attachments.open_for_reading(request, request.matchdict["id"], purpose)
    except LookupError:
        raise HTTPNotFound() from None
    except attachments.Refused:
        raise HTTPForbidden() from None  # the forbidden view audits it


@view_config(route_name="attachment", request_method="GET", permission=Permission.HOME)
def download(request):
    return file_response(request, _readable(request, "download"))


@view_config(route_name="attachment_thumbnail", request_method="GET", permission=Permission.HOME)
def thumbnail(request):
    attachment = _readable(request, "thumbnail")
    if attachment.thumbnail is None:
        raise HTTPNotFound()
    return file_response(request, attachment, thumbnail=True)


@dataclass(frozen=True)
class AttachmentValue(display.Value):
    """A file answered in a submission, shown by its name (and size); a picture with the
    address of its thumbnail."""

    preview: str | None = None


def present(request, definition, data: dict, submission_id: str, language: str) -> list:
    """forms.display.present for a submission, its files linked for download and shown by
    name and size, pictures with a thumbnail."""
    folder = attachments.folder(request)

    def stored(value) -> Attachment | None:
        if not isinstance(value, str) or not attachments.ATTACHMENT_ID.match(value):
            return None
        attachment = folder.get(value)
        if attachment is None or attachment.submission != submission_id:
            return None
        return attachment

    def link(field, value):
        return request.route_url("attachment", id=value) if stored(value) is not None else None

    def named(items):
        shown = []
        for item in items:
            if item.kind == "section":
                item = replace(item, items=named(item.items))
            elif item.kind == "repeat":
                item = replace(item, entries=[named(entry) for entry in item.entries])
            elif item.href and (attachment := stored(item.text)) is not None:
                preview = None
                if attachment.thumbnail is not None:
                    preview = request.route_url("attachment_thumbnail", id=attachment.id)
                item = AttachmentValue(
                    item.name,
                    item.label,
                    attachment.filename,
                    unit=format_size(attachment.size),
                    pii=item.pii,
                    href=item.href,
                    preview=preview,
                )
            shown.append(item)
        return shown

    return named(display.present(definition, data, language, attachment_link=link))


# -- the API ----------------------------------------------------------------------------------
def _field(request):
    """The file or image field the optional `form` and `field` name (their limits apply),
    None when they name none; an error answer (a dict) when they are wrong."""
    form_name, field_name = request.POST.get("form"), request.POST.get("field")
    if not form_name and not field_name:
        return None
    form = forms_folder(request.root_site).get(form_name or "")
    if form is None or form.latest is None:
        return json_error(request, 404, "no such published form")
    field = compiled(request, form, form.latest).definition.get_field(field_name or "")
    if field is None or field.type not in ATTACHMENT_TYPES:
        return json_error(request, 400, "field must name a file or image field of the form")
    return field


@view_config(
    route_name="api_attachments", request_method="POST", renderer="json", permission=Permission.HOME
)
def upload(request):
    site_limits = attachments.limits(request)
    if (request.content_length or 0) > site_limits.max_size + MULTIPART_OVERHEAD:
        largest = site_limits.max_size
        return json_error(
            request, 413, f"a file may have at most {largest} bytes ({format_size(largest)})"
        )
    sent = request.POST.get("file")
    if not hasattr(sent, "file"):
        return json_error(request, 400, "send the file as the multipart field 'file'")
    org = request.POST.get("org") or request.identity.account.org
    unit = request.root_site.unit_by_code(org)
    if unit is None or not request.has_permission(Permission.SUBMISSION_CREATE, unit):
        return refuse(request, attachments.Refused("you may not upload files for this unit", unit))
    field = _field(request)
    if isinstance(field, dict):
        return field
    try:
        attachment = attachments.store_upload(request, sent.file, sent.filename, unit, field=field)
    except attachments.UploadProblem as problem:
        text = problem.text(request, forms_language(request))
        if problem.status != 422:
            return json_error(request, problem.status, text)
        request.response.status_int = 422
        return {"errors": {"file": text}}
    request.response.status_int = 201
    request.response.location = request.route_url("api_attachment", id=attachment.id)
    return attachments.description(attachment)


@view_config(
    route_name="api_attachment", request_method="GET", renderer="json", permission=Permission.HOME
)
def api_download(request):
    try:
        attachment = attachments.open_for_reading(request, request.matchdict["id"])
    except LookupError:
        return json_error(request, 404, "no such attachment")
    except attachments.Refused as refused:
        return refuse(request, refused)
    return file_response(request, attachment)
