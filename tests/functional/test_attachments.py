"""Files and pictures in forms: uploaded on the data-entry pages (kept through a failed
validation and a draft) and through the API, checked by content, bound to their
submission, read within the reader's part of the tree (personal ones audited), never
read whole into memory."""

import datetime as dt
import io
import os
import shutil
import tracemalloc
import uuid
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import transaction
import webob
from PIL import Image
from webtest import Upload

from forms.attachments import format_size
from forms.model import Field, FormDefinition, Text
from portal.models import Submission
from portal.services.attachments import Limits, clear_expired
from tests.conftest import BACKEND, audit_rows, login, sql
from tests.functional.conftest import publish

CENTRE = "/110000/110101/110101001/"
FILL = CENTRE + "forms/site_visit"
STATION_FILL = "/110000/110101/110101001/110101001001/forms/site_visit"


def picture(fmt="PNG", size=(640, 480), color="teal") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


PNG = picture()
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"1 0 obj << >> endobj\n" * 50
# Starts like a PNG, is not one.
FAKE_PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(2000)


def site_visit() -> FormDefinition:
    """A form with a picture (at most 1 MB), a PDF, a personal picture and files in a
    repeat."""
    return FormDefinition(
        "site_visit",
        title=Text("现场督导记录", "Site visit"),
        category="医疗",
        levels=("station", "centre"),
        period_type="none",
        fields=[
            Field("visit_date", "date", label=Text("督导日期", "Visit date"), required=True),
            Field("photo", "image", label=Text("现场照片", "Photo"), max_size=1024 * 1024),
            Field("report", "file", label=Text("督导报告", "Report"), accept=("application/pdf",)),
            Field("id_scan", "image", label=Text("身份证照片", "ID card"), pii=True),
            Field(
                "extras",
                "repeat",
                label=Text("其他材料", "Other material"),
                children=[Field("scan", "file", label=Text("扫描件", "Scan"))],
            ),
        ],
    )


@pytest.fixture
def form_published(checked, admin):
    return publish(checked, admin, site_visit())


def rows(testapp):
    with sql(testapp) as s:
        return s.query(Submission).order_by(Submission.created).all()


def stored(testapp, attachment_id=None):
    """The attachments folder as committed (one attachment, or all by id)."""
    tm = transaction.TransactionManager(explicit=True)
    with tm:
        conn = testapp.app.registry.zodb.open(transaction_manager=tm)
        folder = conn.root()["site"]["attachments"]
        if attachment_id is not None:
            found = folder.get(attachment_id)
            result = (
                None
                if found is None
                else {
                    key: getattr(found, key)
                    for key in (
                        "id",
                        "filename",
                        "content_type",
                        "size",
                        "sha256",
                        "uploader",
                        "org",
                        "submission",
                        "form",
                        "field",
                        "pii",
                        "expires",
                        "width",
                        "height",
                    )
                }
            )
        else:
            result = {"ids": set(folder.keys()), "pending": set(folder.pending.keys())}
    conn.close()
    return result


def item(page, name):
    control = page.html.select_one(f"[data-field='{name}']")
    return (
        control
        if "form-item" in control.get("class", [])
        else control.find_parent(class_="form-item")
    )


def pick(form, name, upload):
    """Choose a file in the file input of field `name` (they are all called `upload`)."""
    for index, control in enumerate(form.fields["upload"]):
        if form.html.find(id=control.id)["data-field"] == name:
            form.set("upload", upload, index=index)
            return form
    raise LookupError(name)


def uid_of(page, name):
    hidden = item(page, name).find("input", attrs={"name": "uid"})
    return hidden["value"] if hidden else None


def today():
    return (dt.date.today() - dt.timedelta(days=1)).isoformat()


def api_upload(testapp, headers, content, filename="a.png", status=201, **fields):
    return testapp.post(
        "/api/v1/attachments",
        params=fields,
        upload_files=[("file", filename, content)],
        headers=headers,
        status=status,
    )


def api_submit(testapp, headers, data, status=201, org="110101001"):
    return testapp.post_json(
        "/api/v1/forms/site_visit/submissions",
        {"org": org, "client_id": str(uuid.uuid4()), "data": data},
        headers=headers,
        status=status,
    )


# -- data entry ------------------------------------------------------------------------------
def test_a_picked_file_survives_a_failed_validation_and_is_bound_on_submit(testapp, form_published):
    login(testapp, "staff")
    form = testapp.get(FILL).forms["entry"]
    pick(form, "photo", Upload("现场 照片.png", PNG, "image/png"))
    res = form.submit("submit", status=200)  # no visit date
    assert "此项为必填项" in item(res, "visit_date").get_text()
    photo_uid = uid_of(res, "photo")
    assert "当前文件：现场 照片.png" in item(res, "photo").get_text()
    # Kept in the database, pending, the caller's.
    kept = stored(testapp, photo_uid)
    assert kept["uploader"] == "staff" and kept["submission"] is None
    assert kept["content_type"] == "image/png" and kept["size"] == len(PNG)
    assert (kept["width"], kept["height"]) == (640, 480)
    assert photo_uid in stored(testapp)["pending"]
    # Sent again without picking the file again: the browser only sends its uid.
    again = res.forms["entry"]
    again["visit_date"] = today()
    done = again.submit("submit", status=303)
    (row,) = rows(testapp)
    assert row.status == "submitted" and row.data["photo"] == photo_uid
    bound = stored(testapp, photo_uid)
    assert (bound["submission"], bound["form"], bound["field"]) == (row.id, "site_visit", "photo")
    assert bound["expires"] is None and photo_uid not in stored(testapp)["pending"]
    # The submission's page links the file by its name and shows the portal's thumbnail.
    view = testapp.get(CENTRE + "submissions/" + row.id)
    shown = view.html.select_one(".record-value[data-field='photo']")
    link = shown.select_one("a.record-file")
    assert link.get_text(strip=True) == "现场 照片.png" and link["href"].endswith(
        "/attachments/" + photo_uid
    )
    assert "KB" in shown.select_one(".record-unit").get_text()
    thumb = testapp.get(shown.select_one("img")["src"])
    assert thumb.content_type == "image/jpeg"
    assert thumb.headers["Content-Disposition"].startswith("inline;")
    assert Image.open(io.BytesIO(thumb.body)).size == (320, 240)
    assert done.location.endswith(CENTRE + "submissions")


def test_a_draft_keeps_its_files(testapp, form_published):
    login(testapp, "staff")
    form = testapp.get(FILL).forms["entry"]
    pick(form, "photo", Upload("p.png", PNG, "image/png"))
    saved = form.submit("save_draft", status=303)
    (row,) = rows(testapp)
    photo_uid = row.data["photo"]
    assert stored(testapp, photo_uid)["submission"] == row.id  # no longer lapses
    resumed = saved.follow()
    assert "当前文件：p.png" in item(resumed, "photo").get_text()
    again = resumed.forms["entry"]
    again["visit_date"] = today()
    again.submit("submit", status=303)
    (row,) = rows(testapp)
    assert row.status == "submitted" and row.data["photo"] == photo_uid


@pytest.mark.parametrize(
    "filename, content, name, message",
    [
        ("scan.png", PDF, "photo", "此文件不是图片，请选择 JPEG、PNG、GIF 或 WebP 格式的图片。"),
        ("photo.png", FAKE_PNG, "photo", "此文件不是图片"),
        ("bitmap.png", picture("BMP", (100, 50)), "photo", "此处不接受 image/bmp 类型的文件"),
        ("r.pdf", PNG, "report", "此处不接受 image/png 类型的文件（可接受：application/pdf）。"),
    ],
)
def test_a_file_that_does_not_fit_is_refused_at_its_field(
    testapp, form_published, filename, content, name, message
):
    login(testapp, "staff")
    form = testapp.get(FILL).forms["entry"]
    form["visit_date"] = today()
    pick(form, name, Upload(filename, content))
    res = form.submit("submit", status=200)
    assert message in item(res, name).select_one(".invalid-feedback").get_text()
    assert res.forms["entry"]["visit_date"].value == today()  # nothing typed lost
    assert rows(testapp) == []
    assert stored(testapp)["ids"] == set()  # refused before it was kept
    assert audit_rows(testapp, event="attachment.upload") == []


def test_a_picture_over_the_field_limit(testapp, form_published):
    login(testapp, "staff")
    form = testapp.get(FILL).forms["entry"]
    form["visit_date"] = today()
    big = picture("PNG", (1200, 900)) + b"\0" * (1024 * 1024)  # trailing bytes: still a PNG
    pick(form, "photo", Upload("big.png", big))
    res = form.submit("submit", status=200)
    text = item(res, "photo").select_one(".invalid-feedback").get_text()
    assert "此处最大允许 1 MB" in text


def test_an_empty_file_is_not_kept(testapp, form_published):
    login(testapp, "staff")
    form = testapp.get(FILL).forms["entry"]
    form["visit_date"] = today()
    pick(form, "photo", Upload("empty.png", b""))
    res = form.submit("submit", status=200)
    assert "文件是空的。" in item(res, "photo").get_text()
    assert uid_of(res, "photo") is None
    assert res.forms["entry"]["visit_date"].value == today()
    assert stored(testapp)["ids"] == set()


def test_no_file_is_larger_than_the_site_allows(testapp, form_published, tokens):
    # As with `portal.attachments.max_size = 100KB` in the .ini.
    testapp.app.registry.attachment_limits = Limits(max_size=100 * 1024)
    login(testapp, "staff")
    form = testapp.get(FILL).forms["entry"]
    form["visit_date"] = today()
    big = picture("PNG", (100, 100)) + b"\0" * 200_000
    pick(form, "photo", Upload("big.png", big))
    res = form.submit("submit", status=200)
    text = item(res, "photo").select_one(".invalid-feedback").get_text()
    assert f"文件大小为 {format_size(len(big))}，上传的文件不能超过 100 KB。" in text
    assert res.forms["entry"]["visit_date"].value == today()
    assert stored(testapp)["ids"] == set()
    # The API refuses a body that big before reading it, and a file just over the limit.
    res = api_upload(testapp, tokens["staff"], b"x" * 300_000, "big.bin", status=413)
    assert "102400 bytes (100 KB)" in res.json["error"]
    res = api_upload(testapp, tokens["staff"], b"x" * 110_000, "big.bin", status=413)
    assert "107.4 KB" in res.json["error"]
    assert stored(testapp)["ids"] == set()


# -- reading -------------------------------------------------------------------------------------
@pytest.fixture
def submitted(testapp, form_published, tokens):
    """A submission of 东城 centre 110101001 with a photo and a personal ID picture."""
    staff = tokens["staff"]
    photo = api_upload(testapp, staff, PNG, "照片 1.png").json["id"]
    id_scan = api_upload(testapp, staff, picture("JPEG"), "id.jpg").json["id"]
    res = api_submit(testapp, staff, {"visit_date": today(), "photo": photo, "id_scan": id_scan})
    return {"submission": res.json["id"], "photo": photo, "id_scan": id_scan}


def test_download_headers_and_content(testapp, submitted, tokens, settings):
    if BACKEND == "postgresql":
        # RelStorage keeps the blob in the database; the directory is only this process's
        # cache (another app process has none): the download must not depend on it.
        query = parse_qs(urlsplit(settings["zodbconn.uri"]).query)
        shutil.rmtree(query["blob_dir"][0])
    res = testapp.get(f"/api/v1/attachments/{submitted['photo']}", headers=tokens["staff"])
    assert res.body == PNG
    assert res.content_type == "image/png"
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["Content-Disposition"] == (
        "attachment; filename=\"__ 1.png\"; filename*=UTF-8''" + quote("照片 1.png")
    )
    assert "sandbox" in res.headers["Content-Security-Policy"]
    assert "no-store" in res.headers["Cache-Control"]
    login(testapp, "staff")
    page = testapp.get(f"/attachments/{submitted['photo']}")
    assert page.body == PNG and page.headers["Content-Disposition"].startswith("attachment;")


def test_reading_is_scoped_like_the_submission(testapp, submitted, tokens):
    photo = submitted["photo"]
    # 西城 sees nothing of 东城's, by the API or the pages; the refusals are audited.
    res = testapp.get(f"/api/v1/attachments/{photo}", headers=tokens["xicheng"], status=403)
    assert "outside" in res.json["error"]
    login(testapp, "xicheng")
    testapp.get(f"/attachments/{photo}", status=403)
    testapp.get(f"/attachments/{photo}/thumbnail", status=403)
    denied = audit_rows(testapp, event="access", outcome="denied", actor="xicheng")
    assert len(denied) == 3
    # 东城's manager reads the photo, but not the personal picture (masked for managers).
    testapp.get(f"/api/v1/attachments/{photo}", headers=tokens["dongcheng"], status=200)
    testapp.get(
        f"/api/v1/attachments/{submitted['id_scan']}", headers=tokens["dongcheng"], status=403
    )
    testapp.reset()
    login(testapp, "dongcheng")
    view = testapp.get("/110000/110101/submissions/" + submitted["submission"])
    id_item = view.html.select_one(".record-value[data-field='id_scan']")
    assert id_item.select("a") == [] and "***" in id_item.get_text()
    assert view.html.select_one(".record-value[data-field='photo'] a.record-file") is not None
    # Unknown ids and malformed ones are simply not there.
    testapp.get("/api/v1/attachments/" + "0" * 32, headers=tokens["staff"], status=404)
    testapp.get("/api/v1/attachments/../../etc", headers=tokens["staff"], status=404)


def test_reading_a_personal_file_is_audited(testapp, submitted, tokens):
    assert audit_rows(testapp, event="attachment.read") == []
    testapp.get(f"/api/v1/attachments/{submitted['photo']}", headers=tokens["staff"])
    assert audit_rows(testapp, event="attachment.read") == []  # not personal
    testapp.get(f"/api/v1/attachments/{submitted['id_scan']}", headers=tokens["staff"])
    (row,) = audit_rows(testapp, event="attachment.read")
    assert (row.actor, row.target, row.org_code) == ("staff", submitted["id_scan"], "110101001")
    assert row.detail == {
        "submission": submitted["submission"],
        "form": "site_visit",
        "field": "id_scan",
        "purpose": "download",
    }


def test_a_pending_upload_is_only_its_uploaders(testapp, form_published, tokens):
    pending = api_upload(testapp, tokens["staff"], PNG).json["id"]
    testapp.get(f"/api/v1/attachments/{pending}", headers=tokens["staff"], status=200)
    # Not even the district manager above, nor other staff of the same centre's station.
    testapp.get(f"/api/v1/attachments/{pending}", headers=tokens["dongcheng"], status=404)
    testapp.get(f"/api/v1/attachments/{pending}", headers=tokens["station"], status=404)


# -- the API -------------------------------------------------------------------------------------
def test_api_upload_then_submit(checked, testapp, form_published, tokens):
    res = checked(
        "post",
        "/api/v1/attachments",
        201,
        headers=tokens["staff"],
        params={"form": "site_visit", "field": "report"},
        upload_files=[("file", "C:\\Users\\王\\督导报告.pdf", PDF)],
    )
    body = res.json
    assert body["filename"] == "督导报告.pdf" and body["content_type"] == "application/pdf"
    assert body["size"] == len(PDF) and len(body["id"]) == 32
    assert res.location.endswith("/api/v1/attachments/" + body["id"])
    checked("get", f"/api/v1/attachments/{body['id']}", 200, headers=tokens["staff"])
    scan = api_upload(testapp, tokens["staff"], b"scanned text\n", "scan.txt").json["id"]
    created = checked(
        "post_json",
        "/api/v1/forms/site_visit/submissions",
        201,
        headers=tokens["staff"],
        params={
            "org": "110101001",
            "client_id": str(uuid.uuid4()),
            "data": {"visit_date": today(), "report": body["id"], "extras": [{"scan": scan}]},
        },
    ).json
    got = checked("get", f"/api/v1/submissions/{created['id']}", 200, headers=tokens["staff"])
    assert got.json["data"]["report"] == body["id"]
    assert got.json["data"]["extras"] == [{"scan": scan}]
    assert stored(testapp, scan)["field"] == "scan"


def test_api_refuses_what_does_not_fit(checked, testapp, form_published, tokens):
    res = checked(
        "post",
        "/api/v1/attachments",
        422,
        headers=tokens["staff"],
        params={"form": "site_visit", "field": "photo"},
        upload_files=[("file", "x.png", PDF)],
    )
    not_a_picture = "此文件不是图片，请选择 JPEG、PNG、GIF 或 WebP 格式的图片。"
    assert res.json["errors"] == {"file": not_a_picture}
    assert stored(testapp)["ids"] == set()  # not kept, and no upload is on record
    assert audit_rows(testapp, event="attachment.upload") == []
    en = checked(
        "post",
        "/api/v1/attachments?_LOCALE_=en",
        422,
        headers=tokens["staff"],
        upload_files=[("file", "empty.txt", b"")],
    )
    assert en.json["errors"]["file"] == "The file is empty."
    checked("post", "/api/v1/attachments", 400, headers=tokens["staff"], params={"x": "1"})
    checked(
        "post",
        "/api/v1/attachments",
        400,
        headers=tokens["staff"],
        params={"form": "site_visit", "field": "visit_date"},
        upload_files=[("file", "a.png", PNG)],
    )
    checked(
        "post",
        "/api/v1/attachments",
        404,
        headers=tokens["staff"],
        params={"form": "nope", "field": "photo"},
        upload_files=[("file", "a.png", PNG)],
    )
    # Only for units the caller fills in for.
    checked(
        "post",
        "/api/v1/attachments",
        403,
        headers=tokens["dongcheng"],
        upload_files=[("file", "a.png", PNG)],
    )
    checked(
        "post",
        "/api/v1/attachments",
        403,
        headers=tokens["staff"],
        params={"org": "110102001"},
        upload_files=[("file", "a.png", PNG)],
    )
    checked("post", "/api/v1/attachments", 401, upload_files=[("file", "a.png", PNG)])


def test_no_one_uploads_more_than_the_daily_volume(testapp, form_published, tokens, monkeypatch):
    registry = testapp.app.registry
    monkeypatch.setattr(
        registry, "attachment_limits", Limits(max_per_day=2 * len(PNG) + len(PNG) // 2)
    )
    staff = tokens["staff"]
    api_upload(testapp, staff, PNG, "1.png")
    api_upload(testapp, staff, PNG, "2.png")
    third = api_upload(testapp, staff, PNG, "3.png", status=429).json["error"]
    assert f"已上传 {format_size(2 * len(PNG))}" in third
    assert len(audit_rows(testapp, event="attachment.upload")) == 2
    # Someone else's volume is their own; the pages say so at the field.
    api_upload(testapp, tokens["station"], PNG, "s.png", org="110101001001")
    login(testapp, "staff")
    form = testapp.get(FILL).forms["entry"]
    form["visit_date"] = today()
    pick(form, "photo", Upload("4.png", PNG, "image/png"))
    res = form.submit("submit", status=200)
    assert "24 小时" in item(res, "photo").select_one(".invalid-feedback").get_text()
    assert rows(testapp) == []


def test_api_submission_checks_its_references(checked, testapp, form_published, tokens):
    staff, station = tokens["staff"], tokens["station"]
    pdf = api_upload(testapp, staff, PDF, "r.pdf").json["id"]
    theirs = api_upload(testapp, station, PNG, "s.png", org="110101001001").json["id"]

    def errors(data):
        return checked(
            "post_json",
            "/api/v1/forms/site_visit/submissions",
            422,
            headers=staff,
            params={
                "org": "110101001",
                "client_id": str(uuid.uuid4()),
                "data": {"visit_date": today(), **data},
            },
        ).json["errors"]

    # A PDF is not a picture, whatever field it is sent for.
    assert "不是图片" in errors({"photo": pdf})["photo"]
    # Someone else's upload, or an id that names nothing, cannot be used.
    assert (
        "upload it again" in errors({"photo": theirs})["photo"]
        or "重新上传" in errors({"photo": theirs})["photo"]
    )
    assert "photo" in errors({"photo": "f" * 32})
    assert "photo" in errors({"photo": "../../etc/passwd"})
    # The same file twice.
    png = api_upload(testapp, staff, PNG, "p.png").json["id"]
    assert set(errors({"photo": png, "id_scan": png})) == {"id_scan"}
    # Used once, it belongs to that submission and no other.
    api_submit(testapp, staff, {"visit_date": today(), "photo": png})
    assert "photo" in errors({"photo": png})
    assert stored(testapp, theirs)["submission"] is None  # untouched by the refusals


def test_api_upload_streams_instead_of_reading_the_file_into_memory(
    testapp, form_published, tokens, tmp_path
):
    """A file of 8 MB goes from the request body to the blob with a peak of Python memory far
    below its size (webob spools the body and its parts to temporary files; the portal
    copies 64 KB at a time)."""
    size = 8 * 1024 * 1024
    boundary = "----portal-test-boundary"
    body_path = tmp_path / "body"
    with open(body_path, "wb") as body:
        body.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="scan.bin"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        chunk = os.urandom(1024 * 1024)
        for _ in range(size // len(chunk)):
            body.write(chunk)
        body.write(f"\r\n--{boundary}--\r\n".encode())
    length = os.path.getsize(body_path)
    headers = tokens["staff"]
    with open(body_path, "rb") as stream:
        request = webob.Request.blank(
            "/api/v1/attachments",
            method="POST",
            environ={
                "wsgi.input": stream,
                "CONTENT_LENGTH": str(length),
                "REMOTE_ADDR": "127.0.0.1",
            },
            headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        tracemalloc.start()
        try:
            response = request.get_response(testapp.app)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert response.status_int == 201, response.text
    assert response.json["size"] == size
    assert peak < size / 4, f"peak {peak} bytes for a file of {size}"
    download = testapp.get(f"/api/v1/attachments/{response.json['id']}", headers=headers)
    assert len(download.body) == size
    # How big the peak was, for the report.
    print(f"\nupload of {size} bytes: Python peak {peak / 1024:.0f} KB")


# -- housekeeping -----------------------------------------------------------------------------
def test_lapsed_uploads_are_cleared(testapp, form_published, tokens):
    kept = api_upload(testapp, tokens["staff"], PNG).json["id"]
    api_submit(testapp, tokens["staff"], {"visit_date": today(), "photo": kept})
    lapsing = api_upload(testapp, tokens["staff"], PNG).json["id"]
    tm = transaction.TransactionManager(explicit=True)
    with tm:
        conn = testapp.app.registry.zodb.open(transaction_manager=tm)
        site = conn.root()["site"]
        assert clear_expired(site) == 0
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
        assert clear_expired(site, now=later) == 1
    conn.close()
    assert stored(testapp)["ids"] == {kept}
    testapp.get(f"/api/v1/attachments/{lapsing}", headers=tokens["staff"], status=404)


def test_the_clean_up_command(settings, tmp_path, capsys):
    from ZODB.blob import Blob

    from portal import make_config
    from portal.resources import Attachment
    from portal.scripts import cli
    from tests.conftest import close_app_registry, write_ini

    def with_site(work):
        config = make_config(settings)
        tm = transaction.TransactionManager(explicit=True)
        try:
            with tm:
                conn = config.registry.zodb.open(transaction_manager=tm)
                result = work(conn.root()["site"]["attachments"])
            conn.close()
        finally:
            close_app_registry(config.registry)
        return result

    def add(folder):
        for name, hours in (("a" * 32, -1), ("b" * 32, 5)):
            expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
            folder.add(
                name,
                Attachment(
                    name,
                    "x.bin",
                    "application/octet-stream",
                    1,
                    "0" * 64,
                    "staff",
                    "110101001",
                    Blob(b"x"),
                    expires,
                ),
            )
            folder.pending[name] = expires

    with_site(add)
    assert cli.main(["attachments-clean", write_ini(tmp_path / "t.ini", settings)]) == 0
    assert "Removed 1 lapsed upload" in capsys.readouterr().out
    assert with_site(lambda folder: (set(folder), set(folder.pending))) == ({"b" * 32},) * 2


def test_editing_a_record_keeps_or_replaces_its_files(testapp, submitted):
    login(testapp, "staff")
    url = CENTRE + "submissions/" + submitted["submission"]
    edit = testapp.get(url + "/edit").forms["entry"]
    assert edit.html.find(attrs={"name": "uid", "value": submitted["photo"]}) is not None
    edit.submit("save", status=303)  # nothing changed: the same file
    (row,) = rows(testapp)
    assert row.data["photo"] == submitted["photo"]
    edit = testapp.get(url + "/edit").forms["entry"]
    pick(edit, "photo", Upload("新照片.png", picture(color="navy"), "image/png"))
    edit.submit("save", status=303)
    (row,) = rows(testapp)
    new = row.data["photo"]
    assert new != submitted["photo"] and stored(testapp, new)["submission"] == row.id
    # The earlier revision's file stays the record's, readable as before.
    assert stored(testapp, submitted["photo"])["submission"] == row.id
    testapp.get(f"/attachments/{submitted['photo']}", status=200)
    assert (
        "新照片.png"
        in testapp.get(url).html.select_one(".record-value[data-field='photo']").get_text()
    )


def test_a_file_moved_into_a_personal_field_stays_personal(testapp, submitted, tokens):
    photo, manager = f"/api/v1/attachments/{submitted['photo']}", tokens["dongcheng"]
    testapp.get(photo, headers=manager, status=200)  # not personal yet
    testapp.put_json(
        f"/api/v1/submissions/{submitted['submission']}",
        {"data": {"visit_date": today(), "id_scan": submitted["photo"]}},
        headers=tokens["staff"],
        status=200,
    )
    testapp.get(photo, headers=manager, status=403)
    testapp.get(photo, headers=tokens["staff"], status=200)


def test_the_shipped_health_education_form_takes_a_photo_when_pictures_are_archived(testapp):
    login(testapp, "staff")
    url = CENTRE + "forms/health_education_activity"

    def filled(archived):
        form = testapp.get(url).forms["entry"]
        for name, value in (
            ("activity_date", today()),
            ("place", "社区活动室"),
            ("activity_form", "1"),
            ("topic", "高血压防治"),
            ("organizer", "李医生"),
        ):
            form[name] = value
        for checkbox in form.fields["checkbox"]:
            checkbox.checked = checkbox._value in archived
        pick(form, "activity_photo", Upload("讲座.jpg", picture("JPEG"), "image/jpeg"))
        return form

    filled({"2"}).submit("submit", status=303)  # 图片材料 archived: the photo is kept
    (row,) = rows(testapp)
    assert row.data["archive_materials"] == ["2"]
    photo = stored(testapp, row.data["activity_photo"])
    assert (photo["submission"], photo["field"], photo["content_type"]) == (
        row.id,
        "activity_photo",
        "image/jpeg",
    )
    filled({"1"}).submit("submit", status=303)  # no pictures archived: no photo either
    second = rows(testapp)[1]
    assert "activity_photo" not in second.data
    assert len(stored(testapp)["pending"]) == 1  # the unused upload lapses
