"""fields.pii holds the kinds of PII found in free text (`text:email,id_card,bank_card,phone,landline`)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 06:20:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"  # 0008 and 0009 landed on main first
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fields", schema=None) as batch_op:
        batch_op.alter_column("pii", existing_type=sa.String(length=32), type_=sa.String(length=64))


def downgrade() -> None:
    with op.batch_alter_table("fields", schema=None) as batch_op:
        batch_op.alter_column("pii", existing_type=sa.String(length=64), type_=sa.String(length=32))
