"""raw_record.external_id compared byte by byte on PostgreSQL (collation "C")

So that the records under an id prefix (a GitHub repository's, say) are one range of the
(source_id, stream, external_id) index whatever the database's default collation.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # SQLite compares bytes already
        op.alter_column("raw_record", "external_id", type_=sa.String(500, collation="C"),
                        existing_type=sa.String(500), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("raw_record", "external_id", type_=sa.String(500),
                        existing_type=sa.String(500, collation="C"), existing_nullable=False)
