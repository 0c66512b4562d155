"""Person links: an index to find a unit's records by health record number (健康档案编号),
which every person-level form checks against the unit's 个人基本信息表
(portal/services/person_links.py). An expression index on the JSON value, so that no write
path (the bulk demo writer included) has to fill a column: the query uses the same
expression (`person_links.record_no_of`).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEX = "ix_submissions_form_name_org_code_record_no"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        expression = "(data ->> 'record_no')"
    else:
        expression = "json_extract(data, '$.record_no')"
    op.execute(f"CREATE INDEX {INDEX} ON submissions (form_name, org_code, {expression})")


def downgrade():
    op.execute(f"DROP INDEX {INDEX}")
