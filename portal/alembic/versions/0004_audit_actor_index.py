"""An index on the audit log by actor, event and time: one person's uploads of the last 24
hours (portal.attachments.max_per_day) without reading all their audit rows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_audit_events_actor_event_ts", "audit_events", ["actor", "event", "ts"], unique=False
    )


def downgrade():
    op.drop_index("ix_audit_events_actor_event_ts", table_name="audit_events")
