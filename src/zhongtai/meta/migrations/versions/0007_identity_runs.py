"""identity runs, the current run per identity, datasets produced by the platform

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 04:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"  # 0006 (on-demand views, feature groups) landed on main first
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("identity_name", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("persons", sa.BigInteger(), nullable=False),
        sa.Column("merges", sa.Integer(), nullable=False),
        sa.Column("splits", sa.Integer(), nullable=False),
        sa.Column("next_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("identity_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_runs_identity_name"), ["identity_name"], unique=False)

    op.create_table(
        "identity_current",
        sa.Column("identity_name", sa.String(length=128), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["identity_runs.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("identity_name"),
    )
    # Datasets produced by the platform (OneID's persons and crosswalk) have no source.
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.alter_column("source_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.alter_column("source_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("identity_current")
    with op.batch_alter_table("identity_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_runs_identity_name"))
    op.drop_table("identity_runs")
