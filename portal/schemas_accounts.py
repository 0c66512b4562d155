"""Colander schemas for the account, role, password and audit-log pages.

The POST forms are rendered by deform and carry the session's CSRF token in a hidden field
(Pyramid checks it before any view runs). The list and audit filters are plain GET forms,
validated here so that a bad value is reported at its field like any other.

Every message is a portal translation string, worded for these pages (colander's own
messages are generic). Bind with `schema.bind(request=..., context=..., account=...)`.
"""

import colander
import deform.widget

from portal.i18n import _
from portal.schema_base import NOT_LISTED, CSRFSchema, LocalDate, Node
from portal.schema_base import strip as _strip
from portal.security import Permission, Role
from portal.services.accounts import (
    can_grant,
    password_policy,
    password_problems,
    password_reused,
    reused_message,
    valid_login,
)
from portal.vocab import role_title

TOO_LONG = _("too_long", default="At most ${max} characters.")
ADMIN_ROLES = frozenset({Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR})
OUTCOMES = ("success", "failure", "denied")
ACCOUNT_STATUSES = ("active", "inactive", "locked")


def _login(value):
    return value.strip().lower() if isinstance(value, str) else value


# -- building blocks ---------------------------------------------------------------------
def password_widget():
    return deform.widget.CheckedPasswordWidget(
        redisplay=False,
        mismatch_message=_("password_mismatch", default="The two passwords differ."),
        attributes={"autocomplete": "new-password"},
        confirm_attributes={"autocomplete": "new-password"},
    )


def policy_validator(login: str, account=None, history: int = 0):
    """The password policy as a field validator; lists every problem at once. With
    `account`, a password among its last `history` ones is refused too."""

    def validate(node, value):
        problems = password_problems(value, login)
        if not problems and account is not None and password_reused(account, value, history):
            problems.append(reused_message(history))
        if problems:
            raise colander.Invalid(node, problems)

    return validate


def new_password_node(name: str, title, validator=None):
    return Node(
        colander.String(),
        name=name,
        title=title,
        description=_(
            "password_policy_hint",
            default="At least 12 characters, with 3 of: lower-case letters, upper-case "
            "letters, digits, symbols; not containing the login name.",
        ),
        widget=password_widget(),
        validator=validator,
    )


def _history(kw) -> int:
    return password_policy(kw["request"].registry).history


@colander.deferred
def deferred_reset_validator(node, kw):
    return policy_validator(kw["account"].login, kw["account"], _history(kw))


@colander.deferred
def deferred_own_password_validator(node, kw):
    identity = kw["request"].identity
    return policy_validator(identity.login, identity.account, _history(kw))


# -- add an account ----------------------------------------------------------------------
def person_name_node():
    return Node(
        colander.String(),
        title=_("person_name", default="Full name"),
        preparer=_strip,
        validator=colander.Length(max=64, max_err=TOO_LONG),
        widget=deform.widget.TextInputWidget(attributes={"maxlength": "64"}),
    )


@colander.deferred
def deferred_login_validator(node, kw):
    accounts = kw["request"].root_site["accounts"]

    def validate(node, value):
        if not valid_login(value):
            raise colander.Invalid(
                node,
                _(
                    "login_invalid",
                    default="Login: 2–32 lower-case letters, digits, '.', '_' "
                    "or '-', starting with a letter.",
                ),
            )
        if value in accounts:
            raise colander.Invalid(node, _("login_taken", default="This login is already taken."))

    return validate


@colander.deferred
def deferred_context_code(node, kw):
    return kw["context"].code


@colander.deferred
def deferred_home_unit_validator(node, kw):
    request, context = kw["request"], kw["context"]

    def validate(node, code):
        unit = request.root_site.unit_by_code(code)
        if (
            unit is None
            or not unit.path.startswith(context.path)
            or not request.has_permission(Permission.ACCOUNT_EDIT, unit)
        ):
            raise colander.Invalid(
                node,
                _(
                    "account_unit_outside",
                    default="Enter the code of this unit or of a unit below it.",
                ),
            )
        if not unit.active:
            raise colander.Invalid(
                node, _("unit_not_active", default="This unit is no longer active.")
            )

    return validate


def _password_not_login(form, value):
    """The login is a sibling field, so this part of the policy is checked on the mapping."""
    problems = password_problems(value["password"], value["login"])
    if problems:
        error = colander.Invalid(form)
        error["password"] = problems
        raise error


class AccountAddSchema(CSRFSchema):
    login = Node(
        colander.String(),
        title=_("login_name", default="Login name"),
        description=_(
            "login_hint",
            default="Lower-case letters, digits, '.', '_' or '-'; it cannot be changed later.",
        ),
        preparer=_login,
        validator=deferred_login_validator,
        widget=deform.widget.TextInputWidget(attributes={"autocomplete": "off", "maxlength": "32"}),
    )
    name = person_name_node()
    org = Node(
        colander.String(),
        title=_("home_unit_code", default="Home unit (code)"),
        description=_(
            "home_unit_hint",
            default="This unit's code or the code of a unit below "
            "it. Permissions on the account follow its home unit.",
        ),
        preparer=_strip,
        default=deferred_context_code,
        validator=deferred_home_unit_validator,
    )
    password = new_password_node(
        "password",
        _("initial_password", default="Initial password"),
        validator=policy_validator(""),
    )

    validator = staticmethod(_password_not_login)


# -- edit an account ---------------------------------------------------------------------
class AccountEditSchema(CSRFSchema):
    name = person_name_node()
    active = Node(
        colander.Boolean(),
        title=_("status", default="Status"),
        label=_("account_active_label", default="Active (may log in)"),
        description=_(
            "account_active_hint",
            default="Deactivating ends the person's sessions and API tokens at once.",
        ),
        widget=deform.widget.CheckboxWidget(),
        missing=False,
    )

    def after_bind(self, node, kw):
        # Nobody deactivates their own account (and so locks themselves out): the field is
        # not offered, and a forged value for it is ignored.
        if kw["account"].login == kw["request"].identity.login:
            del self["active"]


# -- passwords ---------------------------------------------------------------------------
class PasswordResetSchema(CSRFSchema):
    password = new_password_node(
        "password", _("new_password", default="New password"), validator=deferred_reset_validator
    )


def _new_differs_from_old(form, value):
    if value["new_password"] == value["old_password"]:
        error = colander.Invalid(form)
        error["new_password"] = _(
            "password_unchanged", default="Choose a password different from the current one."
        )
        raise error


class PasswordChangeSchema(CSRFSchema):
    old_password = Node(
        colander.String(),
        title=_("current_password", default="Current password"),
        widget=deform.widget.PasswordWidget(attributes={"autocomplete": "current-password"}),
    )
    new_password = new_password_node(
        "new_password",
        _("new_password", default="New password"),
        validator=deferred_own_password_validator,
    )

    validator = staticmethod(_new_differs_from_old)


# -- roles -------------------------------------------------------------------------------
@colander.deferred
def deferred_grant_unit_validator(node, kw):
    request = kw["request"]

    def validate(node, code):
        unit = request.root_site.unit_by_code(code)
        if unit is None:
            raise colander.Invalid(node, _("unknown_unit", default="No such organisation unit."))
        if not request.has_permission(Permission.ROLE_GRANT, unit):
            raise colander.Invalid(
                node, _("no_grant_here", default="You may not grant roles at this unit.")
            )
        if not unit.active:
            raise colander.Invalid(
                node, _("unit_not_active", default="This unit is no longer active.")
            )

    return validate


@colander.deferred
def deferred_grant_validator(node, kw):
    request, account = kw["request"], kw["account"]

    def validate(form, value):
        role, unit = value["role"], request.root_site.unit_by_code(value["org"])
        error = colander.Invalid(form)
        if not can_grant(role, unit):
            error["org"] = _("role_not_here", default="This role cannot be granted at this unit.")
        elif (role, unit.code) in account.grants:
            error["role"] = _(
                "role_already_held", default="The account already holds this role at this unit."
            )
        # 三员分立: one person is never two of the system, security and audit admins.
        elif role in ADMIN_ROLES and any(
            held in ADMIN_ROLES and held != role for held, _code in account.grants
        ):
            error["role"] = _(
                "admin_roles_exclusive",
                default="An account may hold only one "
                "of the system, security and audit administrator roles.",
            )
        if error.children:
            raise error

    return validate


@colander.deferred
def deferred_account_home(node, kw):
    return kw["account"].org


class GrantRoleSchema(CSRFSchema):
    role = Node(
        colander.String(),
        title=_("role", default="Role"),
        widget=deform.widget.SelectWidget(
            values=[
                ("", _("choose_role", default="Choose a role…")),
                *((role.value, role_title(role.value)) for role in Role),
            ]
        ),
        validator=colander.OneOf([r.value for r in Role], msg_err=NOT_LISTED),
    )
    org = Node(
        colander.String(),
        title=_("unit_code", default="Unit code"),
        default=deferred_account_home,
        description=_(
            "grant_unit_hint", default="The role holds at this unit and every unit below it."
        ),
        preparer=_strip,
        validator=deferred_grant_unit_validator,
    )
    validator = deferred_grant_validator


class RevokeRoleSchema(CSRFSchema):
    """A revoke button's hidden fields: which grant to remove."""

    role = Node(colander.String())
    org = Node(colander.String())


# -- GET filters -------------------------------------------------------------------------
def parse_query(schema, raw: dict, translate) -> tuple[dict, dict]:
    """(values, errors by field) for a filter form: a bad field is reported and left out,
    the good ones still apply."""
    try:
        return schema.deserialize(raw), {}
    except colander.Invalid as e:
        errors = e.asdict(translate=translate)
    try:
        values = schema.deserialize({k: v for k, v in raw.items() if k not in errors})
    except colander.Invalid:  # only a cross-field check can still fail
        values = schema.deserialize({})
    return values, errors


class AccountSearchSchema(colander.MappingSchema):
    q = Node(
        colander.String(),
        preparer=_strip,
        missing="",
        validator=colander.Length(max=64, max_err=TOO_LONG),
    )
    status = Node(
        colander.String(),
        missing="",
        validator=colander.OneOf(("",) + ACCOUNT_STATUSES, msg_err=NOT_LISTED),
    )


@colander.deferred
def deferred_event_validator(node, kw):
    return colander.OneOf([""] + list(kw["events"]), msg_err=NOT_LISTED)


def _dates_in_order(form, value):
    if value["date_from"] and value["date_to"] and value["date_from"] > value["date_to"]:
        error = colander.Invalid(form)
        error["date_to"] = _(
            "date_range_reversed", default="The end date is before the start date."
        )
        raise error


class AuditFilterSchema(colander.MappingSchema):
    date_from = Node(LocalDate(), missing=None)
    date_to = Node(LocalDate(), missing=None)
    event = Node(colander.String(), missing="", validator=deferred_event_validator)
    actor = Node(
        colander.String(),
        missing="",
        preparer=_login,
        validator=colander.Length(max=64, max_err=TOO_LONG),
    )
    outcome = Node(
        colander.String(),
        missing="",
        validator=colander.OneOf(("",) + OUTCOMES, msg_err=NOT_LISTED),
    )
    target = Node(
        colander.String(),
        missing="",
        preparer=_strip,
        validator=colander.Length(max=255, max_err=TOO_LONG),
    )

    validator = staticmethod(_dates_in_order)
