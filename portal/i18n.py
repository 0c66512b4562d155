"""Translations: Chinese by default, English on request, from gettext catalogues.

Message ids are English identifiers with English defaults; portal/locale holds the zh_CN
and en catalogues. Compiled .mo files are build products: they are (re)compiled from the
.po files at start-up when missing or older.
"""

import logging
import os

from pyramid.i18n import TranslationString, TranslationStringFactory

log = logging.getLogger(__name__)

_ = TranslationStringFactory("portal")

LOCALES = ("zh_CN", "en")
LOCALE_COOKIE = "_LOCALE_"
LOCALE_DIR = os.path.join(os.path.dirname(__file__), "locale")


def translate(localizer, message) -> str:
    """Translate a message whose mapping may itself hold translation strings (unit type
    titles, for instance): the localizer alone would interpolate their message ids."""
    mapping = getattr(message, "mapping", None)
    if mapping:
        mapping = {
            key: translate(localizer, value) if isinstance(value, TranslationString) else value
            for key, value in mapping.items()
        }
    return localizer.translate(message, mapping=mapping)


# Accept-Language tags -> our locales (lookup falls back from zh-Hans-CN to zh, en-GB to en).
_LANGUAGE_TAGS = {"zh-cn": "zh_CN", "zh": "zh_CN", "en": "en"}


def negotiate_locale(request) -> str:
    """?_LOCALE_= (remembered in a cookie), else the cookie, else for the API the
    Accept-Language header, else the default (zh_CN). Pages ignore Accept-Language: the
    portal is Chinese unless someone chooses English."""
    for value in (request.params.get(LOCALE_COOKIE), request.cookies.get(LOCALE_COOKIE)):
        if value in LOCALES:
            return value
    if request.path.startswith("/api/") and "Accept-Language" in request.headers:
        tag = request.accept_language.lookup(list(_LANGUAGE_TAGS), default="")
        if tag:
            return _LANGUAGE_TAGS[tag.lower()]
    return request.registry.settings.get("pyramid.default_locale_name", "zh_CN")


def forms_language(request) -> str:
    """The request's language as the forms library names it ('zh' or 'en')."""
    return "en" if request.locale_name == "en" else "zh"


def remember_locale(event):
    chosen = event.request.GET.get(LOCALE_COOKIE)
    if chosen in LOCALES and event.request.cookies.get(LOCALE_COOKIE) != chosen:
        event.response.set_cookie(
            LOCALE_COOKIE, chosen, max_age=365 * 24 * 3600, httponly=True, samesite="Lax"
        )


def compile_catalogues(locale_dir: str = LOCALE_DIR) -> None:
    """Compile every .po under locale_dir whose .mo is missing or stale."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for lang in os.listdir(locale_dir):
        messages = os.path.join(locale_dir, lang, "LC_MESSAGES")
        if not os.path.isdir(messages):
            continue
        for name in os.listdir(messages):
            if not name.endswith(".po"):
                continue
            po = os.path.join(messages, name)
            mo = po[:-3] + ".mo"
            if os.path.exists(mo) and os.path.getmtime(mo) >= os.path.getmtime(po):
                continue
            try:
                with open(po, "rb") as f:
                    catalog = read_po(f, locale=lang)
                with open(mo, "wb") as f:
                    write_mo(f, catalog)
            except OSError:
                log.warning("cannot write %s; run `make catalogues` as the owner", mo)


def includeme(config):
    from pyramid.events import NewResponse

    compile_catalogues()
    config.add_translation_dirs("colander:locale/", "deform:locale/", "portal:locale/")
    config.set_locale_negotiator(negotiate_locale)
    config.add_subscriber(remember_locale, NewResponse)
