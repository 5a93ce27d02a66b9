"""review items: decisions routed to human review, waiting in a queue per capability for a verdict

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 12:45:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("capability", sa.String(length=128), nullable=False),
        sa.Column("queue", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=128), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("decision_id"),
    )
    with op.batch_alter_table("review_items", schema=None) as batch_op:
        for column in ("capability", "queue", "status", "assignee", "deadline"):
            batch_op.create_index(batch_op.f(f"ix_review_items_{column}"), [column], unique=False)


def downgrade() -> None:
    op.drop_table("review_items")
