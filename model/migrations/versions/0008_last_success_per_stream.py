"""last success per stream: `as_of` reads one row per stream instead of every run

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 07:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import model.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "last_success",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("finished_at", model.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
            name=op.f("fk_last_success_source_id_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", "stream", name=op.f("pk_last_success")),
    )
    # What the runs so far say: the newest successful finish of each stream.
    op.execute(
        "INSERT INTO last_success (source_id, stream, finished_at) "
        "SELECT source_id, stream, max(finished_at) FROM sync_run "
        "WHERE status = 'success' AND finished_at IS NOT NULL GROUP BY source_id, stream"
    )


def downgrade() -> None:
    op.drop_table("last_success")
