"""The kept aggregates' primary key in the order reports read it: unit, key, period. A
report reads a few keys of a few units over one period, or (records held) over every period
up to its end; with the period before the key, the latter walked every key of the unit's
whole history (a city KPI report took 9 ms of its 16 ms there at 100,000 records on
PostgreSQL). Same columns, same rows; only the index order changes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

NAME = "pk_report_aggregates"


def _primary_key(columns: list[str]) -> None:
    # SQLite cannot alter a primary key: the batch recreates the table (and copies its rows);
    # PostgreSQL drops the constraint and adds the new one in place.
    with op.batch_alter_table("report_aggregates") as batch:
        batch.drop_constraint(NAME, type_="primary")
        batch.create_primary_key(NAME, columns)


def upgrade():
    _primary_key(["org_code", "key", "period"])


def downgrade():
    _primary_key(["org_code", "period", "key"])
