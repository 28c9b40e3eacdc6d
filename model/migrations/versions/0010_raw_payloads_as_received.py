"""raw payloads on PostgreSQL: json as received rather than jsonb, compressed with lz4

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

# Raw payloads are most of the bytes a sync writes. As `jsonb` the server parsed each on
# the way in and printed it again on the way out; `json` keeps the text (see
# `model.sync.RawRecord.payload`). Every payload over 2 KB is compressed, and with the
# default (pglz) that was an eighth of the server's CPU in a first sync; lz4 (PostgreSQL
# 14 on, when built with it) compresses about as small at a fraction of the CPU.
_LZ4 = sa.text(
    "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
)


def _payload_as(kind: str, compression: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return  # SQLite stores JSON as text already
    # Rewrites the table once. In one statement, so the rewrite compresses with the new
    # method: a change of type alone resets the column's compression to the default.
    change = f"ALTER COLUMN payload TYPE {kind} USING payload::{kind}"
    if bind.execute(_LZ4).scalar():
        change += f", ALTER COLUMN payload SET COMPRESSION {compression}"
    op.execute(f"ALTER TABLE raw_record {change}")


def upgrade() -> None:
    _payload_as("json", "lz4")


def downgrade() -> None:
    _payload_as("jsonb", "pglz")
