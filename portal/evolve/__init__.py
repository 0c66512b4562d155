"""Numbered ZODB schema steps, run in order by `portal evolve` (and `portal init`).

Each step is a module `stepNNNN_<what>.py` with `evolve(site)`. The site's
`evolve_version` records the last step applied; a step runs once, in the transaction
of the command, so a failing step changes nothing.
"""

import importlib
import pkgutil
import re

_STEP = re.compile(r"^step(\d{4})_\w+$")


def steps() -> list[tuple[int, str]]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        match = _STEP.match(info.name)
        if match:
            found.append((int(match.group(1)), info.name))
    return sorted(found)


def latest_version() -> int:
    numbered = steps()
    return numbered[-1][0] if numbered else 0


def evolve(site) -> list[str]:
    """Apply every step newer than the site's version; returns the names applied."""
    applied = []
    for number, name in steps():
        if number <= site.evolve_version:
            continue
        module = importlib.import_module(f"{__name__}.{name}")
        module.evolve(site)
        site.evolve_version = number
        applied.append(name)
    return applied
