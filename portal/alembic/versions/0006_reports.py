"""Reports: reference figures (population denominators) and the aggregates kept as
submissions change, with the facts and contributions they are kept from
(portal/services/aggregates.py). `portal reports-rebuild` fills them from the submissions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "reference_values",
        sa.Column("org_code", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("org_code", "year", "kind", name=op.f("pk_reference_values")),
    )
    op.create_table(
        "report_facts",
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("form_name", sa.String(length=64), nullable=False),
        sa.Column("org_code", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("person", sa.String(length=64), nullable=True),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("submission_id", name=op.f("pk_report_facts")),
    )
    op.create_index("ix_report_facts_org_code_person", "report_facts", ["org_code", "person"])
    op.create_index(
        "ix_report_facts_org_code_author_period",
        "report_facts",
        ["org_code", "author", "period"],
    )
    op.create_index(
        "ix_report_facts_org_code_form_name_period",
        "report_facts",
        ["org_code", "form_name", "period"],
    )
    op.create_table(
        "report_contributions",
        sa.Column("entity", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("org_code", sa.String(length=32), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("entity", "period", "key", name=op.f("pk_report_contributions")),
    )
    op.create_table(
        "report_entities",
        sa.Column("entity", sa.String(length=200), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("entity", name=op.f("pk_report_entities")),
    )
    op.create_table(
        "report_aggregates",
        sa.Column("org_code", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("org_code", "period", "key", name=op.f("pk_report_aggregates")),
    )
    op.create_table(
        "report_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_report_state")),
    )


def downgrade():
    for table in (
        "report_state",
        "report_aggregates",
        "report_entities",
        "report_contributions",
        "report_facts",
        "reference_values",
    ):
        op.drop_table(table)
