"""Synthetic submissions for the demo tree: plausible, valid, fast, and nobody's real data.

How the records are made (`portal demo-data CONFIG --records N`, and `portal init --demo`):

- **What**: every published shipped form that has a builder in `records.BUILDERS`, at the
  active units of the levels it is filled in at (optionally under one unit), over the last
  24 months. Units in bigger districts and centres get more records (district population,
  unit type, a random size); months follow the service calendar (Spring Festival dip,
  quarter-end follow-ups, check-up campaigns, winter influenza) and grow slowly year on year.
  Dates lie inside the record's period and never after today.
- **Plausible**: the chronic follow-ups come from each unit's recurring patients whose blood
  pressure (around 135/85), weight (BMI from height and weight), glucose and medicines vary
  visit to visit; people have synthetic names, ID numbers with real area codes, birth dates
  and sexes matching their age and a correct check character, and mobiles in 1[3-9]x ranges.
- **Valid by construction, proved by sampling**: a builder returns the data as the server
  stores it after validation (only relevant fields, calculations done as the form does them,
  keys in the validator's order). Before a run each form is tried with a few records; during
  it the first record of each form in every chunk and one in `SAMPLE_EVERY` is validated by
  the form's FormValidator and must come out as the very same JSON, or the run stops. The
  tests validate hundreds of records of every form. Validating every record would cost more
  than generating and storing it.
- **Fast**: chunks of `CHUNK` records, each from its own seeded generator (the same rows for
  a seed however they are produced), optionally made by worker processes while the main
  process writes; one Core insert executed for many rows per chunk (COPY on PostgreSQL) and a
  commit every 100 000 rows.
- **Deterministic**: the seed fixes everything, ids and client_ids included (so the same
  seed cannot be loaded twice into one database: client_id is unique).
"""

from __future__ import annotations

import zope.sqlalchemy

from portal.demo_data.generate import (
    CHUNK,
    DEMO_AUTHOR,
    SAMPLE_EVERY,
    DemoDataError,
    Generator,
    Plan,
    batches,
    make_plan,
)
from portal.demo_data.store import Progress, count, existing, write, write_references
from portal.services import record_changes

# What `portal init --demo` adds: enough to make lists and reports look alive, and quick.
DEMO_RECORDS = 5_000

__all__ = [
    "CHUNK",
    "DEMO_AUTHOR",
    "DEMO_RECORDS",
    "SAMPLE_EVERY",
    "DemoDataError",
    "Generator",
    "Plan",
    "Progress",
    "batches",
    "count",
    "existing",
    "fill_demo",
    "make_plan",
    "write",
    "write_references",
]


def fill_demo(request, records: int | None = None, **plan_options) -> str | None:
    """Fill an empty demo portal with `records` (default DEMO_RECORDS) submissions inside the
    request's transaction (so they are committed with the tree and forms, or not at all).
    Does nothing when there are submissions already; returns what it did."""
    connection = request.dbsession.connection()
    if count(connection):
        return None
    plan = make_plan(
        request.root_site, DEMO_RECORDS if records is None else records, **plan_options
    )
    rows = write(
        connection,
        batches(plan),
        written=record_changes.bulk_writer(connection, request.root_site, request.registry),
    )
    write_references(connection, plan)
    # Core statements are invisible to zope.sqlalchemy: without this it would roll them back.
    zope.sqlalchemy.mark_changed(request.dbsession)
    residents = sum(unit.population for unit in plan.units)
    return (
        f"Added {rows:,} synthetic demo submissions over the last {len(plan.months)} months "
        f"(a population of {residents:,} residents aged 7 and over, and their children)."
    )
