"""Two-factor login: TOTP codes (RFC 6238, 6 digits every 30 s) and single-use recovery codes.

The state lives on the Account (ZODB): the base32 secret, the secret being enrolled until a
first code confirms it, the last time step accepted (a code is not accepted twice, nor one
older than the last), and the hashes of the unused recovery codes. Recovery codes carry 60
random bits, so a plain SHA-256 is enough to keep them unreadable in a copy of the database;
a slow hash would only make each login check ten of them slowly.
"""

import datetime as dt
import hashlib
import hmac
import io
import secrets
import time

import pyotp
import segno

from portal.security import Role

ISSUER = "北京市社区卫生信息平台"
STEP_SECONDS = 30
# Clocks drift: a code of the step before or after the server's is accepted too.
SKEW_STEPS = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
_RECOVERY_LENGTH = 12  # 12 symbols of 31: about 59 bits

# The three administrators (三员) must use a second factor; everyone else may.
REQUIRED_ROLES = frozenset({Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR})


class _TOTP(pyotp.TOTP):
    # pyotp refuses secrets under 112 bits; the documented demo secret (portal.demo) has
    # 80. Secrets made here have 160 (pyotp.random_base32).
    min_secret_length_bits = 80


def enrolled(account) -> bool:
    return bool(account.totp_secret)


def required(account) -> bool:
    """Whether the account holds one of the administrators' roles (anywhere)."""
    return any(role in REQUIRED_ROLES for role, _code in account.grants)


def must_enrol(account) -> bool:
    return required(account) and not enrolled(account)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(account, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return _TOTP(secret).provisioning_uri(name=account.login, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The address as an inline SVG QR code (drawn here: no network at run time)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out, kind="svg", scale=5, border=2, xmldecl=False, svgns=True, svgclass="totp-qr"
    )
    return out.getvalue().decode("utf-8")


def code_at(secret: str, step: int) -> str:
    return _TOTP(secret).at(step * STEP_SECONDS)


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def _matching_step(secret: str, code: str, after: int, now: float | None = None) -> int | None:
    """The time step (within the skew, after `after`) whose code is `code`, if any."""
    step = current_step(now)
    for candidate in range(step - SKEW_STEPS, step + SKEW_STEPS + 1):
        if candidate > after and hmac.compare_digest(code_at(secret, candidate), code):
            return candidate
    return None


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _hash_recovery(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def new_recovery_codes(account) -> list[str]:
    """Replace the account's recovery codes; returns the new ones (shown once)."""
    codes = [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODES)
    ]
    codes = [f"{c[:4]}-{c[4:8]}-{c[8:]}" for c in codes]
    account.recovery_codes = tuple(_hash_recovery(c) for c in codes)
    return codes


def verify(account, code: str, now: float | None = None) -> str | None:
    """Check a second factor: "totp" or "recovery" when `code` is accepted (and so used up),
    None otherwise."""
    code = _normalise(code or "")
    if not enrolled(account) or not code:
        return None
    if code.isdigit() and len(code) == 6:
        step = _matching_step(account.totp_secret, code, account.totp_last_step, now)
        if step is None:
            return None
        account.totp_last_step = step
        return "totp"
    digest = _hash_recovery(code)
    remaining = tuple(h for h in account.recovery_codes if not hmac.compare_digest(h, digest))
    if len(remaining) == len(account.recovery_codes):
        return None
    account.recovery_codes = remaining
    return "recovery"


def start_enrolment(account) -> str:
    """A new secret waiting for its first code (any earlier pending one is replaced)."""
    account.totp_pending = new_secret()
    return account.totp_pending


def confirm_enrolment(account, code: str, now: float | None = None) -> list[str] | None:
    """Enrol with the pending secret if `code` is its current code; returns the recovery
    codes (None when the code is wrong or nothing is pending)."""
    secret = account.totp_pending
    code = _normalise(code or "")
    if not secret or not (code.isdigit() and len(code) == 6):
        return None
    step = _matching_step(secret, code, 0, now)
    if step is None:
        return None
    enrol(account, secret, last_step=step)
    return new_recovery_codes(account)


def enrol(account, secret: str, last_step: int = 0) -> None:
    account.totp_secret = secret
    account.totp_pending = None
    account.totp_last_step = last_step
    account.totp_enrolled = dt.datetime.now(dt.UTC)


def reset(account) -> None:
    """Remove the second factor: the account enrols again (at once, if it must)."""
    account.totp_secret = None
    account.totp_pending = None
    account.totp_last_step = 0
    account.totp_enrolled = None
    account.recovery_codes = ()
