"""What a request may carry, checked before anything reads it: a request that cannot be read
is the client's mistake (400, 413), never the server's (500), and never costs more than its
limits.

- A form body is parsed here, first: webob parses it lazily wherever `request.POST` is first
  read (the CSRF check, a view), and a multipart body without its boundary, or cut short,
  raises there as a ValueError from the standard library's parser.
- A JSON body is limited in size before it is read (`portal.max_json_bytes`, about 1 MB by
  default; `portal.max_anonymous_bytes` for requests without credentials, such as logging
  in), must be UTF-8, and may nest at most MAX_JSON_DEPTH deep (Python's parser would
  recurse until it fails).
- The path and the query string must be UTF-8.
Uploads (multipart) keep their own streamed limits (portal.services.attachments).
"""

from pyramid.httpexceptions import HTTPBadRequest, HTTPRequestEntityTooLarge
from pyramid.settings import aslist
from pyramid.tweens import EXCVIEW

FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})
JSON_TYPES = frozenset({"application/json"})
MAX_JSON_BYTES = 1_048_576
MAX_ANONYMOUS_BYTES = 65_536
MAX_FORM_BYTES = 2_097_152  # url-encoded forms (not uploads)
MAX_JSON_DEPTH = 32
UTF8 = frozenset({"utf-8", "utf8"})


class MalformedBody(HTTPBadRequest):
    """The request's form body could not be parsed (see portal.views.errors)."""


class MalformedRequest(HTTPBadRequest):
    """The request cannot be read as sent: `reason` says why (see portal.views.errors)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class BodyTooLarge(HTTPRequestEntityTooLarge):
    """The request's body is over its limit (`limit` bytes)."""

    def __init__(self, limit: int):
        super().__init__(f"the request body is over {limit} bytes")
        self.limit = limit


def json_depth(text: bytes) -> int:
    """How deep the JSON text's arrays and objects nest (brackets inside strings apart)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _has_credentials(request) -> bool:
    return bool(request.headers.get("Authorization") or request.cookies)


def _check_address(request) -> None:
    try:
        request.path_info  # noqa: B018 - decoded here, or never
        request.GET  # noqa: B018
    except UnicodeDecodeError as error:
        # What answers it reads the path and the query too: give it ones it can read.
        api = request.environ.get("PATH_INFO", "").startswith("/api/")
        request.environ["PATH_INFO"] = "/api/" if api else "/"
        request.environ["QUERY_STRING"] = ""
        raise MalformedRequest("the address is not UTF-8") from error


def _read_limited(request, limit: int) -> bytes:
    """The body, refusing it (413) past `limit` bytes, whether or not it says its length."""
    length = request.content_length
    if length is not None and length > limit:
        raise BodyTooLarge(limit)
    body = request.body_file_raw.read(limit + 1) if length is None else request.body
    if len(body) > limit:
        raise BodyTooLarge(limit)
    if length is None:
        request.body = body  # what is read is what the view reads
    return body


def tween_factory(handler, registry):
    settings = registry.settings or {}
    max_json = int(settings.get("portal.max_json_bytes", MAX_JSON_BYTES))
    max_anonymous = int(settings.get("portal.max_anonymous_bytes", MAX_ANONYMOUS_BYTES))
    max_form = int(settings.get("portal.max_form_bytes", MAX_FORM_BYTES))
    # Paths whose JSON may be larger (none by default): "/api/v1/forms" for big definitions.
    large = tuple(aslist(settings.get("portal.large_json_paths", "")))

    def read_request(request):
        _check_address(request)
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return handler(request)
        content_type = request.content_type
        if content_type in JSON_TYPES:
            charset = request.headers.get("Content-Type", "").lower().partition("charset=")[2]
            if charset and charset.split(";")[0].strip().strip('"') not in UTF8:
                raise MalformedRequest("JSON is sent as UTF-8")
            limit = max_json if _has_credentials(request) else max_anonymous
            if large and request.path.startswith(large):
                limit = max(limit, max_json * 10)
            body = _read_limited(request, limit)
            if json_depth(body) > MAX_JSON_DEPTH:
                raise MalformedRequest(f"JSON nests more than {MAX_JSON_DEPTH} deep")
        elif content_type == "application/x-www-form-urlencoded":
            _read_limited(request, max_form)
        if content_type in FORM_TYPES:
            try:
                request.POST  # noqa: B018 - parsed once here, kept by webob
            except (ValueError, LookupError, TypeError) as error:
                # What answers it (the locale negotiator reads request.params) sees no form.
                request.content_type = "application/octet-stream"
                raise MalformedBody() from error
        return handler(request)

    return read_request


def includeme(config):
    # Under the exception view tween: these refusals are answered by their views, in the
    # user's language, or as JSON for the API.
    config.add_tween("portal.request_body.tween_factory", under=EXCVIEW)
