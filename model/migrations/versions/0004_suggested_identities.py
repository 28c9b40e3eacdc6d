"""suggested identities

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 20:34:57.319324
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suggested_person_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_identity_suggested_person_id_person"),
            "person",
            ["suggested_person_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:

    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_identity_suggested_person_id_person"), type_="foreignkey"
        )
        batch_op.drop_column("suggested_person_id")
