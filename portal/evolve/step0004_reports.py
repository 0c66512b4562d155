"""Step 4: the statistical report definitions and their indicators (reports/builtin.py)."""

from portal.resources import ReportDefinition, Reports
from reports import builtin


def evolve(site):
    if "reports" not in site:
        site.add("reports", Reports())
    folder = site["reports"]
    known = {i["name"] for i in folder.indicator_dicts()}
    folder.set_indicators(
        folder.indicator_dicts() + [i for i in builtin.INDICATORS if i["name"] not in known]
    )
    for definition in builtin.REPORTS:
        if definition["name"] not in folder:
            folder.add(definition["name"], ReportDefinition(definition))
