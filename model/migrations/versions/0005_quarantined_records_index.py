"""quarantined records index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 21:41:21.819104
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("raw_record", schema=None) as batch_op:
        batch_op.create_index(
            "ix_raw_record_quarantined",
            ["source_id", "stream"],
            unique=False,
            sqlite_where=sa.text("quarantine_reason IS NOT NULL"),
            postgresql_where=sa.text("quarantine_reason IS NOT NULL"),
        )


def downgrade() -> None:

    with op.batch_alter_table("raw_record", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_raw_record_quarantined",
            sqlite_where=sa.text("quarantine_reason IS NOT NULL"),
            postgresql_where=sa.text("quarantine_reason IS NOT NULL"),
        )
