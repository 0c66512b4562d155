"""Keep the translation catalogues in step with the code: `python -m portal.scripts.catalogues`.

Extracts every message (lingua: Python `_()` calls and Chameleon i18n attributes) into
portal/locale/portal.pot, then merges it into each language's .po: existing translations
are kept, new messages added, vanished ones dropped. The English catalogue is filled from
the English defaults written next to each message id; Chinese needs a translator, and
`missing_translations()` (checked by a test) lists what still lacks one.
"""

import os
import re
import subprocess
import sys

from babel.messages.pofile import read_po, write_po

from portal.i18n import LOCALE_DIR

POT = os.path.join(LOCALE_DIR, "portal.pot")
LANGUAGES = ("zh_CN", "en")
PACKAGE_DIR = os.path.dirname(LOCALE_DIR)
_DEFAULT = re.compile(r"^Default: (.*)$", re.S)


def extract(output: str = POT) -> str:
    """Run lingua's extractor over the portal package into `output`."""
    root = os.path.dirname(PACKAGE_DIR)
    subprocess.run(  # noqa: S603 - fixed arguments, our own executable
        [
            os.path.join(os.path.dirname(sys.executable), "pot-create"),
            "-c",
            os.path.join(root, "lingua.cfg"),
            "-o",
            output,
            "portal",
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )
    return output


def default_of(message) -> str | None:
    """The English default lingua noted beside the message (it may span comment lines)."""
    match = _DEFAULT.match(" ".join(message.auto_comments))
    return match.group(1) if match else None


def po_path(lang: str) -> str:
    return os.path.join(LOCALE_DIR, lang, "LC_MESSAGES", "portal.po")


def merge(pot_path: str = POT) -> None:
    for lang in LANGUAGES:
        path = po_path(lang)
        existing = {}
        if os.path.exists(path):
            with open(path, "rb") as f:
                existing = {m.id: m.string for m in read_po(f, locale=lang) if m.id}
        with open(pot_path, "rb") as f:
            catalog = read_po(f, locale=lang)
        catalog.project = "bjch-portal"
        for message in catalog:
            if not message.id:
                continue
            if lang == "en":  # English is the source language: always the defaults
                message.string = default_of(message) or existing.get(message.id) or ""
            else:
                message.string = existing.get(message.id) or ""
            message.flags.discard("fuzzy")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            write_po(f, catalog, width=100, omit_header=False, sort_output=True)


def missing_translations(pot_path: str, lang: str = "zh_CN") -> list[str]:
    """Message ids of the template that `lang` does not translate."""
    with open(pot_path, "rb") as f:
        wanted = [m.id for m in read_po(f) if m.id]
    with open(po_path(lang), "rb") as f:
        have = {m.id for m in read_po(f, locale=lang) if m.id and m.string}
    return [msgid for msgid in wanted if msgid not in have]


def main():
    merge(extract())
    missing = missing_translations(POT)
    if missing:
        print(f"zh_CN lacks {len(missing)} translations:", *missing, sep="\n  ")
    else:
        print("Catalogues are complete.")


if __name__ == "__main__":
    main()
