"""forms.identifiers: resident ID numbers (GB 11643) and phone numbers."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forms.identifiers import (
    InvalidIdentifier,
    check_character,
    is_valid_resident_id,
    mask_phone,
    mask_pii,
    mask_resident_id,
    mask_value,
    normalise_phone,
    parse_resident_id,
    upgrade_resident_id,
)
from tests.unit.forms.samples import every_feature_form, valid_data

TODAY = datetime.date(2026, 6, 1)


def test_the_primer_example_is_valid_and_female():
    resident = parse_resident_id("11010519491231002X", TODAY)
    assert resident.number == "11010519491231002X"
    assert resident.birth_date == datetime.date(1949, 12, 31)
    assert resident.sex == "female"
    assert resident.area_code == "110105"
    assert not resident.legacy


def test_lower_case_x_and_spaces_are_accepted():
    assert parse_resident_id(" 110105 19491231 002x ", TODAY).number == "11010519491231002X"


def test_the_check_character_follows_iso_7064_mod_11_2():
    assert check_character("11010519491231002") == "X"
    with pytest.raises(ValueError):
        check_character("123")


@pytest.mark.parametrize(
    ("number", "message_id"),
    [
        ("11010519491231002", "validation.resident_id.format"),  # 17 characters
        ("1101051949123100X2", "validation.resident_id.format"),  # X not last
        ("01010519491231002X", "validation.resident_id.format"),  # no address starts with 0
        ("110105194912310021", "validation.resident_id.check_digit"),
        ("110105194902300012", "validation.resident_id.birth_date"),  # 30 February
        ("110105210001010015", "validation.resident_id.future"),
    ],
)
def test_wrong_numbers_say_why(number, message_id):
    with pytest.raises(InvalidIdentifier) as caught:
        parse_resident_id(number, TODAY)
    assert caught.value.message.id == message_id
    assert not is_valid_resident_id(number, TODAY)


def test_a_legacy_15_digit_number_is_upgraded():
    # The 18-character form of the primer's example, written the old way.
    assert upgrade_resident_id("110105491231002") == "11010519491231002X"
    resident = parse_resident_id("110105491231002", TODAY)
    assert resident.legacy
    assert resident.number == "11010519491231002X"
    assert resident.sex == "female"
    with pytest.raises(ValueError):
        upgrade_resident_id("11010549123100")


_seventeen_digits = st.builds(
    lambda area, birth, sequence: f"{area}{birth:%Y%m%d}{sequence:03d}",
    st.integers(100000, 999999),
    st.dates(datetime.date(1900, 1, 1), TODAY),
    st.integers(0, 999),
)


@given(_seventeen_digits)
def test_a_number_with_its_check_character_is_valid(first17):
    number = first17 + check_character(first17)
    resident = parse_resident_id(number, TODAY)
    assert resident.sex == ("male" if int(first17[16]) % 2 else "female")


@given(_seventeen_digits, st.integers(0, 16), st.integers(1, 9))
def test_any_single_mistyped_digit_is_caught(first17, position, shift):
    number = first17 + check_character(first17)
    wrong = str((int(number[position]) + shift) % 10)
    typo = number[:position] + wrong + number[position + 1 :]
    # Caught by the check character, or earlier by the format or the birth date.
    assert not is_valid_resident_id(typo, TODAY)


@given(_seventeen_digits, st.integers(0, 15))
def test_swapping_two_neighbouring_digits_is_caught(first17, position):
    number = first17 + check_character(first17)
    if number[position] == number[position + 1]:
        return
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    assert not is_valid_resident_id(swapped, TODAY)


def test_masks_keep_only_what_identifies_the_record_loosely():
    assert mask_resident_id("11010519491231002X") == "110105********002X"
    assert mask_resident_id("123") == "***"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("010-12345678") == "010-****5678"
    assert mask_value("text", "王秀英") == "王**"
    assert mask_value("text", "王") == "*"
    assert mask_value("date", "1949-12-31") == "1949-**-**"
    assert mask_value("integer", 42) == "***"
    assert mask_value("text", "") == ""


def test_mask_pii_masks_personal_fields_only_including_inside_repeats():
    definition = every_feature_form()
    definition.get_field("drug").pii = True
    masked = mask_pii(definition, valid_data())
    assert masked["id_number"] == "110105********002X"
    assert masked["phone"] == "138****5678"
    assert masked["name"] == "王**"
    assert masked["sbp"] == 150
    assert masked["meds"][0] == {"drug": "氨***", "dose": 5}
    assert valid_data()["name"] == "王秀英"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+86-13812345678", "13812345678"),
        ("010-12345678", "010-12345678"),
        ("01012345678", "010-12345678"),
        ("0755-1234567", "0755-1234567"),
        ("(020)87654321", "020-87654321"),
    ],
)
def test_phone_numbers_are_normalised(typed, stored):
    assert normalise_phone(typed) == stored


@pytest.mark.parametrize(
    "typed", ["12812345678", "1381234567", "138123456789", "12345678", "010-0234567", "abc"]
)
def test_wrong_phone_numbers_are_refused(typed):
    with pytest.raises(InvalidIdentifier) as caught:
        normalise_phone(typed)
    assert caught.value.message.id == "validation.phone"
