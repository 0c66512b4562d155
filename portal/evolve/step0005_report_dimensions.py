"""Step 5: disaggregations (sex, age band) for the statistical reports: the dimensions, the
built-in indicators kept by them and the reports that offer them (reports/builtin.py).

What an admin changed stays: an indicator or report is only given its `by` or
`disaggregations` where it has none. The kept aggregates are then stale until rebuilt
(`portal migrate` and `portal init` rebuild them when the fingerprint changed).
"""

from reports import builtin


def evolve(site):
    folder = site["reports"]
    known = {d["name"] for d in folder.dimension_dicts()}
    folder.set_dimensions(
        folder.dimension_dicts() + [d for d in builtin.DIMENSIONS if d["name"] not in known]
    )
    shipped = {i["name"]: i for i in builtin.INDICATORS}
    indicators = []
    for indicator in folder.indicator_dicts():
        by = shipped.get(indicator["name"], {}).get("by")
        if by and not indicator.get("by"):
            indicator = {**indicator, "by": list(by)}
        indicators.append(indicator)
    folder.set_indicators(indicators)
    for definition in builtin.REPORTS:
        wanted = definition.get("disaggregations")
        if wanted and definition["name"] in folder:
            report = folder[definition["name"]]
            stored = report.definition()
            if not stored.get("disaggregations"):
                report.set_definition({**stored, "disaggregations": list(wanted)})
