"""Step 3: the folder of uploaded files (attachments, kept as ZODB blobs)."""

from portal.resources import Attachments


def evolve(site):
    if "attachments" not in site:
        site.add("attachments", Attachments())
