"""Attachments: the files uploaded for the file and image fields of forms, kept as ZODB blobs
in `site['attachments']`.

A file is stored as soon as it arrives, from a data-entry page (`PendingStore`, deform's
tmpstore) or from POST /api/v1/attachments: streamed into a blob in bounded chunks while its
size and SHA-256 are computed, its media type sniffed from its content (never the name or
the browser's word), a picture opened with Pillow (a file that only starts like one is not
a picture) and a small JPEG thumbnail made from it. Until a submission refers to it the
file is *pending*: only its uploader may use or read it, and it lapses after
`portal.attachments.pending_hours` (`clear_expired`, run by `portal attachments-clean`).

Submitting, saving a draft or editing checks every reference in the data (`check`: the
file exists, is the caller's pending upload or already this submission's, fits the field)
and binds the files to the submission (`bind`). From then on a file is read as its
submission is (`open_for_reading`): within the reader's part of the tree, and for a field
marked as personal information only by those who see personal fields, audited.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import os
import re
import tempfile
import unicodedata
import uuid
import warnings
from collections.abc import Mapping
from typing import Any, BinaryIO

from PIL import Image, ImageOps
from sqlalchemy import func, select
from ZODB.blob import Blob

from forms.attachments import (
    SNIFF_BYTES,
    attachment_problem,
    attachment_values,
    format_size,
    parse_size,
    sniff_media_type,
)
from forms.deform_builder import UploadRefused
from forms.messages import Message
from forms.model import Field
from portal import audit, crossstore
from portal.i18n import _, translate
from portal.models import AuditEvent, Submission, utcnow
from portal.resources import Attachment, Attachments, OrgUnit
from portal.security import Permission, Refused

# Copied between the upload and the blob this much at a time: memory stays bounded whatever
# the file's size.
CHUNK = 64 * 1024
ATTACHMENT_ID = re.compile(r"[0-9a-f]{32}\Z")
# Pictures Pillow opens for a check and a thumbnail; a file whose first bytes claim one of
# these types but that does not decode is not a picture.
_PICTURE_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/bmp": "BMP",
    "image/tiff": "TIFF",
}
# Decoding a picture for its thumbnail takes width × height × 4 bytes (48 MB at 12
# megapixels, a phone's photo), except for JPEG, which Pillow decodes at an eighth of the
# size: larger ones get no thumbnail, so that a small file cannot take much memory.
_THUMBNAIL_MAX_PIXELS = 12_000_000


@dataclasses.dataclass(frozen=True)
class Limits:
    """Site-wide settings (portal.attachments.* in the .ini)."""

    max_size: int = 20 * 1024 * 1024  # no upload is larger, whatever a field allows
    # What one person may upload in 24 hours, so that no account can fill the disk.
    max_per_day: int = 1024 * 1024 * 1024
    pending_hours: int = 24  # how long an upload no submission refers to is kept
    thumbnail_px: int = 320  # the longer side of a thumbnail


def limits(request) -> Limits:
    return request.registry.attachment_limits


class UploadProblem(Exception):
    """An upload not kept: empty, over the site-wide limit or the uploader's daily volume,
    or not what the field it is for takes. `message` is a translation string, or for the
    field's limits a forms.messages.Message; `status` is the API's answer (413 over the
    site-wide limit, 429 over the daily volume, else 422)."""

    def __init__(self, message, status: int = 422):
        super().__init__(message)
        self.message = message
        self.status = status

    def text(self, request, language: str) -> str:
        if isinstance(self.message, Message):
            return self.message.render(language)
        return translate(request.localizer, self.message)


def folder(request) -> Attachments:
    return request.root_site["attachments"]


# -- storing ---------------------------------------------------------------------------------
def clean_filename(name: str | None) -> str:
    """The name a file is shown and offered under: the last part of what the browser sent
    (old browsers send whole paths), without control or format characters (a right-to-left
    override can disguise `gpj.exe` as `exe.jpg`), at most 200 characters, extension kept."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        name = stem[: 199 - len(extension)] + dot + extension if dot else name[:200]
    return name or "file"


def _seekable(source: BinaryIO, max_size: int) -> BinaryIO:
    """The upload as a file that can be read twice: webob's already is (cgi spools a large
    part to a temporary file); anything else is spooled here, no further than the limit."""
    if getattr(source, "seekable", lambda: False)():
        return source
    spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
    while chunk := source.read(CHUNK):
        spool.write(chunk)
        if spool.tell() > max_size:
            break
    spool.seek(0)
    return spool


def _picture(source: BinaryIO, media_type: str, side: int) -> tuple[int, int, bytes | None] | None:
    """(width, height, a JPEG thumbnail or None) of a picture that really is one, else None.
    Reads the file through Pillow, never all of it into memory at once."""
    pillow_format = _PICTURE_FORMATS[media_type]
    try:
        with warnings.catch_warnings():
            # Up to twice Pillow's pixel limit (~179 megapixels) is a big photo, not a bomb:
            # beyond that Pillow refuses to open it at all.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            source.seek(0)
            with Image.open(source, formats=[pillow_format]) as image:
                width, height = image.size
                image.verify()  # PNG: every chunk's checksum
            source.seek(0)
            with Image.open(source, formats=[pillow_format]) as image:
                thumbnail = _thumbnail(image, side)
    except Exception:  # noqa: BLE001 - Pillow's decoders raise many kinds on broken files
        return None
    return width, height, thumbnail


def _thumbnail(image: Image.Image, side: int) -> bytes | None:
    """A small JPEG made by the portal: nothing of the uploaded bytes reaches a browser that
    shows it inline, no EXIF (a photo's place) either. Decoding it also proves the picture."""
    if image.format != "JPEG" and image.width * image.height > _THUMBNAIL_MAX_PIXELS:
        return None
    image.draft("RGB", (side, side))  # JPEG: decode at a fraction of the size
    image.thumbnail((side, side))  # in place, keeping the EXIF orientation
    image = ImageOps.exif_transpose(image)  # upright, as the camera was held: a small copy
    if image.mode != "RGB":
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, "white")
        image.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _copy(source: BinaryIO, blob: Blob) -> tuple[int, str]:
    """Stream the file into the blob in CHUNK-sized pieces; its size and SHA-256."""
    digest, size = hashlib.sha256(), 0
    source.seek(0)
    with blob.open("w") as target:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            target.write(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def store_upload(
    request,
    source: BinaryIO,
    filename: str | None,
    unit: OrgUnit,
    attachment_id: str | None = None,
    field: Field | None = None,
) -> Attachment:
    """Keep an uploaded file as the caller's pending attachment for `unit`, in the request's
    transaction. Raises UploadProblem when it is empty, over the site-wide limit, or (with
    `field`) of a type or size the field does not take; then nothing is kept."""
    site_limits = limits(request)
    source = _seekable(source, site_limits.max_size)
    size = source.seek(0, os.SEEK_END)
    if size == 0:
        raise UploadProblem(_("attachment_empty", default="The file is empty."))
    if size > site_limits.max_size:
        raise UploadProblem(
            _(
                "attachment_too_large",
                default="The file is ${size}; no file larger than ${max_size} can be uploaded.",
                mapping={
                    "size": format_size(size),
                    "max_size": format_size(site_limits.max_size),
                },
            ),
            status=413,
        )
    used = uploaded_today(request)
    if used + size > site_limits.max_per_day:
        raise UploadProblem(
            _(
                "attachment_daily_volume",
                default="You have uploaded ${used} in the last 24 hours, and no one may upload "
                "more than ${max} a day: try again later, or ask an administrator.",
                mapping={
                    "used": format_size(used),
                    "max": format_size(site_limits.max_per_day),
                },
            ),
            status=429,
        )
    source.seek(0)
    media_type = sniff_media_type(source.read(SNIFF_BYTES))
    picture = None
    if media_type in _PICTURE_FORMATS:
        picture = _picture(source, media_type, site_limits.thumbnail_px)
        if picture is None:
            media_type = "application/octet-stream"  # only its first bytes were a picture's
    if field is not None:
        problem = attachment_problem(field, media_type, size)
        if problem is not None:
            raise UploadProblem(problem)
    blob = Blob()
    size, sha256 = _copy(source, blob)
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=site_limits.pending_hours)
    attachment = Attachment(
        attachment_id or uuid.uuid4().hex,
        clean_filename(filename),
        media_type,
        size,
        sha256,
        request.identity.login,
        unit.code,
        blob,
        expires,
    )
    if picture is not None:
        attachment.width, attachment.height, thumbnail = picture
        if thumbnail is not None:
            attachment.thumbnail = Blob(thumbnail)
    attachments = folder(request)
    attachments.add(attachment.id, attachment)
    attachments.pending[attachment.id] = expires
    audit.record(
        request,
        "attachment.upload",
        target=attachment.id,
        unit=unit,
        detail={"size": size, "content_type": media_type},
    )
    return attachment


def uploaded_today(request) -> int:
    """How many bytes the caller has uploaded in the last 24 hours, by the audit log's
    upload records (one indexed query; a refused upload is not recorded)."""
    since = utcnow() - dt.timedelta(hours=24)
    query = select(func.coalesce(func.sum(AuditEvent.detail["size"].as_integer()), 0)).where(
        AuditEvent.actor == request.identity.login,
        AuditEvent.event == "attachment.upload",
        AuditEvent.ts >= since,
    )
    return int(request.dbsession.scalar(query))


def clear_expired(site, now: dt.datetime | None = None) -> int:
    """Remove the pending attachments that have lapsed; how many. Their blobs go when the
    database is next packed."""
    now = now or dt.datetime.now(dt.UTC)
    attachments = site["attachments"]
    lapsed = [key for key, expires in attachments.pending.items() if expires <= now]
    for key in lapsed:
        del attachments.pending[key]
        attachments.remove(key)
    return len(lapsed)


# -- using them in submissions ---------------------------------------------------------------
def _usable(request, attachment: Attachment | None, submission_id: str | None) -> bool:
    """The caller's own pending upload, still valid and for a unit they fill in for; or a
    file the submission `submission_id` already holds."""
    if attachment is None:
        return False
    if attachment.bound:
        return submission_id is not None and attachment.submission == submission_id
    if attachment.uploader != request.identity.login:
        return False
    if attachment.expires is not None and attachment.expires <= dt.datetime.now(dt.UTC):
        return False
    unit = request.root_site.unit_by_code(attachment.org)
    return unit is not None and request.has_permission(Permission.SUBMISSION_CREATE, unit)


def lookup(request, reference: Any, submission_id: str | None = None) -> Attachment | None:
    """The attachment a reference names, if the caller may use it in the submission
    `submission_id` (None: a new one)."""
    if not isinstance(reference, str) or not ATTACHMENT_ID.match(reference):
        return None
    attachment = folder(request).get(reference)
    return attachment if _usable(request, attachment, submission_id) else None


def check(
    request,
    current,
    data: Any,
    submission_id: str | None,
    errors: dict[str, Any],
    fit: bool = True,
) -> dict[str, Any]:
    """`errors` (FormValidator's, by key) with those of the file references in flat `data`
    added: a file that is not the caller's to use, one used twice, and with `fit` one that
    does not fit its field (type, size). A key that already has an error keeps it.
    `current` is the form's CompiledVersion; `submission_id` the submission being saved
    again, if any."""
    if not current.has_attachments:
        return errors
    errors = dict(errors)
    seen: set[str] = set()
    for key, f, _holder, reference in attachment_values(current.definition, data):
        attachment = lookup(request, reference, submission_id)
        if attachment is None:
            problem = _(
                "attachment_unknown",
                default="This file cannot be used here (it is not one you uploaded, or it "
                "has lapsed): upload it again.",
            )
        elif attachment.id in seen:
            problem = _(
                "attachment_twice",
                default="This file is already attached to another field: upload it again.",
            )
        else:
            seen.add(attachment.id)
            problem = None
            if fit:
                problem = attachment_problem(f, attachment.content_type, attachment.size)
        if problem is not None:
            errors.setdefault(key, problem)
    return errors


def bind(request, current, data: dict, submission, unit: OrgUnit) -> None:
    """Make the files `data` refers to the submission's (after `check`): they no longer
    lapse, and are read as the submission is."""
    if not current.has_attachments:
        return
    attachments = folder(request)
    bound = []
    for _key, f, _holder, reference in attachment_values(current.definition, data):
        attachment = attachments.get(reference) if isinstance(reference, str) else None
        if attachment is None:
            continue
        if not attachment.bound:
            bound.append(attachment.id)
            attachments.pending.pop(attachment.id, None)
            attachment.expires = None
            attachment.submission = submission.id
            attachment.form = submission.form_name
            attachment.form_version = submission.form_version
            attachment.field = f.name
        if attachment.submission != submission.id:
            continue
        # Once in a personal field, always personal: an edit may move a file between fields.
        attachment.pii = attachment.pii or f.pii
        if attachment.org != unit.code:
            attachment.org = unit.code  # a draft saved again for another unit
    if bound:
        # Should the submission's SQL part be lost, recovery makes these pending again.
        crossstore.note(request, "attachments", submission=submission.id, ids=bound)


# -- reading them ------------------------------------------------------------------------------
def open_for_reading(request, attachment_id: str, purpose: str = "download") -> Attachment:
    """An attachment the caller may read: LookupError when there is none (or it is someone
    else's pending upload), Refused outside their part of the tree or, for a personal
    field, when they may not see personal fields. Reading a personal field's file is
    audited."""
    attachment = folder(request).get(attachment_id) if ATTACHMENT_ID.match(attachment_id) else None
    if attachment is None:
        raise LookupError(attachment_id)
    if not attachment.bound:
        if not _usable(request, attachment, None):
            raise LookupError(attachment_id)
        return attachment
    # Read where its submission is now (a draft may have been saved for another unit since
    # the file was dropped from it).
    row = request.dbsession.get(Submission, attachment.submission)
    unit = request.root_site.unit_by_code(row.org_code if row is not None else attachment.org)
    if unit is None or not request.has_permission(Permission.SUBMISSION_VIEW, unit):
        raise Refused("the attachment is outside your part of the tree", unit)
    if attachment.pii and not request.has_permission(Permission.SUBMISSION_PII, unit):
        raise Refused("the attachment is personal information you may not see", unit)
    if attachment.pii:
        audit.record(
            request,
            "attachment.read",
            target=attachment.id,
            unit=unit,
            detail={
                "submission": attachment.submission,
                "form": attachment.form,
                "field": attachment.field,
                "purpose": purpose,
            },
        )
    return attachment


def description(attachment: Attachment) -> dict[str, Any]:
    """What the API says about a stored file."""
    return {
        "id": attachment.id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
    }


# -- data entry ----------------------------------------------------------------------------------
class PendingStore:
    """deform's tmpstore for a data-entry page, kept in the database rather than in a
    process: each new file is stored at once as the caller's pending attachment, so that it
    survives a failed validation and a saved draft whichever app process serves the next
    request, and is never sent twice. A uid the page sends back is honoured only for the
    caller's own pending files, or the files of the submission being resumed or edited."""

    def __init__(
        self, request, unit: OrgUnit, submission_id: str | None = None, field: Field | None = None
    ):
        self.request = request
        self.unit = unit
        self.submission_id = submission_id
        self.field = field

    def for_field(self, field: Field) -> PendingStore:
        """The store for one file or image field's input: a file that does not fit the
        field is refused before it is kept."""
        return PendingStore(self.request, self.unit, self.submission_id, field)

    def get(self, uid: str, default=None) -> dict | None:
        attachment = lookup(self.request, uid, self.submission_id)
        if attachment is None:
            return default
        return {
            "uid": attachment.id,
            "filename": attachment.filename,
            "mimetype": attachment.content_type,
            "size": attachment.size,
            "fp": None,  # stored: nothing more to read
            "preview_url": None,
        }

    def __getitem__(self, uid: str) -> dict:
        found = self.get(uid)
        if found is None:
            raise KeyError(uid)
        return found

    def __contains__(self, uid: str) -> bool:
        return self.get(uid) is not None

    def __setitem__(self, uid: str, value: Mapping) -> None:
        source = value.get("fp")
        if source is None:
            return  # deform showing a file already stored
        try:
            attachment = store_upload(
                self.request,
                source,
                value.get("filename"),
                self.unit,
                attachment_id=uid,
                field=self.field,
            )
        except UploadProblem as problem:
            message = problem.message
            if not isinstance(message, Message):
                message = translate(self.request.localizer, message)
            raise UploadRefused(message) from None  # shown in the form's language
        if isinstance(value, dict):
            value.update(
                filename=attachment.filename,
                mimetype=attachment.content_type,
                size=attachment.size,
                fp=None,
            )

    def preview_url(self, uid: str) -> None:
        return None


def includeme(config):
    settings, defaults = config.get_settings(), Limits()
    max_size = settings.get("portal.attachments.max_size")
    pending_hours = settings.get("portal.attachments.pending_hours")
    max_per_day = settings.get("portal.attachments.max_per_day")
    config.registry.attachment_limits = Limits(
        max_size=parse_size(max_size) if max_size else defaults.max_size,
        max_per_day=parse_size(max_per_day) if max_per_day else defaults.max_per_day,
        pending_hours=int(pending_hours) if pending_hours else defaults.pending_hours,
    )
