"""One security policy: who the caller is (session or bearer token) and what they may do.

Roles are granted at an org unit and hold for its whole subtree (local roles, collected by
walking the lineage). The site ACL maps role principals to permissions and ends in
DENY_ALL, so anything not granted is refused.
"""

import datetime as dt
import hashlib
import os
import secrets
from dataclasses import dataclass, field
from enum import StrEnum

from pyramid.authorization import DENY_ALL, ACLHelper, Allow, Authenticated, Everyone
from pyramid.csrf import SessionCSRFStoragePolicy, new_csrf_token
from pyramid.interfaces import ISecurityPolicy
from pyramid.session import SignedCookieSessionFactory
from pyramid.traversal import lineage
from sqlalchemy import bindparam, null, select, update
from zope.interface import implementer

from portal import models


def _lookup_and_touch(table, expires) -> tuple:
    """Statements that read a row of `table` (api_tokens, auth_sessions) by its key, as
    (login, last_seen, expires), and record its use. Core, not the ORM: every request runs
    them, and the ORM's identity map and unit of work would cost more than the queries."""
    key = table.primary_key.columns[0]
    return (
        select(table.c.login, table.c.last_seen, expires.label("expires")).where(
            key == bindparam("key")
        ),
        update(table).where(key == bindparam("key")).values(last_seen=bindparam("last_seen")),
    )


_TOKEN_SQL = _lookup_and_touch(models.ApiToken.__table__, models.ApiToken.__table__.c.expires)
# Sessions do not expire; they lapse when idle.
_SESSION_SQL = _lookup_and_touch(models.AuthSession.__table__, null())
# The last use of a session or token is recorded at most this often (the idle timeout
# counts from it, so it may lapse up to this much early).
TOUCH_EVERY = dt.timedelta(minutes=1)


class Permission(StrEnum):
    HOME = "portal:home"
    ORG_VIEW = "org:view"
    ORG_EDIT = "org:edit"
    ACCOUNT_VIEW = "account:view"
    ACCOUNT_EDIT = "account:edit"
    ROLE_GRANT = "role:grant"
    AUDIT_VIEW = "audit:view"
    FORM_VIEW = "form:view"
    FORM_EDIT = "form:edit"
    SUBMISSION_CREATE = "submission:create"
    SUBMISSION_VIEW = "submission:view"
    # Unmasked personal fields (ID numbers, phones, names) of a unit's submissions.
    SUBMISSION_PII = "submission:pii"
    # Statistical reports of a unit's subtree (aggregates: no record, no personal field).
    REPORT_VIEW = "report:view"
    # Report definitions: indicators, columns, headers.
    REPORT_EDIT = "report:edit"
    # Reference figures (population denominators) of a unit's subtree: reading them, and
    # entering, importing or deleting them.
    REFERENCE_VIEW = "reference:view"
    REFERENCE_EDIT = "reference:edit"
    # Review up the tree: approve, return or reopen a record, and open queries on it, at the
    # levels of its chain where one holds a manager's role (workflows decide which).
    SUBMISSION_APPROVE = "submission:approve"
    # Change a record's values: survey staff, while the workflow leaves it open to them.
    SUBMISSION_EDIT = "submission:edit"
    # Two-way referrals: reading those a unit sent, sending them, and (a hospital's desk)
    # handling those sent to the hospital: accepting, rejecting, referring back.
    REFERRAL_VIEW = "referral:view"
    REFERRAL_SEND = "referral:send"
    REFERRAL_HANDLE = "referral:handle"
    # Approve (and un-approve) a whole form, period and subtree once its records are final.
    PERIOD_APPROVE = "period:approve"


class Refused(Exception):
    """The caller may not do this with this record (HTTP 403): `reason` for the API's
    answer, `unit` for the audit row of the refusal. Raised by the services."""

    def __init__(self, reason: str, unit=None):
        super().__init__(reason)
        self.reason = reason
        self.unit = unit


class Role(StrEnum):
    SYSADMIN = "sysadmin"
    SECADMIN = "secadmin"
    AUDITOR = "auditor"
    CITY_MANAGER = "city_manager"
    DISTRICT_MANAGER = "district_manager"
    CENTRE_MANAGER = "centre_manager"
    CENTRE_STAFF = "centre_staff"
    STATION_STAFF = "station_staff"
    REFERRAL_DESK = "referral_desk"


P = Permission
# The three administrators are kept apart (系统管理员 / 安全管理员 / 审计管理员): the system
# admin configures but grants no roles and reads no audit log; the security admin grants
# roles; the audit admin only reads the audit log (not submissions).
# Submissions: survey staff fill them in and see their units' personal fields; managers
# read them with the personal fields masked.
ROLE_PERMISSIONS: dict[Role, tuple[Permission, ...]] = {
    Role.SYSADMIN: (
        P.ORG_VIEW,
        P.ORG_EDIT,
        P.ACCOUNT_VIEW,
        P.ACCOUNT_EDIT,
        P.FORM_VIEW,
        P.FORM_EDIT,
        P.REPORT_VIEW,
        P.REPORT_EDIT,
        P.REFERENCE_VIEW,
        P.REFERENCE_EDIT,
    ),
    Role.SECADMIN: (P.ORG_VIEW, P.ACCOUNT_VIEW, P.ROLE_GRANT, P.FORM_VIEW),
    Role.AUDITOR: (P.ORG_VIEW, P.AUDIT_VIEW, P.FORM_VIEW),
    Role.CITY_MANAGER: (
        P.ORG_VIEW,
        P.FORM_VIEW,
        P.SUBMISSION_VIEW,
        P.SUBMISSION_APPROVE,
        P.PERIOD_APPROVE,
        P.REFERRAL_VIEW,
        P.REPORT_VIEW,
        P.REFERENCE_VIEW,
    ),
    Role.DISTRICT_MANAGER: (
        P.ORG_VIEW,
        P.FORM_VIEW,
        P.SUBMISSION_VIEW,
        P.SUBMISSION_APPROVE,
        P.PERIOD_APPROVE,
        P.REFERRAL_VIEW,
        P.REPORT_VIEW,
        P.REFERENCE_VIEW,
    ),
    # 中心负责人: reviews the records of the centre and its stations.
    Role.CENTRE_MANAGER: (
        P.ORG_VIEW,
        P.FORM_VIEW,
        P.SUBMISSION_VIEW,
        P.SUBMISSION_APPROVE,
        P.REFERRAL_VIEW,
        P.REPORT_VIEW,
        P.REFERENCE_VIEW,
    ),
    Role.CENTRE_STAFF: (
        P.ORG_VIEW,
        P.FORM_VIEW,
        P.SUBMISSION_CREATE,
        P.SUBMISSION_VIEW,
        P.SUBMISSION_PII,
        P.REFERRAL_VIEW,
        P.REFERRAL_SEND,
    ),
    Role.STATION_STAFF: (
        P.ORG_VIEW,
        P.FORM_VIEW,
        P.SUBMISSION_CREATE,
        P.SUBMISSION_VIEW,
        P.SUBMISSION_PII,
        P.REFERRAL_VIEW,
        P.REFERRAL_SEND,
    ),
    # A hospital's referral desk: the referrals sent to its hospital, and nothing else of
    # the community's records.
    Role.REFERRAL_DESK: (P.ORG_VIEW, P.FORM_VIEW, P.REFERRAL_HANDLE),
}

# Where each role may be granted (None: any unit).
ROLE_UNIT_TYPES: dict[Role, tuple[str, ...] | None] = {
    Role.SYSADMIN: None,
    Role.SECADMIN: None,
    Role.AUDITOR: None,
    Role.CITY_MANAGER: ("city",),
    Role.DISTRICT_MANAGER: ("district",),
    Role.CENTRE_MANAGER: ("centre",),
    Role.CENTRE_STAFF: ("centre",),
    Role.STATION_STAFF: ("station",),
    Role.REFERRAL_DESK: ("hospital",),
}


# Held by whoever has a role at any unit. Form definitions are configuration for the whole
# tree, read wherever they are filled in or reported on, so reading them needs a role
# somewhere rather than at one unit.
ROLE_HOLDER = "portal:role-holder"


# The review level at which each manager's role reviews: the type of the unit it is granted
# at (a review chain names levels by unit type).
REVIEWER_ROLES: dict[str, str] = {
    Role.CENTRE_MANAGER: "centre",
    Role.DISTRICT_MANAGER: "district",
    Role.CITY_MANAGER: "city",
}


def role_principal(role: str) -> str:
    return f"role:{role}"


def site_acl() -> list:
    acl = [(Allow, Authenticated, P.HOME)]
    for role, permissions in ROLE_PERMISSIONS.items():
        acl.append((Allow, role_principal(role), permissions))
    acl.append(DENY_ALL)
    return acl


def forms_acl() -> list:
    """The form definitions: everyone with a role reads them; editing follows the roles held
    at the top of the tree (the forms' org scope)."""
    return [(Allow, ROLE_HOLDER, P.FORM_VIEW), *site_acl()]


def submission_acl(locked: bool) -> list:
    """One record's ACL: its unit's roles, and SUBMISSION_EDIT for those who fill records in
    while the record is not locked by an approval (see portal.resources.SubmissionResource)."""
    acl = []
    for role, permissions in ROLE_PERMISSIONS.items():
        granted = list(permissions)
        if P.SUBMISSION_CREATE in permissions and not locked:
            granted.append(P.SUBMISSION_EDIT)
        acl.append((Allow, role_principal(role), tuple(granted)))
    acl.append(DENY_ALL)
    return acl


def reports_acl() -> list:
    """The report definitions and indicators: the permissions of the roles held at the top
    of the tree (the reports' org scope), like the forms'."""
    return site_acl()


@dataclass
class Identity:
    login: str
    name: str
    account: object
    via: str  # "session" or "token"
    _roles_cache: dict = field(default_factory=dict, repr=False)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret_token() -> str:
    return secrets.token_urlsafe(32)


def local_roles(identity: Identity, context) -> frozenset[str]:
    """Roles the identity holds at context: those granted on the context's org unit or above."""
    scope = getattr(context, "org_scope", None)
    unit = scope() if scope is not None else None
    if unit is None:
        return frozenset()
    key = unit._p_oid or id(unit)
    cached = identity._roles_cache.get(key)
    if cached is None:
        roles: set[str] = set()
        for node in lineage(unit):
            granted = getattr(node, "local_roles", None)
            if granted is not None:
                roles.update(granted.get(identity.login, ()))
        cached = identity._roles_cache[key] = frozenset(roles)
    return cached


@implementer(ISecurityPolicy)
class PortalSecurityPolicy:
    """Identity from a bearer token (API) or from the login session (browser)."""

    def __init__(self, idle_minutes: int = 30, token_hours: int = 12):
        self.idle = dt.timedelta(minutes=idle_minutes)
        self.token_lifetime = dt.timedelta(hours=token_hours)
        self.acl = ACLHelper()

    # -- identity ------------------------------------------------------------------------
    def identity(self, request):
        # Cached on the request: looked up once, whatever asks.
        if "portal.identity" not in request.environ:
            request.environ["portal.identity"] = self._load_identity(request)
        return request.environ["portal.identity"]

    def _load_identity(self, request):
        bearer = bearer_token(request)
        if bearer is not None:
            statements, key, via = _TOKEN_SQL, hash_token(bearer), "token"
        else:
            statements, key, via = _SESSION_SQL, request.session.get("auth"), "session"
            if not key:
                return None
        login = self._live_login(request, statements, key)
        return None if login is None else self._identity_for(request, login, via)

    def _live_login(self, request, statements, key: str) -> str | None:
        """The login of the token or session `key` unless it has expired or been idle too
        long; its last use is recorded (in the request's transaction) at most once a
        minute."""
        lookup, touch = statements
        row = request.dbsession.execute(lookup, {"key": key}).first()
        now = models.utcnow()
        if row is None or row.last_seen + self.idle <= now:
            return None
        if row.expires is not None and row.expires <= now:
            return None
        if now - row.last_seen > TOUCH_EVERY:
            models.write(request, touch, {"key": key, "last_seen": now})
        return row.login

    @staticmethod
    def _identity_for(request, login, via):
        account = request.zodb.root()["site"]["accounts"].get(login)
        if account is None or not account.active:
            return None
        return Identity(login=login, name=account.name, account=account, via=via)

    def authenticated_userid(self, request):
        identity = self.identity(request)
        return identity.login if identity else None

    # -- authorization -------------------------------------------------------------------
    def effective_principals(self, request, context) -> list[str]:
        principals = [Everyone]
        identity = self.identity(request)
        if identity is not None:
            principals += [Authenticated, f"user:{identity.login}"]
            if identity.account.grants:
                principals.append(ROLE_HOLDER)
            principals += [role_principal(r) for r in sorted(local_roles(identity, context))]
        return principals

    def permits(self, request, context, permission):
        return self.acl.permits(context, self.effective_principals(request, context), permission)

    # -- login / logout ------------------------------------------------------------------
    def remember(self, request, userid, **kw):
        """Start a fresh session: new cookie session, new CSRF token, new server-side row."""
        request.session.invalidate()
        session_id = new_secret_token()
        request.dbsession.add(
            models.AuthSession(id=session_id, login=userid, ip=request.client_addr)
        )
        request.session["auth"] = session_id
        new_csrf_token(request)
        request.environ.pop("portal.identity", None)
        return []

    def forget(self, request, **kw):
        session_id = request.session.get("auth")
        if session_id:
            row = request.dbsession.get(models.AuthSession, session_id)
            if row is not None:
                request.dbsession.delete(row)
        request.session.invalidate()
        request.environ.pop("portal.identity", None)
        return []


def bearer_token(request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def issue_api_token(request, login: str, lifetime: dt.timedelta) -> str:
    token = new_secret_token()
    request.dbsession.add(
        models.ApiToken(
            token_hash=hash_token(token), login=login, expires=models.utcnow() + lifetime
        )
    )
    return token


def csrf_applies(request) -> bool:
    """Bearer-token requests carry no ambient credentials, so CSRF does not apply to them."""
    return bearer_token(request) is None


def load_secret(settings: dict) -> str:
    """The signing secret: from settings, or a file generated on first start."""
    if settings.get("portal.secret"):
        return settings["portal.secret"]
    path = settings.get("portal.secret_file")
    if not path:
        raise ValueError("set portal.secret or portal.secret_file")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    with open(path) as f:
        return f.read().strip()


def includeme(config):
    from pyramid.settings import asbool

    settings = config.get_settings()
    idle = int(settings.get("portal.session_idle_minutes", 30))
    config.set_session_factory(
        SignedCookieSessionFactory(
            load_secret(settings),
            cookie_name="portal_session",
            secure=asbool(settings.get("portal.cookie_secure", False)),
            httponly=True,
            samesite="Lax",
            timeout=idle * 60,
            reissue_time=60,
        )
    )
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy())
    config.set_default_csrf_options(require_csrf=True, callback=csrf_applies)
    config.set_security_policy(PortalSecurityPolicy(idle_minutes=idle))
    config.set_default_permission(Permission.HOME)
