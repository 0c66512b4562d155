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


def test_colander_messages_are_chinese_under_zh_cn():
    import colander
    from pyramid.i18n import make_localizer
    from pyramid.path import AssetResolver

    from portal.i18n import compile_catalogues

    compile_catalogues()
    dirs = [
        AssetResolver().resolve(spec).abspath()
        for spec in ("colander:locale/", "deform:locale/", "portal:locale/")
    ]
    localizer = make_localizer("zh_CN", dirs)
    assert localizer.translate(colander._("Required")) == "必填"
