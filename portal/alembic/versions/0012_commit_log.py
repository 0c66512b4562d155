"""The SQL half of transactions that write both stores (portal/crossstore.py).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "commit_log",
        sa.Column("cid", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("cid", name=op.f("pk_commit_log")),
    )
    op.create_index(op.f("ix_commit_log_at"), "commit_log", ["at"])


def downgrade():
    op.drop_index(op.f("ix_commit_log_at"), table_name="commit_log")
    op.drop_table("commit_log")
