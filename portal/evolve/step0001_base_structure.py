"""Step 1: the code index of org units and the accounts folder."""

from BTrees.OOBTree import OOBTree

from portal.resources import Accounts


def evolve(site):
    if not hasattr(site, "units"):
        site.units = OOBTree()
    if "accounts" not in site:
        site.add("accounts", Accounts())
