"""A request body that cannot be read is the client's mistake (400), not the server's (500).

webob parses a form body lazily, wherever `request.POST` is first read: in the CSRF check,
or in a view. A multipart body without its boundary, or cut short, raises there as a
ValueError from the standard library's parser. A tween reads form bodies first, so that
every view, and the CSRF check, either gets a parsed body or never runs."""

from pyramid.httpexceptions import HTTPBadRequest
from pyramid.tweens import EXCVIEW

FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


class MalformedBody(HTTPBadRequest):
    """The request's form body could not be parsed (see portal.views.errors)."""


def tween_factory(handler, registry):
    def read_form_body(request):
        if request.method != "GET" and request.content_type in FORM_TYPES:
            try:
                request.POST  # noqa: B018 - parsed once here, kept by webob
            except (ValueError, LookupError, TypeError) as error:
                # What answers it (the locale negotiator reads request.params) sees no form.
                request.content_type = "application/octet-stream"
                raise MalformedBody() from error
        return handler(request)

    return read_form_body


def includeme(config):
    # Under the exception view tween: MalformedBody is answered by its view, in the
    # user's language, or as JSON for the API.
    config.add_tween("portal.request_body.tween_factory", under=EXCVIEW)
