"""forms.attachments: files judged by their content and size, never by their name."""

import io
import zipfile

import pytest
from openpyxl import Workbook
from PIL import Image

from forms.attachments import (
    IMAGE_TYPES,
    SNIFF_BYTES,
    accepts,
    attachment_problem,
    attachment_values,
    check_attachment,
    format_size,
    parse_size,
    sniff_media_type,
)
from forms.model import Field, FormDefinition, Text
from forms.xlsform import export_xlsform, import_xlsform


def picture(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(out, fmt)
    return out.getvalue()


def xlsx() -> bytes:
    out = io.BytesIO()
    Workbook().save(out)
    return out.getvalue()


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("a.txt", "x")
    return out.getvalue()


@pytest.mark.parametrize(
    "content, media_type",
    [
        (picture("JPEG"), "image/jpeg"),
        (picture("PNG"), "image/png"),
        (picture("GIF"), "image/gif"),
        (picture("WEBP"), "image/webp"),
        (picture("BMP"), "image/bmp"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"),
        (xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (plain_zip(), "application/zip"),
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\0" * 120, "application/x-msdownload"),
        ("姓名,血压\n张三,120/80\n".encode(), "text/plain"),
        ("姓名,血压\n张三,120/80\n".encode("gb18030"), "text/plain"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "text/plain"),
        (b"\x00\x01\x02binary\xff\xfe", "application/octet-stream"),
        (b"", "application/octet-stream"),
    ],
)
def test_the_media_type_comes_from_the_content(content, media_type):
    assert sniff_media_type(content[:SNIFF_BYTES]) == media_type


def test_text_cut_inside_a_character_is_still_text():
    text = ("血压" * 5000).encode()
    head = text[: SNIFF_BYTES - 1]  # 8191 is not a multiple of 3: the last character is cut
    assert sniff_media_type(head) == "text/plain"


def test_patterns():
    assert accepts(["image/*"], "image/png")
    assert accepts(["IMAGE/PNG"], "image/png")
    assert not accepts(["image/*"], "application/pdf")
    assert not accepts(["image/png"], "image/jpeg")
    assert accepts(["text/csv"], "text/plain")  # plain text cannot say it is not CSV
    assert not accepts(["text/csv"], "application/octet-stream")
    assert not accepts([], "image/png")


def test_sizes_as_people_read_them():
    assert format_size(900) == "900 B"
    assert format_size(1024) == "1 KB"
    assert format_size(1536) == "1.5 KB"
    assert format_size(20 * 1024 * 1024) == "20 MB"
    assert format_size(3 * 1024**4) == "3072 GB"


def test_an_image_field_takes_pictures_only():
    photo = Field("p", "image")
    for media_type in IMAGE_TYPES:
        assert attachment_problem(photo, media_type, 10) is None
    assert attachment_problem(photo, "application/pdf", 10).id == "validation.not_an_image"
    # An image, but not one every browser shows.
    problem = attachment_problem(photo, "image/heic", 10)
    assert problem.id == "validation.file_type"
    assert problem.render("en") == (
        "Files of type image/heic are not accepted here "
        "(accepted: image/jpeg, image/png, image/gif, image/webp)."
    )


def test_a_file_field_takes_what_its_definition_accepts():
    anything = Field("f", "file")
    assert attachment_problem(anything, "application/x-msdownload", 10) is None
    report = Field("r", "file", accept=("application/pdf", "image/*"))
    assert attachment_problem(report, "application/pdf", 10) is None
    assert attachment_problem(report, "image/png", 10) is None
    problem = attachment_problem(report, "application/zip", 10)
    assert problem.render("zh") == (
        "此处不接受 application/zip 类型的文件（可接受：application/pdf, image/*）。"
    )


def test_the_size_limit_is_checked_first():
    small = Field("p", "image", max_size=2 * 1024 * 1024)
    assert attachment_problem(small, "image/png", 2 * 1024 * 1024) is None
    problem = attachment_problem(small, "application/pdf", 3 * 1024 * 1024)
    assert problem.id == "validation.file_too_large"
    assert problem.render("zh") == "文件大小为 3 MB，此处最大允许 2 MB。"


def test_check_attachment_sniffs_the_head():
    report = Field("r", "file", accept=("application/pdf",))
    assert check_attachment(report, b"%PDF-1.4\n", 9) is None
    assert check_attachment(report, picture("PNG"), 70).mapping["media_type"] == "image/png"


@pytest.mark.parametrize(
    "text, size",
    [
        ("1048576", 1048576),
        ("20MB", 20 * 1024**2),
        ("512 kb", 512 * 1024),
        ("2g", 2 * 1024**3),
        ("10 b", 10),
    ],
)
def test_sizes_as_people_write_them(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "MB", "1.5MB", "-1", "20 TB"])
def test_sizes_that_are_not(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_attachment_values_in_groups_and_repeats():
    definition = FormDefinition(
        "f",
        fields=[
            Field("g", "group", children=[Field("photo", "image"), Field("note", "text")]),
            Field("visits", "repeat", children=[Field("scan", "file"), Field("n", "integer")]),
        ],
    )
    data = {"photo": "p1", "note": "x", "visits": [{"scan": "s0"}, {"n": 1}, {"scan": "s2"}]}
    found = [(key, f.name, value) for key, f, _holder, value in attachment_values(definition, data)]
    assert found == [
        ("photo", "photo", "p1"),
        ("visits.0.scan", "scan", "s0"),
        ("visits.2.scan", "scan", "s2"),
    ]
    # The holder is where the value is kept: replacing it there changes the data.
    for _key, f, holder, value in attachment_values(definition, data):
        holder[f.name] = value.upper()
    assert data["visits"][2]["scan"] == "S2" and data["photo"] == "P1"
    # Whatever a client sends, nothing breaks.
    assert list(attachment_values(definition, {"visits": "nope"})) == []
    assert list(attachment_values(definition, {"visits": [None, 3]})) == []


def test_file_and_image_fields_round_trip_through_xlsform_without_warnings():
    definition = FormDefinition(
        "f",
        title=Text("附件", "Attachments"),
        category="健康教育",
        levels=("centre",),
        fields=[
            Field("photo", "image", label=Text("照片", "Photo"), max_size=10 * 1024 * 1024),
            Field(
                "scan", "file", label=Text("扫描件", "Scan"), accept=("application/pdf", "image/*")
            ),
        ],
    )
    again = import_xlsform(export_xlsform(definition))
    assert again.errors == [] and again.warnings == []  # not pyxform's max-pixels advice
    assert again.definition.get_field("photo").max_size == 10 * 1024 * 1024
    assert again.definition.get_field("scan").accept == ("application/pdf", "image/*")
