"""model review records, alias history, 63-character alias columns

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 06:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"  # 0008 (retired datasets) landed on main first
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The accepted alias pattern allows 63 characters; the column held 32, so PostgreSQL refused the rest.
    with op.batch_alter_table("model_aliases", schema=None) as batch_op:
        batch_op.alter_column(
            "alias", existing_type=sa.String(length=32), type_=sa.String(length=63), existing_nullable=False
        )
    op.create_table(
        "model_reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("principal", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_model_reviews_model_version", "model_reviews", ["model_name", "version"])
    op.create_table(
        "model_alias_moves",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_name", sa.String(length=128), nullable=False),
        sa.Column("alias", sa.String(length=63), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=True),
        sa.Column("to_version", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("principal", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_model_alias_moves_model_alias", "model_alias_moves", ["model_name", "alias"])
    # Aliases set before history was kept get one move each, so history and rollback start from the truth.
    op.execute(
        "INSERT INTO model_alias_moves "
        "(model_name, alias, from_version, to_version, action, principal, at, reason) "
        "SELECT model_name, alias, NULL, version, 'set', 'unknown', updated_at, "
        "'recorded by migration 0008: earlier moves were not kept' FROM model_aliases"
    )


def downgrade() -> None:
    op.drop_index("ix_model_alias_moves_model_alias", table_name="model_alias_moves")
    op.drop_table("model_alias_moves")
    op.drop_index("ix_model_reviews_model_version", table_name="model_reviews")
    op.drop_table("model_reviews")
    with op.batch_alter_table("model_aliases", schema=None) as batch_op:
        batch_op.alter_column(
            "alias", existing_type=sa.String(length=63), type_=sa.String(length=32), existing_nullable=False
        )
