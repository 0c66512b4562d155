"""Submissions; the org_path indexes serve prefix LIKE on PostgreSQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Ignored by other databases, where the index is a plain one.
PATTERN_OPS = {"org_path": "varchar_pattern_ops"}


def upgrade():
    op.create_table(
        "submissions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("form_name", sa.String(length=64), nullable=False),
        sa.Column("form_version", sa.Integer(), nullable=False),
        sa.Column("org_code", sa.String(length=32), nullable=False),
        sa.Column("org_path", sa.String(length=255), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint("client_id", name=op.f("uq_submissions_client_id")),
    )
    op.create_index("ix_submissions_form_name_period", "submissions", ["form_name", "period"])
    op.create_index(
        "ix_submissions_org_path", "submissions", ["org_path"], postgresql_ops=PATTERN_OPS
    )
    # The audit log's subtree filter is a prefix LIKE too.
    op.drop_index("ix_audit_events_org_path", table_name="audit_events")
    op.create_index(
        "ix_audit_events_org_path", "audit_events", ["org_path"], postgresql_ops=PATTERN_OPS
    )


def downgrade():
    op.drop_index("ix_audit_events_org_path", table_name="audit_events")
    op.create_index("ix_audit_events_org_path", "audit_events", ["org_path"])
    op.drop_index("ix_submissions_org_path", table_name="submissions")
    op.drop_index("ix_submissions_form_name_period", table_name="submissions")
    op.drop_table("submissions")
