"""forms.messages: one table of Chinese and English texts, rendered without Pyramid."""

import re

import pytest

from forms.messages import TEXTS, Message, render_all


@pytest.mark.parametrize("message_id", sorted(TEXTS))
def test_both_languages_use_the_same_placeholders(message_id):
    english, chinese = TEXTS[message_id]
    assert english and chinese
    assert set(re.findall(r"\$\{(\w+)\}", english)) == set(re.findall(r"\$\{(\w+)\}", chinese))


def test_a_message_renders_in_either_language_with_its_mapping():
    message = Message("validation.too_small", {"min": 60})
    assert message.render("zh") == "数值不能小于 60。"
    assert message.render("en") == "The value must be at least 60."
    assert message.default == "The value must be at least 60."
    assert message.to_dict() == {
        "id": "validation.too_small",
        "default": "The value must be at least 60.",
        "mapping": {"min": 60},
    }


def test_the_authors_words_win_and_fall_back_to_the_other_language():
    message = Message("validation.constraint", texts={"zh": "舒张压应低于收缩压"})
    assert message.render("zh") == "舒张压应低于收缩压"
    assert message.render("en") == "舒张压应低于收缩压"
    assert message.to_dict()["texts"] == {"zh": "舒张压应低于收缩压"}
    assert Message("validation.constraint", texts={"zh": ""}).render("en") == (
        "This value is not allowed."
    )


def test_a_mapping_value_may_itself_be_in_both_languages():
    message = Message("definition.expression", {"detail": {"en": "oops", "zh": "出错"}})
    assert message.render("en") == "The expression cannot be read: oops"
    assert message.render("zh") == "表达式无法解析：出错"


def test_errors_render_as_the_api_shows_them():
    errors = {
        "sbp": Message("validation.required"),
        "meds.0.dose": Message("validation.not_number"),
    }
    assert render_all(errors, "zh") == {"sbp": "此项为必填项。", "meds.0.dose": "请输入数字。"}
