"""pending records index: the records waiting to be normalized, in id order

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 00:58:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("raw_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_raw_record_needs_normalizing"))
        batch_op.create_index(
            "ix_raw_record_pending",
            ["id"],
            unique=False,
            sqlite_where=sa.text("needs_normalizing = 1"),
            postgresql_where=sa.text("needs_normalizing"),
        )


def downgrade() -> None:
    with op.batch_alter_table("raw_record", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_raw_record_pending",
            sqlite_where=sa.text("needs_normalizing = 1"),
            postgresql_where=sa.text("needs_normalizing"),
        )
        batch_op.create_index(
            batch_op.f("ix_raw_record_needs_normalizing"), ["needs_normalizing"], unique=False
        )
