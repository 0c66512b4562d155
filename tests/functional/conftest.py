"""Fixtures for the functional tests: API calls checked against the OpenAPI description, API
tokens by login, and a small published form (bp_check)."""

from urllib.parse import urlsplit

import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from portal.views.api import openapi_spec
from tests.conftest import api_token, bearer


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


@pytest.fixture
def admin(testapp):
    """The system administrator's API token."""
    return api_token(testapp, "admin")


def publish(checked, admin_token, definition) -> str:
    """Import `definition` as an XLSForm and publish it, through the API and checked
    against its description, as the system administrator; returns the form's name."""
    from forms.xlsform import export_xlsform

    checked(
        "post",
        "/api/v1/forms",
        201,
        headers=bearer(admin_token),
        upload_files=[("file", "form.xlsx", export_xlsform(definition))],
    )
    checked("post", f"/api/v1/forms/{definition.name}/publish", 200, headers=bearer(admin_token))
    return definition.name


@pytest.fixture
def published(checked, admin):
    """bp_check (tests/functional/form_samples.py), version 1, published by the system
    administrator."""
    from tests.functional.form_samples import bp_form

    return publish(checked, admin, bp_form())


@pytest.fixture
def tokens(testapp):
    """Authorization headers by login, each token made when first asked for."""
    made = {}

    class Tokens:
        def __getitem__(self, login):
            if login not in made:
                made[login] = api_token(testapp, login)
            return bearer(made[login])

    return Tokens()
