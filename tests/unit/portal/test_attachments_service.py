"""portal.services.attachments: what is found out about a file while it is stored, names made
safe, the site-wide settings; and the download headers."""

import datetime as dt
import hashlib
import io
from types import SimpleNamespace

import pytest
from PIL import Image
from pyramid.config import Configurator

from portal.evolve import evolve
from portal.resources import OrgUnit, Site
from portal.services import attachments
from portal.views.attachments import content_disposition


class Request(SimpleNamespace):
    """As much of a request as storing a file needs."""


@pytest.fixture
def request_():
    site = Site()
    evolve(site)
    unit = OrgUnit("110101001", "东城光明社区卫生服务中心", "centre")
    added = []
    return Request(
        root_site=site,
        registry=SimpleNamespace(attachment_limits=attachments.Limits(max_size=1024 * 1024)),
        identity=SimpleNamespace(login="staff"),
        client_addr="127.0.0.1",
        # Nothing uploaded today, as far as the (absent) audit log knows.
        dbsession=SimpleNamespace(add=added.append, scalar=lambda query: 0),
        audited=added,
        unit=unit,
    )


def picture(fmt, size=(400, 200), mode="RGB", color="red", **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt, **save)
    return out.getvalue()


def store(request, content, filename="f.bin"):
    return attachments.store_upload(request, io.BytesIO(content), filename, request.unit)


def read(blob) -> bytes:
    with blob.open("r") as f:
        return f.read()


def test_a_picture_is_stored_with_what_its_content_says(request_):
    content = picture("PNG")
    attachment = store(request_, content, "照片.png")
    assert read(attachment.blob) == content
    assert (attachment.content_type, attachment.size) == ("image/png", len(content))
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()
    assert (attachment.width, attachment.height) == (400, 200)
    assert (attachment.uploader, attachment.org, attachment.bound) == ("staff", "110101001", False)
    folder = request_.root_site["attachments"]
    assert folder[attachment.id] is attachment
    assert folder.pending[attachment.id] == attachment.expires
    assert attachment.expires > dt.datetime.now(dt.UTC) + dt.timedelta(hours=23)
    thumbnail = Image.open(io.BytesIO(read(attachment.thumbnail)))
    assert (thumbnail.format, thumbnail.size) == ("JPEG", (320, 160))
    (event,) = request_.audited
    assert (event.event, event.target, event.org_code) == (
        "attachment.upload",
        attachment.id,
        "110101001",
    )
    assert event.detail == {"size": len(content), "content_type": "image/png"}


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_photo_taken_sideways_gets_an_upright_thumbnail_without_its_exif(request_, fmt):
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    exif[0x010F] = "Camera maker"
    attachment = store(request_, picture(fmt, (400, 200), exif=exif.tobytes()))
    thumbnail = Image.open(io.BytesIO(read(attachment.thumbnail)))
    assert thumbnail.size == (160, 320)
    assert dict(thumbnail.getexif()) == {}


def test_a_huge_picture_in_a_small_file_is_not_decoded_for_a_thumbnail(request_):
    # 4,000 × 4,000 of one colour: a few KB of PNG, 64 MB once decoded.
    content = picture("PNG", (4000, 4000), color="white")
    assert len(content) < 100_000
    attachment = store(request_, content, "big.png")
    assert (attachment.content_type, attachment.width) == ("image/png", 4000)
    assert attachment.thumbnail is None


def test_a_transparent_picture_gets_a_white_background(request_):
    attachment = store(request_, picture("PNG", (40, 40), "RGBA", (0, 0, 0, 0)))
    thumbnail = Image.open(io.BytesIO(read(attachment.thumbnail)))
    assert thumbnail.convert("RGB").getpixel((20, 20)) == (255, 255, 255)


@pytest.mark.parametrize(
    "content",
    [
        picture("JPEG")[:300],  # cut short: the header reads, the picture does not
        b"\x89PNG\r\n\x1a\n" + b"\0" * 500,
        b"GIF89a" + b"\xff" * 100,
    ],
)
def test_a_file_that_only_starts_like_a_picture_is_not_one(request_, content):
    attachment = store(request_, content, "x.jpg")
    assert attachment.content_type == "application/octet-stream"
    assert attachment.thumbnail is None and attachment.width is None


def test_empty_and_oversized_files_are_refused_before_anything_is_kept(request_):
    with pytest.raises(attachments.UploadProblem) as empty:
        store(request_, b"")
    assert empty.value.status == 422
    with pytest.raises(attachments.UploadProblem) as big:
        store(request_, b"x" * (1024 * 1024 + 1))
    assert big.value.status == 413
    assert big.value.message.mapping == {"size": "1 MB", "max_size": "1 MB"}
    assert len(request_.root_site["attachments"]) == 0 and request_.audited == []


def test_no_one_uploads_more_than_the_daily_volume(request_):
    request_.registry.attachment_limits = attachments.Limits(max_per_day=1000)
    request_.dbsession.scalar = lambda query: 900  # uploaded in the last 24 hours
    store(request_, b"x" * 100)
    with pytest.raises(attachments.UploadProblem) as over:
        store(request_, b"x" * 101)
    assert over.value.status == 429
    assert over.value.message.mapping == {"used": "900 B", "max": "1000 B"}


def test_a_stream_that_cannot_seek_is_spooled(request_):
    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            chunk = self.data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    content = b"%PDF-1.7\n" + b"x" * 200_000
    attachment = attachments.store_upload(request_, Pipe(content), "r.pdf", request_.unit)
    assert (attachment.content_type, attachment.size) == ("application/pdf", len(content))
    assert read(attachment.blob) == content


def test_lapsed_uploads_are_cleared(request_):
    first, second = store(request_, b"one"), store(request_, b"two")
    site = request_.root_site
    assert attachments.clear_expired(site) == 0
    later = first.expires + dt.timedelta(seconds=1)
    assert attachments.clear_expired(site, now=later) == 2
    assert second.id not in site["attachments"] and len(site["attachments"].pending) == 0


@pytest.mark.parametrize(
    "sent, kept",
    [
        ("report.pdf", "report.pdf"),
        ("C:\\Users\\王\\体检 报告.pdf", "体检 报告.pdf"),
        ("../../etc/passwd", "passwd"),
        ("photo\u202egpj.exe", "photogpj.exe"),  # a right-to-left override hid the .exe
        ("a\x00b\nc.txt", "abc.txt"),
        ("...", "file"),
        ("", "file"),
        (None, "file"),
        ("x" * 300 + ".jpeg", "x" * 195 + ".jpeg"),  # 200 characters, extension kept
    ],
)
def test_filenames_are_made_safe(sent, kept):
    assert attachments.clean_filename(sent) == kept
    assert len(attachments.clean_filename(sent)) <= 200


def test_limits_are_read_from_the_settings():
    config = Configurator(
        settings={"portal.attachments.max_size": "5 MB", "portal.attachments.pending_hours": "2"}
    )
    config.include("portal.services.attachments")
    assert config.registry.attachment_limits == attachments.Limits(
        max_size=5 * 1024 * 1024, pending_hours=2
    )
    config = Configurator(settings={})
    config.include("portal.services.attachments")
    assert config.registry.attachment_limits.max_size == 20 * 1024 * 1024


def test_download_names_for_every_browser():
    assert content_disposition("attachment", "体检报告 2026.pdf") == (
        'attachment; filename="____ 2026.pdf"; '
        "filename*=UTF-8''%E4%BD%93%E6%A3%80%E6%8A%A5%E5%91%8A%202026.pdf"
    )
    assert content_disposition("inline", 'a"b;c%.png') == (
        "inline; filename=\"a_b_c_.png\"; filename*=UTF-8''a%22b%3Bc%25.png"
    )
