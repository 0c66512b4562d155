"""Accounts: password hashing and policy, authentication with lockout, and role grants."""

import datetime as dt
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from portal import audit, models
from portal.i18n import _
from portal.resources import Account
from portal.security import ROLE_UNIT_TYPES, Role
from portal.services import two_factor

MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
LOGIN_RE = re.compile(r"^[a-z][a-z0-9_.-]{1,31}$")

# argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane): ~75 ms on one
# core here. The library's default (64 MiB, 3 passes, 4 lanes) took ~0.5 s on our 2-core
# servers, which turns a burst of logins into a queue. Stored hashes carry their own
# parameters, and logins rehash any hash made with other ones.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# Verified against when the login is unknown, so timing does not reveal which logins exist.
_DUMMY_HASH = _hasher.hash("not a real password: timing equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password: str, login: str) -> list:
    """Translation strings explaining what the password lacks; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(
            _(
                "password_too_short",
                default="At least ${n} characters.",
                mapping={"n": MIN_PASSWORD_LENGTH},
            )
        )
    classes = sum(
        bool(re.search(pattern, password))
        for pattern in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]")
    )
    if classes < 3:
        problems.append(
            _(
                "password_classes",
                default="Use at least 3 of: lower-case letters, "
                "upper-case letters, digits, symbols.",
            )
        )
    if login and login.lower() in password.lower():
        problems.append(_("password_contains_login", default="Must not contain the login name."))
    return problems


def valid_login(login: str) -> bool:
    return bool(LOGIN_RE.match(login or ""))


@dataclass
class LoginResult:
    account: Account | None
    # "ok"; "otp_required" (the password is right, the account's second factor is missing:
    # `account` is set); "bad_otp" (the second factor is wrong); "bad_credentials",
    # "locked" (the UI shows one message for these two)
    status: str
    # How the second factor was given when one was: "totp" or "recovery".
    factor: str | None = None


def authenticate(request, login: str, password: str, otp: str | None = None) -> LoginResult:
    """Check a login and password (and, for an account with two-factor login, `otp`),
    counting failures and locking after MAX_FAILURES. A wrong code counts like a wrong
    password; a missing one counts nothing (status "otp_required"), and does not clear the
    failures either, so a known password cannot be used to reset the count between guesses.

    Failure counts and their audit rows are written after the request, independently of
    its transaction, so an aborted request cannot erase a failed attempt.
    """
    login = (login or "").strip().lower()[:64]
    now = models.utcnow()
    throttle = request.dbsession.get(models.LoginThrottle, login)
    account = request.root_site["accounts"].get(login) if login else None

    if throttle is not None and throttle.locked_until and throttle.locked_until > now:
        verify_password(_DUMMY_HASH, password)
        return _locked(request, login, account)

    if account is not None:
        ok = verify_password(account.password_hash, password) and account.active
    else:
        verify_password(_DUMMY_HASH, password)
        ok = False

    if not ok:
        return _failed(request, login, account, throttle, now, "bad_credentials")
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    if two_factor.enrolled(account):
        if not otp:
            return LoginResult(account, "otp_required")
        return _second_factor(request, login, account, throttle, now, otp)
    _succeeded(request, login, throttle)
    return LoginResult(account, "ok")


def authenticate_second_factor(request, login: str, otp: str) -> LoginResult:
    """The login page's second step: the code for `login`, whose password was right a
    moment ago (the caller keeps that in the session). Counts and locks like a password."""
    now = models.utcnow()
    throttle = request.dbsession.get(models.LoginThrottle, login)
    account = request.root_site["accounts"].get(login)
    if throttle is not None and throttle.locked_until and throttle.locked_until > now:
        return _locked(request, login, account)
    if account is None or not account.active or not two_factor.enrolled(account):
        return LoginResult(None, "bad_credentials")
    return _second_factor(request, login, account, throttle, now, otp)


def _second_factor(request, login, account, throttle, now, otp) -> LoginResult:
    factor = two_factor.verify(account, otp)
    if factor is None:
        return _failed(request, login, account, throttle, now, "bad_otp")
    _succeeded(request, login, throttle)
    if factor == "recovery":
        audit.record(
            request,
            "account.two_factor.recovery",
            target=login,
            unit=_home(request, account),
            detail={"actor": login, "remaining": len(account.recovery_codes)},
        )
    return LoginResult(account, "ok", factor)


def _succeeded(request, login, throttle) -> None:
    if throttle is not None and (throttle.failures or throttle.locked_until):
        audit.after_request(request, lambda s: _reset_throttle(s, login))


def _audit_failure(request, login, account, reason: str) -> None:
    """A failed login's audit row, kept even though the request aborts."""
    audit.record(
        request,
        "login",
        "failure",
        target=login,
        unit=_home(request, account),
        detail={"actor": login, "reason": reason},
        independent=True,
    )


def _locked(request, login, account) -> LoginResult:
    _audit_failure(request, login, account, "locked")
    return LoginResult(None, "locked")


def _failed(request, login, account, throttle, now, reason: str) -> LoginResult:
    """Count a failed attempt (a wrong password or code), locking at MAX_FAILURES."""
    failures = (throttle.failures if throttle and not _expired_lock(throttle, now) else 0) + 1
    locked = failures >= MAX_FAILURES
    audit.after_request(request, lambda s: _count_failure(s, login, failures, locked, now))
    _audit_failure(request, login, account, reason)
    if locked:
        audit.record(
            request,
            "account.lockout",
            "success",
            target=login,
            unit=_home(request, account),
            detail={"actor": login, "minutes": LOCKOUT.seconds // 60},
            independent=True,
        )
    return LoginResult(None, reason)


def _expired_lock(throttle, now) -> bool:
    return throttle.locked_until is not None and throttle.locked_until <= now


def _count_failure(session, login, failures, locked, now):
    row = session.get(models.LoginThrottle, login)
    if row is None:
        row = models.LoginThrottle(login=login, failures=0)
        session.add(row)
    row.failures = 0 if locked else failures
    row.locked_until = now + LOCKOUT if locked else None


def _reset_throttle(session, login):
    row = session.get(models.LoginThrottle, login)
    if row is not None:
        session.delete(row)


def _home(request, account):
    if account is None:
        return None
    return request.root_site.unit_by_code(account.org)


def create_account(site, login: str, name: str, org: str, password: str) -> Account:
    """Add an account homed at unit `org`. Raises ValueError with a translation string."""
    if not valid_login(login):
        raise ValueError(
            _(
                "login_invalid",
                default="Login: 2–32 lower-case letters, digits, "
                "'.', '_' or '-', starting with a letter.",
            )
        )
    if login in site["accounts"]:
        raise ValueError(_("login_taken", default="This login is already taken."))
    if site.unit_by_code(org) is None:
        raise ValueError(_("unknown_unit", default="No such organisation unit."))
    problems = password_problems(password, login)
    if problems:
        raise ValueError(problems[0])
    account = Account(login, name, org, hash_password(password))
    site["accounts"].add(login, account)
    return account


@dataclass(frozen=True)
class PasswordPolicy:
    """How long a password lasts (0: for ever) and how many of the last passwords (the
    current one included) a new one must differ from (0 or 1: only the current one)."""

    max_age_days: int = 90
    history: int = 5


def password_policy(registry) -> PasswordPolicy:
    return getattr(registry, "password_policy", None) or PasswordPolicy()


def password_expired(account: Account, policy: PasswordPolicy, now=None) -> bool:
    """Whether the password is older than the policy allows; its age counts from the last
    change, or from the account's creation."""
    if policy.max_age_days <= 0:
        return False
    changed = account.password_changed or account.created
    now = now or dt.datetime.now(dt.UTC)
    return now - changed >= dt.timedelta(days=policy.max_age_days)


def password_reused(account: Account, password: str, history: int) -> bool:
    """Whether `password` is the current password or one of the `history - 1` before it."""
    earlier = (account.password_hash, *account.password_history)[: max(history, 1)]
    return any(verify_password(h, password) for h in earlier)


def reused_message(history: int):
    return _(
        "password_reused",
        default="This password was used recently: choose one that differs from the last "
        "${n} passwords of this account.",
        mapping={"n": max(history, 1)},
    )


def set_password(account: Account, password: str, history: int = PasswordPolicy.history) -> None:
    """Set a new password (checked against the policy and the last `history` passwords);
    raises ValueError with a translation string. Its age starts now."""
    problems = password_problems(password, account.login)
    if problems:
        raise ValueError(problems[0])
    if password_reused(account, password, history):
        raise ValueError(reused_message(history))
    account.password_history = (account.password_hash, *account.password_history)[
        : max(history - 1, 0)
    ]
    account.password_hash = hash_password(password)
    account.password_changed = dt.datetime.now(dt.UTC)


def can_grant(role: str, unit) -> bool:
    try:
        allowed = ROLE_UNIT_TYPES[Role(role)]
    except ValueError:
        return False
    return allowed is None or unit.type in allowed


def grant_role(account: Account, role: str, unit) -> None:
    """Grant role at unit (and so its subtree); keeps the account's index in step."""
    if not can_grant(role, unit):
        raise ValueError(_("role_not_here", default="This role cannot be granted at this unit."))
    roles = set(unit.local_roles.get(account.login, ()))
    roles.add(role)
    unit.local_roles[account.login] = frozenset(roles)
    if (role, unit.code) not in account.grants:
        account.grants.append((role, unit.code))


def revoke_role(account: Account, role: str, unit) -> None:
    roles = set(unit.local_roles.get(account.login, ())) - {role}
    if roles:
        unit.local_roles[account.login] = frozenset(roles)
    elif account.login in unit.local_roles:
        del unit.local_roles[account.login]
    if (role, unit.code) in account.grants:
        account.grants.remove((role, unit.code))


def end_sessions(dbsession, login: str, keep_session: str | None = None) -> int:
    """Log `login` out everywhere (browser sessions and API tokens) except `keep_session`.

    Returns how many sessions and tokens ended.
    """
    ended = 0
    for model, keep in ((models.AuthSession, keep_session), (models.ApiToken, None)):
        for row in dbsession.scalars(select(model).where(model.login == login)):
            if keep is None or row.id != keep:
                dbsession.delete(row)
                ended += 1
    return ended


def lockouts(dbsession, logins=None) -> dict:
    """Failed-login state by login: {login: LoginThrottle} for logins with failures or a lock."""
    query = select(models.LoginThrottle)
    if logins is not None:
        query = query.where(models.LoginThrottle.login.in_(list(logins)))
    return {row.login: row for row in dbsession.scalars(query)}


def is_locked(throttle, now=None) -> bool:
    if throttle is None or throttle.locked_until is None:
        return False
    return throttle.locked_until > (now or models.utcnow())


def unlock(dbsession, login: str):
    """Clear the failed-login count and any lock; returns the row that was removed (or None)."""
    row = dbsession.get(models.LoginThrottle, login)
    if row is not None:
        dbsession.delete(row)
    return row


def includeme(config):
    """The password policy from the settings (portal.password_max_age_days,
    portal.password_history)."""
    settings = config.get_settings()
    default = PasswordPolicy()
    config.registry.password_policy = PasswordPolicy(
        max_age_days=int(settings.get("portal.password_max_age_days", default.max_age_days)),
        history=int(settings.get("portal.password_history", default.history)),
    )
