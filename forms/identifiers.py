"""Resident ID numbers (GB 11643-1999) and phone numbers: checking, upgrading, masking."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any

from forms.messages import Message
from forms.model import FormDefinition

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_ID18_RE = re.compile(r"[1-9]\d{16}[\dX]\Z")
_ID15_RE = re.compile(r"[1-9]\d{14}\Z")


class InvalidIdentifier(ValueError):
    """A resident ID or phone number that fails its rules; `message` says which."""

    def __init__(self, message: Message):
        super().__init__(message.default)
        self.message = message


@dataclass(frozen=True)
class ResidentId:
    """A checked resident ID number, always in its 18-character form."""

    number: str
    birth_date: datetime.date
    sex: str  # "male" or "female": the 17th digit is odd for men, even for women
    legacy: bool  # given as a 15-digit number and upgraded

    @property
    def area_code(self) -> str:
        return self.number[:6]


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("the check character needs exactly 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def upgrade_resident_id(legacy: str) -> str:
    """The 18-character number of a legacy 15-digit one: "19" goes before the two-digit year
    and the check character is appended."""
    if not _ID15_RE.match(legacy):
        raise ValueError("a legacy resident ID number has 15 digits")
    first17 = legacy[:6] + "19" + legacy[6:]
    return first17 + check_character(first17)


def normalise_resident_id(value: str) -> str:
    return re.sub(r"\s+", "", value).upper()


def parse_resident_id(value: str, today: datetime.date | None = None) -> ResidentId:
    """Check an 18-character or legacy 15-digit resident ID number; raise InvalidIdentifier.

    The address code is not checked against a list: old cards keep codes that no longer exist.
    """
    number = normalise_resident_id(value)
    legacy = bool(_ID15_RE.match(number))
    if legacy:
        number = upgrade_resident_id(number)
    elif not _ID18_RE.match(number):
        raise InvalidIdentifier(Message("validation.resident_id.format"))
    # A mistyped digit shows first in the check character, so that is checked first.
    if not legacy and check_character(number[:17]) != number[17]:
        raise InvalidIdentifier(Message("validation.resident_id.check_digit"))
    try:
        birth_date = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdentifier(Message("validation.resident_id.birth_date")) from None
    if birth_date.year < 1800:
        raise InvalidIdentifier(Message("validation.resident_id.birth_date"))
    if birth_date > (today or datetime.date.today()):
        raise InvalidIdentifier(Message("validation.resident_id.future"))
    sex = "male" if int(number[16]) % 2 else "female"
    return ResidentId(number=number, birth_date=birth_date, sex=sex, legacy=legacy)


def is_valid_resident_id(value: str, today: datetime.date | None = None) -> bool:
    try:
        parse_resident_id(value, today)
    except InvalidIdentifier:
        return False
    return True


def mask_resident_id(value: str) -> str:
    """`110105********002X`: the address code and the last four characters stay."""
    number = normalise_resident_id(value)
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


# Mainland mobile numbers: 1, then 3-9, then nine digits.
_MOBILE_RE = re.compile(r"1[3-9]\d{9}\Z")
# Landlines: area codes 010 and 02x have three digits, the others four; then a local number of
# seven or eight digits that doesn't start with 0.
_LANDLINE_RE = re.compile(r"(0(?:10|2\d)|0[3-9]\d{2})-?([1-9]\d{6,7})\Z")


def normalise_phone(value: str) -> str:
    """A mobile number as 11 digits, a landline as `area-local`; raise InvalidIdentifier."""
    compact = re.sub(r"[\s()（）]+", "", value)
    mobile = re.sub(r"^(?:\+86|0086)-?", "", compact)
    if _MOBILE_RE.match(mobile):
        return mobile
    landline = _LANDLINE_RE.match(compact)
    if landline:
        return f"{landline.group(1)}-{landline.group(2)}"
    raise InvalidIdentifier(Message("validation.phone"))


def mask_phone(value: str) -> str:
    """`138****5678` for a mobile; a landline keeps its area code and last four digits."""
    try:
        number = normalise_phone(value)
    except InvalidIdentifier:
        number = value
    if "-" in number:
        area, local = number.split("-", 1)
        return f"{area}-" + "*" * max(len(local) - 4, 0) + local[-4:]
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_value(field_type: str, value: Any) -> Any:
    """A personal value as someone who may not see it sees it."""
    if value is None or value == "" or value == []:
        return value
    if field_type == "resident_id":
        return mask_resident_id(str(value))
    if field_type == "phone":
        return mask_phone(str(value))
    if field_type == "text":
        text = str(value)
        return text[0] + "*" * (len(text) - 1) if len(text) > 1 else "*"
    if field_type in ("date", "datetime"):
        # The year is enough for age bands and says little about the person.
        return str(value)[:4] + "-**-**"
    return "***"


def mask_pii(definition: FormDefinition, data: dict[str, Any]) -> dict[str, Any]:
    """A copy of submitted data with the values of personal fields masked (repeats included)."""
    by_name = {f.name: f for f in definition.iter_fields()}

    def mask(values: dict[str, Any]) -> dict[str, Any]:
        result = {}
        for key, value in values.items():
            field_ = by_name.get(key)
            if field_ is not None and field_.type == "repeat" and isinstance(value, list):
                value = [mask(row) if isinstance(row, dict) else row for row in value]
            elif field_ is not None and field_.pii:
                value = mask_value(field_.type, value)
            result[key] = value
        return result

    return mask(data)
