"""Uploaded files judged by their content, never by their name or what the browser claims:
their media type sniffed from the first bytes, and whether they fit a file or image field
(its `accept` list and `max_size`).

The signatures are filetype's (a small pure-Python library of magic numbers, zip-based
office formats included); text, which has no signature, is recognised here. Whether an
image really is one (it decodes) is for whoever holds the whole file to check: the portal
opens it with Pillow and reports a picture that does not decode as
application/octet-stream.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from typing import Any

import filetype

from forms.expressions import format_number
from forms.messages import Message
from forms.model import ATTACHMENT_TYPES, Field, FormDefinition

__all__ = [
    "IMAGE_TYPES",
    "SNIFF_BYTES",
    "accepts",
    "attachment_problem",
    "attachment_values",
    "check_attachment",
    "format_size",
    "parse_size",
    "sniff_media_type",
]

# How many of a file's first bytes sniff_media_type needs: the zip-based office formats
# show their kind in the names of their first entries, up to filetype's 8 KB.
SNIFF_BYTES = 8192

# What an image field takes when its definition names no types: the pictures every browser
# shows. SVG is not among them: it is a document that may carry script.
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")

# C0 controls other than tab, line feed and carriage return (and DEL): binary, not text.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _is_text(head: bytes) -> bool:
    if not head or _CONTROL.search(head):
        return False
    # UTF-8, or GB 18030 as Chinese Windows saves CSV; the head may end inside a character.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return True
    return False


def sniff_media_type(head: bytes) -> str:
    """The media type of a file judged by its first bytes (SNIFF_BYTES are enough):
    a known signature's type, `text/plain` for text, else `application/octet-stream`."""
    found = filetype.guess_mime(head) if head else None
    if found:
        return found
    return "text/plain" if _is_text(head) else "application/octet-stream"


def accepts(patterns: Iterable[str], media_type: str) -> bool:
    """Whether `media_type` matches one of `patterns` (types such as image/png, or image/*).
    Text matches every text type: nothing in plain text says it is CSV."""
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern == media_type or (
            pattern.endswith("/*") and media_type.startswith(pattern[:-1])
        ):
            return True
        if media_type == "text/plain" and pattern.startswith("text/"):
            return True
    return False


def format_size(size: int) -> str:
    """A size in bytes as people read it: 900 B, 512 KB, 20 MB (powers of 1024)."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{format_number(round(value, 1))} {unit}"


_SIZE_RE = re.compile(r"(\d+)\s*(kb|k|mb|m|gb|g|b)?", re.IGNORECASE)
_SIZE_FACTORS = {"k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}


def parse_size(text: str) -> int:
    """A size as people write it: `20MB`, `512 KB`, `1048576` (bytes); ValueError else."""
    found = _SIZE_RE.fullmatch(text.strip())
    if not found:
        raise ValueError(text)
    return int(found.group(1)) * _SIZE_FACTORS.get((found.group(2) or "").lower(), 1)


def attachment_problem(field_: Field, media_type: str, size: int) -> Message | None:
    """Why a file (its sniffed media type, its size in bytes) does not fit a file or image
    field, or None. An image field without `accept` takes IMAGE_TYPES."""
    if field_.max_size is not None and size > field_.max_size:
        return Message(
            "validation.file_too_large",
            {"size": format_size(size), "max_size": format_size(field_.max_size)},
        )
    accept = field_.accept or (IMAGE_TYPES if field_.type == "image" else ())
    if not accept or accepts(accept, media_type):
        return None
    if field_.type == "image" and not media_type.startswith("image/"):
        return Message("validation.not_an_image")
    return Message("validation.file_type", {"media_type": media_type, "accept": ", ".join(accept)})


def check_attachment(field_: Field, head: bytes, size: int) -> Message | None:
    """attachment_problem for a file known by its first bytes and size."""
    return attachment_problem(field_, sniff_media_type(head), size)


def attachment_values(
    definition: FormDefinition, data: dict[str, Any]
) -> Iterator[tuple[str, Field, dict[str, Any], Any]]:
    """The values of every file and image field in flat data, repeats included, as
    `(key, field, holder, value)`: the error key (`photo`, `visits.0.photo`) and the object
    holding the value under the field's name (to read or replace it)."""
    yield from _values(definition.fields, data, "")


def _values(fields: Iterable[Field], data: Any, prefix: str):
    if not isinstance(data, dict):
        return
    for f in fields:
        if f.type == "group":
            yield from _values(f.children, data, prefix)
        elif f.type == "repeat" and isinstance(data.get(f.name), list):
            for index, row in enumerate(data[f.name]):
                yield from _values(f.children, row, f"{prefix}{f.name}.{index}.")
        elif f.type in ATTACHMENT_TYPES and data.get(f.name) is not None:
            yield prefix + f.name, f, data, data[f.name]
