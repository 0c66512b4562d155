"""Every message in the code has a Chinese translation (the UI is Chinese by default)."""

from portal.scripts.catalogues import default_of, extract, missing_translations


def test_zh_cn_catalogue_is_complete(tmp_path):
    pot = extract(str(tmp_path / "portal.pot"))
    assert missing_translations(pot, "zh_CN") == []


def test_english_catalogue_is_complete(tmp_path):
    pot = extract(str(tmp_path / "portal.pot"))
    assert missing_translations(pot, "en") == []


def test_default_spans_comment_lines():
    class Message:
        auto_comments = ["Default: Use at least 3 of: lower-case letters,", "digits, symbols."]

    assert default_of(Message) == "Use at least 3 of: lower-case letters, digits, symbols."
