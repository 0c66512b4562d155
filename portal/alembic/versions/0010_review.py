"""Review up the tree: the levels that approved each submission, the workflow history
(submissions and referrals), period approvals, and review queries with their messages.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PATTERN_OPS = {"org_path": "varchar_pattern_ops"}


def upgrade():
    op.add_column(
        "submissions",
        sa.Column("approved_levels", sa.String(length=64), nullable=False, server_default=""),
    )
    op.create_index(
        "ix_submissions_status_org_path",
        "submissions",
        ["status", "org_path"],
        postgresql_ops=PATTERN_OPS,
    )
    op.create_table(
        "workflow_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("workflow", sa.String(length=32), nullable=False),
        sa.Column("transition", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("approved_levels", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_history")),
    )
    op.create_index(
        "ix_workflow_history_subject", "workflow_history", ["subject_type", "subject_id", "id"]
    )
    op.create_table(
        "period_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form_name", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("org_code", sa.String(length=32), nullable=False),
        sa.Column("org_path", sa.String(length=255), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=False),
        sa.Column("approved_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_period_approvals")),
    )
    op.create_index(
        "ix_period_approvals_form_name_period",
        "period_approvals",
        ["form_name", "period", "org_path"],
        postgresql_ops=PATTERN_OPS,
    )
    op.create_table(
        "record_queries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("org_path", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_record_queries_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_queries")),
    )
    op.create_index("ix_record_queries_submission_id", "record_queries", ["submission_id"])
    op.create_index(
        "ix_record_queries_status_org_path",
        "record_queries",
        ["status", "org_path"],
        postgresql_ops=PATTERN_OPS,
    )
    op.create_table(
        "query_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("query_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["query_id"],
            ["record_queries.id"],
            name=op.f("fk_query_messages_query_id_record_queries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_query_messages")),
    )
    op.create_index("ix_query_messages_query_id", "query_messages", ["query_id"])


def downgrade():
    op.drop_table("query_messages")
    op.drop_table("record_queries")
    op.drop_table("period_approvals")
    op.drop_table("workflow_history")
    op.drop_index("ix_submissions_status_org_path", table_name="submissions")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("approved_levels")
