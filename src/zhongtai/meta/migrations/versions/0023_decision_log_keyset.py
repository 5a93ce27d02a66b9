"""decisions: (at, id) and (capability, at, id) indexes for the log's keyset pages (newest first)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 16:00:00.000000
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index("ix_decisions_at_id", ["at", "id"], unique=False)
        batch_op.create_index("ix_decisions_capability_at_id", ["capability", "at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_decisions_capability_at_id")
        batch_op.drop_index("ix_decisions_at_id")
