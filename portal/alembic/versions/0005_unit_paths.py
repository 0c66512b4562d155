"""Each org unit's path, mirrored from the ZODB tree: submissions take their org_path from
it, and a unit move rewrites it first (portal/services/unit_paths.py). `portal migrate`
fills it from the tree after upgrading.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "unit_paths",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_unit_paths")),
    )
    op.create_index(
        "ix_unit_paths_path",
        "unit_paths",
        ["path"],
        postgresql_ops={"path": "varchar_pattern_ops"},
    )


def downgrade():
    op.drop_index("ix_unit_paths_path", table_name="unit_paths")
    op.drop_table("unit_paths")
