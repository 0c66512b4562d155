"""The two-factor service on an account: codes within one step of the clock, each step once,
recovery codes used up one by one, enrolment confirmed by a first code."""

import pyotp

from portal.resources import Account
from portal.services import two_factor

NOW = 1_800_000_000.0  # a fixed clock: step 60,000,000
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp(offset_steps: int, secret=SECRET) -> str:
    return pyotp.TOTP(secret).at(NOW + 30 * offset_steps)


def enrolled_account() -> Account:
    account = Account("city", "市级管理员", "110000", "hash")
    two_factor.enrol(account, SECRET)
    return account


def test_codes_within_one_step_are_accepted_each_once():
    account = enrolled_account()
    assert two_factor.verify(account, totp(2), now=NOW) is None
    assert two_factor.verify(account, totp(-2), now=NOW) is None
    assert two_factor.verify(account, totp(-1), now=NOW) == "totp"
    assert two_factor.verify(account, totp(-1), now=NOW) is None  # replayed
    assert two_factor.verify(account, totp(1), now=NOW) == "totp"
    # Once a later step is used, an earlier one is refused though still within the skew.
    assert two_factor.verify(account, totp(0), now=NOW) is None


def test_nothing_is_accepted_without_enrolment_or_code():
    account = Account("city", "市级管理员", "110000", "hash")
    assert two_factor.verify(account, totp(0), now=NOW) is None
    assert two_factor.verify(enrolled_account(), "", now=NOW) is None


def test_recovery_codes_are_stored_hashed_and_work_once_in_any_spelling():
    account = enrolled_account()
    codes = two_factor.new_recovery_codes(account)
    assert not any(code in repr(account.recovery_codes) for code in codes)
    assert two_factor.verify(account, codes[0].upper().replace("-", " "), now=NOW) == "recovery"
    assert two_factor.verify(account, codes[0], now=NOW) is None
    assert len(account.recovery_codes) == 9
    new = two_factor.new_recovery_codes(account)
    assert two_factor.verify(account, codes[1], now=NOW) is None  # replaced
    assert two_factor.verify(account, new[1], now=NOW) == "recovery"


def test_enrolment_is_confirmed_by_a_code_of_the_pending_secret():
    account = Account("city", "市级管理员", "110000", "hash")
    secret = two_factor.start_enrolment(account)
    assert len(secret) == 32  # 160 bits
    assert two_factor.confirm_enrolment(account, totp(0), now=NOW) is None  # another secret
    assert not two_factor.enrolled(account)
    codes = two_factor.confirm_enrolment(account, totp(0, secret), now=NOW)
    assert codes is not None and len(codes) == 10
    assert two_factor.enrolled(account) and account.totp_pending is None
    # The confirming code is spent.
    assert two_factor.verify(account, totp(0, secret), now=NOW) is None
    two_factor.reset(account)
    assert not two_factor.enrolled(account) and account.recovery_codes == ()


def test_the_qr_code_is_an_svg_of_the_address():
    account = Account("city", "市级管理员", "110000", "hash")
    uri = two_factor.provisioning_uri(account, SECRET)
    assert uri.startswith("otpauth://totp/") and f"secret={SECRET}" in uri
    svg = two_factor.qr_svg(uri)
    assert svg.startswith("<svg") and "<path" in svg
