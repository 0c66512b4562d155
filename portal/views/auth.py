"""Login and logout for the browser."""

from pyramid.csrf import check_csrf_token
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import NO_PERMISSION_REQUIRED, forget, remember
from pyramid.view import view_config

from portal import audit
from portal.i18n import _
from portal.services.accounts import authenticate

BAD_LOGIN = _("login_failed", default="Wrong login or password, or the account is locked.")


def _safe_next(request, value):
    """Only local paths, so the login form cannot be used to redirect elsewhere."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return request.application_url + value
    return request.application_url + "/"


@view_config(
    route_name="login",
    renderer="portal:templates/login.pt",
    permission=NO_PERMISSION_REQUIRED,
    require_csrf=False,
)
def login_view(request):
    next_url = request.params.get("next", "")
    login = ""
    error = None
    if request.method == "POST":
        # The login form is CSRF-protected with the anonymous session's token; a stale
        # form (expired session) just shows the form again with a fresh token.
        if not check_csrf_token(request, raises=False):
            error = _("form_expired", default="The form expired. Please try again.")
        else:
            login = request.POST.get("login", "").strip()
            result = authenticate(request, login, request.POST.get("password", ""))
            if result.status == "ok":
                account = result.account
                headers = remember(request, account.login)
                audit.record(
                    request,
                    "login",
                    "success",
                    target=account.login,
                    unit=request.root_site.unit_by_code(account.org),
                    detail={"actor": account.login, "via": "form"},
                )
                return HTTPSeeOther(_safe_next(request, next_url), headers=headers)
            error = BAD_LOGIN
            request.response.status_int = 200
    return {"login": login, "error": error, "next": next_url}


@view_config(route_name="logout", request_method="POST", permission=NO_PERMISSION_REQUIRED)
def logout_view(request):
    # CSRF is checked (default options) so a foreign page cannot log a user out.
    identity = request.identity
    if identity is not None:
        audit.record(request, "logout", "success", target=identity.login)
    headers = forget(request)
    return HTTPSeeOther(request.route_url("login"), headers=headers)
