"""quality runs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quality_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("dataset_name", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows_in", sa.BigInteger(), nullable=False),
        sa.Column("rows_kept", sa.BigInteger(), nullable=False),
        sa.Column("rows_quarantined", sa.BigInteger(), nullable=False),
        sa.Column("rows_deduped", sa.BigInteger(), nullable=False),
        sa.Column("quarantine_files", sa.JSON(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("quality_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quality_runs_dataset_name"), ["dataset_name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quality_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quality_runs_dataset_name"))
    op.drop_table("quality_runs")
