"""Login (a password, then a one-time code for accounts with two-factor login) and logout
for the browser; and what a logged-in account must do before anything else (enrol a second
factor, change an expired password)."""

import time

from pyramid.csrf import check_csrf_token
from pyramid.events import ContextFound, subscriber
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import NO_PERMISSION_REQUIRED, forget, remember
from pyramid.view import exception_view_config, view_config

from portal import audit
from portal.i18n import _
from portal.resources import Site
from portal.services import two_factor
from portal.services.accounts import (
    authenticate,
    authenticate_second_factor,
    password_expired,
    password_policy,
)

BAD_LOGIN = _("login_failed", default="Wrong login or password, or the account is locked.")
BAD_CODE = _("otp_failed", default="Wrong or already used code. Enter the current code.")
# The code is asked for within this many seconds of the password.
PENDING_SECONDS = 300
PENDING = "login_pending"


def _safe_next(request, value):
    """Only local paths, so the login form cannot be used to redirect elsewhere."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return request.application_url + value
    return request.application_url + "/"


def _pending_login(request) -> str | None:
    """The login whose password was right in this session, waiting for its code."""
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None
    return pending.get("login")


def record_login(request, result, via: str) -> None:
    """The audit row of a successful login ("form" or "token"), naming the second factor."""
    account = result.account
    detail = {"actor": account.login, "via": via}
    if result.factor:
        detail["factor"] = result.factor
    audit.record(
        request,
        "login",
        "success",
        target=account.login,
        unit=request.root_site.unit_by_code(account.org),
        detail=detail,
    )


def _logged_in(request, result, next_url):
    headers = remember(request, result.account.login)
    record_login(request, result, "form")
    return HTTPSeeOther(_safe_next(request, next_url), headers=headers)


@view_config(
    route_name="login",
    renderer="portal:templates/login.pt",
    permission=NO_PERMISSION_REQUIRED,
    require_csrf=False,
)
def login_view(request):
    next_url = request.params.get("next", "")
    if "restart" in request.GET and PENDING in request.session:
        del request.session[PENDING]
    pending = _pending_login(request)
    login = ""
    error = None
    if request.method == "POST":
        # The login form is CSRF-protected with the anonymous session's token; a stale
        # form (expired session) just shows the form again with a fresh token.
        if not check_csrf_token(request, raises=False):
            error = _("form_expired", default="The form expired. Please try again.")
        elif pending is not None and "otp" in request.POST:
            result = authenticate_second_factor(request, pending, request.POST["otp"])
            if result.status == "ok":
                return _logged_in(request, result, next_url)
            if result.status == "bad_otp":
                error = BAD_CODE
            else:  # locked meanwhile: start again from the password
                request.session.pop(PENDING, None)
                pending, error = None, BAD_LOGIN
        elif "otp" in request.POST:
            error = _(
                "otp_step_lapsed",
                default="The time to enter the code ran out. Log in again.",
            )
        else:
            login = request.POST.get("login", "").strip()
            result = authenticate(request, login, request.POST.get("password", ""))
            if result.status == "ok":
                return _logged_in(request, result, next_url)
            if result.status == "otp_required":
                request.session[PENDING] = {"login": result.account.login, "at": time.time()}
                query = {"next": next_url} if next_url else {}
                return HTTPSeeOther(request.route_url("login", _query=query))
            error = BAD_LOGIN
    elif pending is None and PENDING in request.session:
        del request.session[PENDING]  # lapsed
    return {
        "login": pending or login,
        "error": error,
        "next": next_url,
        "step": "otp" if pending is not None else "password",
    }


@view_config(route_name="logout", request_method="POST", permission=NO_PERMISSION_REQUIRED)
def logout_view(request):
    # CSRF is checked (default options) so a foreign page cannot log a user out.
    identity = request.identity
    if identity is not None:
        audit.record(request, "logout", "success", target=identity.login)
    headers = forget(request)
    return HTTPSeeOther(request.route_url("login"), headers=headers)


# -- before anything else ----------------------------------------------------------------
class AccountActionRequired(Exception):
    """The logged-in account must enrol a second factor ("enrol") or change its expired
    password ("password") before it may do anything else."""

    def __init__(self, action: str):
        super().__init__(action)
        self.action = action


# Where an account with something to do may still go: the pages that do it, logging out,
# and ending its API token. Static files are never held back.
ACTION_VIEWS = {"enrol": "two-factor", "password": "password"}
OPEN_ROUTES = frozenset({"login", "logout", "api_tokens", "api_token_current"})


def required_action(request, account) -> str | None:
    if two_factor.must_enrol(account):
        return "enrol"
    if password_expired(account, password_policy(request.registry)):
        return "password"
    return None


@subscriber(ContextFound)
def hold_back(event):
    """Send an account that must enrol or change its password to that page (an API call is
    refused with a JSON 403 naming the reason)."""
    request = event.request
    route = request.matched_route
    if route is not None and (route.name.startswith("__") or route.name in OPEN_ROUTES):
        return
    if request.session.get("auth") is None and "Authorization" not in request.headers:
        return  # anonymous: no identity to look up
    identity = request.identity
    if identity is None:
        return
    action = required_action(request, identity.account)
    if action is None:
        return
    if (
        route is None
        and isinstance(request.context, Site)
        and request.view_name in ACTION_VIEWS.values()
    ):
        return
    raise AccountActionRequired(action)


@exception_view_config(AccountActionRequired, renderer="json")
def action_required(context, request):
    if request.path.startswith("/api/"):
        request.response.status_int = 403
        if context.action == "password":
            return {
                "error": "the password has expired: change it on the portal's password page",
                "password_expired": True,
            }
        return {
            "error": "this account must enrol a second factor on the portal's pages first",
            "otp_enrolment_required": True,
        }
    return HTTPSeeOther(request.resource_url(request.root_site, ACTION_VIEWS[context.action]))
