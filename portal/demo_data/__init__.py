"""Synthetic submissions for the demo tree: plausible, valid, fast, and nobody's real data.

How the records are made (`portal demo-data CONFIG --records N`, and `portal init --demo`):

- **People first** (`population`): each active station and centre (optionally under one
  unit) has a synthetic resident population, sized so that its records add up to about N
  (bigger districts and centres have more residents): Beijing's age and sex mix (about 21%
  aged 60 and over, 14-15% aged 65 and over, 104 men to 100 women) and the children born
  to its women in the last seven years. Everyone has exactly one `personal_info` record with
  a health record number unique in the unit (county, street, committee, serial). Hypertension
  and diabetes patients are drawn from the residents by age; about two thirds of them are
  under management (from a management start date).
- **What happens to them** (`events`), over the last 24 months, by the standard's schedules:
  follow-ups about quarterly (sooner after a reading over target), mostly face to face,
  phone visits without readings, readings that agree with the visit's class and the 65+
  threshold, a management status (在管, then now and then 失访, 死亡, 迁出); yearly health
  checks for most managed patients and most people aged 65 and over; first prenatal checks
  mostly before 13 weeks, births, newborn visits mostly within 7 days of discharge and
  immunisation cards; infectious disease cards mostly within 24 hours of the diagnosis;
  referrals, rehabilitation, family planning; each unit's institution questionnaire once per
  survey year, household interviews and education activities. Every record names its person
  by their health record number (portal/services/person_links.py holds for every row).
- **Denominators**: `store.write_references` adds the residents to the unit's and every
  higher unit's figures in `reference_values` (population, population_65, children_0_6,
  live_births, hypertension_est, diabetes_est), per year of the window: the KPIs' rates
  stand on the same people as their numerators. A later run continues the units' record
  serials and adds to the figures (`store.existing`).
- **Valid by construction, proved by sampling**: a builder returns the data as the server
  stores it after validation (only relevant fields, calculations done as the form does them,
  keys in the validator's order). Before a run each form is tried with a few records; during
  it the first record of each form in every chunk and one in `SAMPLE_EVERY` is validated by
  the form's FormValidator and must come out as the very same JSON, or the run stops. The
  tests validate every record of whole runs. Validating every record would cost more
  than generating and storing it.
- **Fast**: chunks of blocks of residents (about `CHUNK` records), each block from its own
  seeded generators (the same rows for a seed however they are produced), optionally made
  by worker processes while the main process writes; one Core insert executed for many rows
  per chunk (COPY on PostgreSQL), the record seam's aggregates written per chunk in the same
  transaction, and a commit every 100 000 rows.
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
