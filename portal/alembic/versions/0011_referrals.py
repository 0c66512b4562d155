"""Two-way referrals (双向转诊): a referral slip sent to a partner hospital, its state, its
deadlines' dates, what the hospital's desk sees of the patient, and the 回转单.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "referrals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("from_org", sa.String(length=32), nullable=False),
        sa.Column("from_path", sa.String(length=255), nullable=False),
        sa.Column("to_org", sa.String(length=32), nullable=False),
        sa.Column("to_path", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sent_by", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.Column("returned_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.Column("patient", sa.JSON(), nullable=False),
        sa.Column("back", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_referrals_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint("submission_id", name=op.f("uq_referrals_submission_id")),
    )
    op.create_index(
        "ix_referrals_from_path",
        "referrals",
        ["from_path"],
        postgresql_ops={"from_path": "varchar_pattern_ops"},
    )
    op.create_index("ix_referrals_to_org_status", "referrals", ["to_org", "status"])


def downgrade():
    op.drop_table("referrals")
