"""raw payloads compressed with lz4 on PostgreSQL, where the server has it

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

# Raw payloads are most of the bytes a sync writes, and PostgreSQL compresses every one
# over 2 KB. With its default (pglz) that compression was an eighth of the server's CPU
# in a first sync; lz4 (PostgreSQL 14 on, when built with it) compresses about as small
# at a fraction of the CPU. Rows already stored keep their compression until rewritten.
_SUPPORTED = sa.text(
    "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
)


def _set_compression(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and bind.execute(_SUPPORTED).scalar():
        op.execute(f"ALTER TABLE raw_record ALTER COLUMN payload SET COMPRESSION {method}")


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("pglz")
