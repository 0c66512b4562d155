"""Two-factor login pages: one's own enrolment (QR code, first code, recovery codes shown
once) and new recovery codes; the security administrator's reset of someone else's second
factor. Enrolment and resets are audited; no secret or code reaches the audit log."""

from pyramid.httpexceptions import HTTPForbidden, HTTPSeeOther
from pyramid.view import view_config

from portal import audit
from portal.i18n import _
from portal.resources import Account, Site
from portal.security import Permission
from portal.services import two_factor
from portal.services.accounts import authenticate_second_factor, end_sessions
from portal.views.common import flash, local_time

WRONG_CODE = _(
    "otp_wrong_code", default="Wrong or already used code: enter the code your app shows now."
)


def _page(request, account, error=None, codes=None) -> dict:
    pending = account.totp_pending if not two_factor.enrolled(account) else None
    uri = two_factor.provisioning_uri(account, pending) if pending else None
    return {
        "account": account,
        "enrolled": two_factor.enrolled(account),
        "required": two_factor.required(account),
        "since": local_time(account.totp_enrolled),
        "remaining": len(account.recovery_codes),
        "pending": pending,
        "secret_groups": [pending[i : i + 4] for i in range(0, len(pending), 4)] if pending else [],
        "uri": uri,
        "qr": two_factor.qr_svg(uri) if uri else None,
        "codes": codes,
        "error": error,
        "active_nav": "",
    }


def _audit(request, event, account, **detail):
    audit.record(
        request,
        event,
        target=account.login,
        unit=request.root_site.unit_by_code(account.org),
        detail=detail or None,
    )


@view_config(
    context=Site,
    name="two-factor",
    renderer="portal:templates/two_factor.pt",
    permission=Permission.HOME,
)
def two_factor_page(request):
    account = request.identity.account
    if request.method != "POST":
        return _page(request, account)
    code = request.POST.get("otp", "")
    if two_factor.enrolled(account):
        if "recovery_codes" not in request.POST:
            return HTTPSeeOther(request.path_url)
        # The current code (or a recovery code), checked like a login's: guesses lock.
        if authenticate_second_factor(request, account.login, code).status != "ok":
            return _page(request, account, error=WRONG_CODE)
        codes = two_factor.new_recovery_codes(account)
        _audit(request, "account.two_factor.recovery_codes", account)
        return _page(request, account, codes=codes)
    if "start" in request.POST:
        two_factor.start_enrolment(account)
        return HTTPSeeOther(request.path_url)
    codes = two_factor.confirm_enrolment(account, code)
    if codes is None:
        return _page(request, account, error=WRONG_CODE)
    _audit(request, "account.two_factor.enrol", account)
    return _page(request, account, codes=codes)


@view_config(
    context=Account,
    name="reset-two-factor",
    request_method="POST",
    permission=Permission.ROLE_GRANT,
)
def reset_two_factor(request):
    account = request.context
    if account.login == request.identity.login:
        # Nobody removes their own second factor: that takes another security administrator.
        raise HTTPForbidden()
    if two_factor.enrolled(account) or account.totp_pending:
        two_factor.reset(account)
        ended = end_sessions(request.dbsession, account.login)
        _audit(request, "account.two_factor.reset", account, sessions_ended=ended)
        flash(
            request,
            _(
                "two_factor_reset_done",
                default="Two-factor login of ${login} removed: they set it up again at their "
                "next login.",
                mapping={"login": account.login},
            ),
        )
    return HTTPSeeOther(request.resource_url(account))
