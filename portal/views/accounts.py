"""Account pages: the accounts of a unit's subtree, adding and editing an account, passwords,
unlocking, and granting and revoking roles.

Who may do what follows the three-administrator separation in portal.security: the system
admin manages accounts, the security admin grants roles. Every change is audited; no
password or hash ever reaches the audit log.
"""

import colander
import deform
from pyramid.httpexceptions import HTTPBadRequest, HTTPForbidden, HTTPSeeOther
from pyramid.security import remember
from pyramid.view import view_config
from sqlalchemy import func, select

from portal import audit, models
from portal.i18n import _
from portal.resources import Account, OrgUnit, Site
from portal.schemas_accounts import (
    AccountAddSchema,
    AccountEditSchema,
    AccountSearchSchema,
    GrantRoleSchema,
    PasswordChangeSchema,
    PasswordResetSchema,
    RevokeRoleSchema,
    parse_query,
)
from portal.security import Permission
from portal.services import two_factor
from portal.services.accounts import (
    authenticate,
    create_account,
    end_sessions,
    grant_role,
    is_locked,
    lockouts,
    password_expired,
    password_policy,
    revoke_role,
    set_password,
    unlock,
)
from portal.views.common import FormRenderer, Pager, flash, local_time, page_number


def button(name, title, css_class="btn-primary"):
    return deform.Button(name=name, title=title, css_class=css_class)


def make_form(request, schema, buttons, formid="account-form", **bindings) -> deform.Form:
    schema = schema().bind(request=request, context=request.context, **bindings)
    return deform.Form(schema, buttons=buttons, formid=formid, renderer=FormRenderer(request))


def validate(form, request):
    """(appstruct, None) when the POST is valid, else (None, html with field errors).

    Password fields are never sent back (deform's password widgets do not redisplay).
    """
    try:
        return form.validate(request.POST.items()), None
    except deform.ValidationFailure as failure:
        return None, failure.render()


def form_page(request, form_html, title, back_url, **extra):
    return {
        "form": form_html,
        "title": title,
        "back_url": back_url,
        "active_nav": "accounts",
        **extra,
    }


# -- lookups -----------------------------------------------------------------------------
def home_unit(request, account):
    return request.root_site.unit_by_code(account.org)


def grant_rows(request, account) -> list[dict]:
    """The account's grants with their units, and whether the caller may revoke each."""
    rows = []
    may_change = account.login != request.identity.login
    for role, code in account.grants:
        unit = request.root_site.unit_by_code(code)
        rows.append(
            {
                "role": role,
                "code": code,
                "unit": unit,
                "can_revoke": may_change
                and (
                    request.has_permission(
                        Permission.ROLE_GRANT, unit if unit is not None else account
                    )
                ),
            }
        )
    return rows


def list_url(request, account):
    """The highest accounts list showing this account that the caller may open, if any."""
    unit = home_unit(request, account)
    if unit is None or not request.has_permission(Permission.ACCOUNT_VIEW, unit):
        return None
    while unit.parent_unit is not None and request.has_permission(
        Permission.ACCOUNT_VIEW, unit.parent_unit
    ):
        unit = unit.parent_unit
    return request.resource_url(unit, "accounts")


# -- the accounts of a subtree -----------------------------------------------------------
@view_config(
    context=OrgUnit,
    name="accounts",
    renderer="portal:templates/account_list.pt",
    permission=Permission.ACCOUNT_VIEW,
)
def account_list(request):
    unit = request.context
    site = request.root_site
    search, errors = parse_query(
        AccountSearchSchema(),
        {k: request.GET.get(k, "") for k in ("q", "status")},
        request.localizer.translate,
    )
    needle = search["q"].lower()
    locked = lockouts(request.dbsession) if search["status"] == "locked" else None
    now = models.utcnow()

    paths: dict[str, str | None] = {}  # unit code -> path, computed once per unit
    matches = []
    for account in site["accounts"].values():
        if account.org not in paths:
            home = site.unit_by_code(account.org)
            paths[account.org] = home.path if home is not None else None
        path = paths[account.org]
        if path is None or not path.startswith(unit.path):
            continue
        if needle and needle not in account.login and needle not in account.name.lower():
            continue
        if search["status"] == "active" and not account.active:
            continue
        if search["status"] == "inactive" and account.active:
            continue
        if locked is not None and not is_locked(locked.get(account.login), now):
            continue
        matches.append(account)

    pager = Pager(request, page_number(request), len(matches))
    shown = matches[pager.offset : pager.offset + pager.size]
    throttles = lockouts(request.dbsession, [a.login for a in shown]) if shown else {}
    rows = [
        {
            "account": account,
            "home": site.unit_by_code(account.org),
            "locked": is_locked(throttles.get(account.login), now),
        }
        for account in shown
    ]
    return {
        "unit": unit,
        "rows": rows,
        "pager": pager,
        "search": {"q": request.GET.get("q", ""), "status": search["status"]},
        "errors": errors,
        "can_add": request.has_permission(Permission.ACCOUNT_EDIT, unit),
        "active_nav": "accounts",
    }


@view_config(
    context=OrgUnit,
    name="add-account",
    renderer="portal:templates/account_form.pt",
    permission=Permission.ACCOUNT_EDIT,
)
def account_add(request):
    unit = request.context
    form = make_form(
        request, AccountAddSchema, [button("save", _("create_account", default="Create account"))]
    )
    title = _("add_account_title", default="New account in ${unit}", mapping={"unit": unit.name})
    back_url = request.resource_url(unit, "accounts")
    if request.method != "POST":
        return form_page(request, form.render(), title, back_url)
    values, html = validate(form, request)
    if values is None:
        return form_page(request, html, title, back_url)
    site = request.root_site
    account = create_account(
        site, values["login"], values["name"], values["org"], values["password"]
    )
    audit.record(
        request,
        "account.create",
        target=account.login,
        unit=site.unit_by_code(account.org),
        detail={"name": account.name, "org": account.org},
    )
    flash(
        request,
        _(
            "account_created",
            default="Account ${login} created. A security administrator can now grant it roles.",
            mapping={"login": account.login},
        ),
    )
    return HTTPSeeOther(request.resource_url(account))


# -- one account -------------------------------------------------------------------------
@view_config(
    context=Account, renderer="portal:templates/account_view.pt", permission=Permission.ACCOUNT_VIEW
)
def account_view(request):
    account = request.context
    throttle = request.dbsession.get(models.LoginThrottle, account.login)
    sessions = request.dbsession.scalar(
        select(func.count())
        .select_from(models.AuthSession)
        .where(models.AuthSession.login == account.login)
    )
    return {
        "account": account,
        "home": home_unit(request, account),
        "grants": grant_rows(request, account),
        "throttle": throttle,
        "locked": is_locked(throttle),
        "sessions": sessions,
        "created": local_time(account.created),
        "locked_until": local_time(throttle.locked_until) if throttle else None,
        "is_self": account.login == request.identity.login,
        "can_edit": request.has_permission(Permission.ACCOUNT_EDIT, account),
        "can_grant": request.has_permission(Permission.ROLE_GRANT, account),
        "two_factor": two_factor.enrolled(account),
        "two_factor_required": two_factor.required(account),
        "list_url": list_url(request, account),
        "active_nav": "accounts",
    }


@view_config(
    context=Account,
    name="edit",
    renderer="portal:templates/account_form.pt",
    permission=Permission.ACCOUNT_EDIT,
)
def account_edit(request):
    account = request.context
    form = make_form(
        request, AccountEditSchema, [button("save", _("save", default="Save"))], account=account
    )
    title = _(
        "edit_account_title", default="Edit account ${login}", mapping={"login": account.login}
    )
    back_url = request.resource_url(account)
    if request.method != "POST":
        return form_page(
            request, form.render({"name": account.name, "active": account.active}), title, back_url
        )
    values, html = validate(form, request)
    if values is None:
        return form_page(request, html, title, back_url)
    changes = {
        key: [getattr(account, key), values[key]]
        for key in ("name", "active")
        if key in values and getattr(account, key) != values[key]
    }
    if not changes:
        flash(request, _("nothing_changed", default="Nothing was changed."))
        return HTTPSeeOther(back_url)
    for key, (_old, new) in changes.items():
        setattr(account, key, new)
    detail = {"changes": changes}
    if "active" in changes and not account.active:
        detail["sessions_ended"] = end_sessions(request.dbsession, account.login)
    audit.record(
        request,
        "account.update",
        target=account.login,
        unit=home_unit(request, account),
        detail=detail,
    )
    flash(
        request,
        _("account_saved", default="Account ${login} saved.", mapping={"login": account.login}),
    )
    return HTTPSeeOther(back_url)


@view_config(
    context=Account,
    name="reset-password",
    renderer="portal:templates/account_form.pt",
    permission=Permission.ACCOUNT_EDIT,
)
def account_reset_password(request):
    account = request.context
    if account.login == request.identity.login:
        # Your own password needs the current one: that is the change-password page.
        return HTTPSeeOther(request.resource_url(request.root_site, "password"))
    form = make_form(
        request,
        PasswordResetSchema,
        [button("save", _("set_password", default="Set password"))],
        account=account,
    )
    title = _(
        "reset_password_title",
        default="New password for ${login}",
        mapping={"login": account.login},
    )
    back_url = request.resource_url(account)
    intro = _(
        "reset_password_intro",
        default="The person's open sessions and API tokens "
        "end; tell them the new password by a safe channel.",
    )
    if request.method != "POST":
        return form_page(request, form.render(), title, back_url, intro=intro)
    values, html = validate(form, request)
    if values is None:
        return form_page(request, html, title, back_url, intro=intro)
    set_password(account, values["password"], password_policy(request.registry).history)
    ended = end_sessions(request.dbsession, account.login)
    audit.record(
        request,
        "account.password",
        target=account.login,
        unit=home_unit(request, account),
        detail={"by": "admin", "sessions_ended": ended},
    )
    flash(
        request,
        _(
            "password_set",
            default="New password set for ${login}.",
            mapping={"login": account.login},
        ),
    )
    return HTTPSeeOther(back_url)


@view_config(
    context=Account, name="unlock", request_method="POST", permission=Permission.ACCOUNT_EDIT
)
def account_unlock(request):
    account = request.context
    row = unlock(request.dbsession, account.login)
    if row is not None:
        audit.record(
            request,
            "account.unlock",
            target=account.login,
            unit=home_unit(request, account),
            detail={
                "failures": row.failures,
                "locked_until": row.locked_until.isoformat() if row.locked_until else None,
            },
        )
        flash(
            request,
            _(
                "account_unlocked",
                default="Account ${login} unlocked.",
                mapping={"login": account.login},
            ),
        )
    return HTTPSeeOther(request.resource_url(account))


# -- roles -------------------------------------------------------------------------------
@view_config(
    context=Account,
    name="roles",
    renderer="portal:templates/account_roles.pt",
    permission=Permission.ROLE_GRANT,
)
def account_roles(request):
    account = request.context
    is_self = account.login == request.identity.login
    form = make_form(
        request,
        GrantRoleSchema,
        [button("grant", _("grant_role", default="Grant role"))],
        formid="grant-form",
        account=account,
    )
    if request.method != "POST":
        form_html = None if is_self else form.render()
    elif is_self:
        # Nobody changes their own roles: that needs a second security administrator.
        raise HTTPForbidden()
    elif "revoke" in request.POST:
        return _revoke(request, account)
    else:
        values, form_html = validate(form, request)
        if values is not None:
            unit = request.root_site.unit_by_code(values["org"])
            grant_role(account, values["role"], unit)
            audit.record(
                request,
                "role.grant",
                target=account.login,
                unit=unit,
                detail={"role": values["role"], "org": unit.code, "home": account.org},
            )
            flash(request, _("role_granted", default="Role granted."))
            return HTTPSeeOther(request.resource_url(account, "roles"))
    return {
        "account": account,
        "home": home_unit(request, account),
        "grants": grant_rows(request, account),
        "form": form_html,
        "is_self": is_self,
        "active_nav": "accounts",
    }


def _revoke(request, account):
    try:
        values = RevokeRoleSchema().deserialize(request.POST.mixed())
    except colander.Invalid as e:
        raise HTTPBadRequest() from e
    role, code = values["role"], values["org"]
    if (role, code) not in account.grants:
        flash(request, _("role_not_held", default="The account does not hold that role."))
        # Already gone (a second click, another administrator): nothing to do.
        return HTTPSeeOther(request.resource_url(account, "roles"))
    unit = request.root_site.unit_by_code(code)
    if unit is None:
        account.grants.remove((role, code))  # its unit is gone: only the index remains
    else:
        if not request.has_permission(Permission.ROLE_GRANT, unit):
            raise HTTPForbidden()
        revoke_role(account, role, unit)
    audit.record(
        request,
        "role.revoke",
        target=account.login,
        unit=unit,
        detail={"role": role, "org": code, "home": account.org},
    )
    flash(request, _("role_revoked", default="Role revoked."))
    return HTTPSeeOther(request.resource_url(account, "roles"))


# -- one's own password ------------------------------------------------------------------
@view_config(
    context=Site,
    name="password",
    renderer="portal:templates/password.pt",
    permission=Permission.HOME,
)
def password_change(request):
    identity = request.identity
    form = make_form(
        request,
        PasswordChangeSchema,
        [button("change", _("change_password", default="Change password"))],
        formid="password-form",
    )
    policy = password_policy(request.registry)
    page = {"active_nav": "", "expired": password_expired(identity.account, policy)}
    if request.method != "POST":
        return {**page, "form": form.render()}
    values, html = validate(form, request)
    if values is None:
        return {**page, "form": html}
    account = identity.account
    # Checked like a login, so a borrowed session cannot guess the password unthrottled
    # (the second factor is not asked for: the session has given it).
    checked = authenticate(request, identity.login, values["old_password"])
    if checked.status not in ("ok", "otp_required"):
        audit.record(
            request,
            "account.password",
            "failure",
            target=identity.login,
            unit=home_unit(request, account),
            detail={"by": "self", "reason": "wrong_current_password"},
        )
        error = colander.Invalid(form.schema)
        error["old_password"] = _(
            "current_password_wrong", default="This is not your current password."
        )
        form.widget.handle_error(form, error)
        return {**page, "form": form.render()}
    set_password(account, values["new_password"], policy.history)
    ended = end_sessions(request.dbsession, identity.login)
    audit.record(
        request,
        "account.password",
        target=identity.login,
        unit=home_unit(request, account),
        detail={"by": "self", "sessions_ended": ended},
    )
    # Every session ended, this one too; the browser continues in a fresh one.
    headers = remember(request, identity.login)
    flash(
        request,
        _(
            "password_changed",
            default="Your password was changed. Other sessions and API tokens were ended.",
        ),
    )
    return HTTPSeeOther(request.resource_url(request.root_site, "password"), headers=headers)
