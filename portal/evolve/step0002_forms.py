"""Step 2: the folder of form definitions."""

from portal.resources import Forms


def evolve(site):
    if "forms" not in site:
        site.add("forms", Forms())
