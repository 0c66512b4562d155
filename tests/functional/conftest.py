"""Fixtures for the functional tests: API calls checked against the OpenAPI description."""

from urllib.parse import urlsplit

import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from portal.views.api import openapi_spec


class _OpenAPIRequest:
    """A WebTest request as openapi-core sees it."""

    def __init__(self, req):
        parts = urlsplit(req.url)
        self.host_url = f"{parts.scheme}://{parts.netloc}"
        self.path = parts.path
        self.method = req.method.lower()
        self.body = req.body or None
        self.content_type = req.content_type or "application/json"
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(req.GET.items())),
            header=Headers(dict(req.headers)),
            cookie=ImmutableMultiDict(dict(req.cookies)),
        )


class _OpenAPIResponse:
    def __init__(self, res):
        self.status_code = res.status_int
        self.content_type = res.content_type or ""
        self.headers = Headers(dict(res.headers))
        self.data = res.body or None


@pytest.fixture
def checked(testapp):
    """Calls the API and validates every exchange against openapi.json."""
    spec = OpenAPI.from_dict(openapi_spec())

    def call(method, path, status, **kw):
        res = getattr(testapp, method)(path, status=status, **kw)
        spec.validate_response(_OpenAPIRequest(res.request), _OpenAPIResponse(res))
        return res

    return call
