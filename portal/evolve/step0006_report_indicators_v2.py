"""Step 6: the built-in indicators that form version 2 made exact (reports/builtin.py):
early pregnancy counted from the last menstrual period when it is known, and newborn visits
within 7 days of discharge.

Only an indicator still as it was shipped before is replaced: one an admin has changed
stays as it is. The kept aggregates are then stale, and `portal init` or `portal evolve`
rebuild them.
"""

from reports import builtin

# The filters these indicators were shipped with before (step 4).
_BEFORE = {
    "early_registered": "${gest_weeks} < 13",
    "newborns_visited": None,
}


def evolve(site):
    folder = site["reports"]
    shipped = {i["name"]: i for i in builtin.INDICATORS}
    indicators = []
    for indicator in folder.indicator_dicts():
        name = indicator["name"]
        if name in _BEFORE and (indicator.get("filter") or None) == _BEFORE[name]:
            indicator = {**indicator, "filter": shipped[name]["filter"]}
        indicators.append(indicator)
    folder.set_indicators(indicators)
