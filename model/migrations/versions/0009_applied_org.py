"""applied org: a digest of the organisation last applied, so unchanged runs skip it

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import model.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    # Empty: the first run after the upgrade applies the organisation once, as before.
    op.create_table(
        "applied_org",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("applied_at", model.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applied_org")),
    )


def downgrade() -> None:
    op.drop_table("applied_org")
