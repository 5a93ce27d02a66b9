"""traffic: live splits per capability; the arm of each decision and the answer a shadow scored beside

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "traffic_splits",
        sa.Column("capability", sa.String(length=128), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("principal", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("capability"),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("arm", sa.String(length=63), nullable=True))
        batch_op.add_column(sa.Column("shadow_of", sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f("ix_decisions_shadow_of"), ["shadow_of"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decisions_shadow_of"))
        batch_op.drop_column("shadow_of")
        batch_op.drop_column("arm")
    op.drop_table("traffic_splits")
