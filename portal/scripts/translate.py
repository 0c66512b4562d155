"""Apply a table of translations to a language's catalogue: used by translators.

    python -m portal.scripts.translate zh_CN table.py

`table.py` defines ZH = {msgid: translation}; entries for unknown ids are reported.
"""

import runpy
import sys

from babel.messages.pofile import read_po, write_po

from portal.scripts.catalogues import po_path


def apply(lang: str, table: dict) -> list[str]:
    path = po_path(lang)
    with open(path, "rb") as f:
        catalog = read_po(f, locale=lang)
    unknown = [msgid for msgid in table if msgid not in catalog]
    for msgid, text in table.items():
        if msgid in catalog:
            catalog[msgid].string = text
    with open(path, "wb") as f:
        write_po(f, catalog, width=100, sort_output=True)
    return unknown


if __name__ == "__main__":
    lang, table_file = sys.argv[1:3]
    unknown = apply(lang, runpy.run_path(table_file)["ZH"])
    if unknown:
        print("not in the catalogue:", *unknown)
