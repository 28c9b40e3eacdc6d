"""item references and links by reference

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 20:27:20.793126

Links now name their target by reference, so a link can exist before its target is
synced. The link table never held rows before this revision, so it is rebuilt.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("link")
    op.create_table(
        "link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_item_id", sa.Integer(), nullable=False),
        sa.Column("to_ref", sa.String(length=300), nullable=False),
        sa.Column("to_item_id", sa.Integer(), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("evidence", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["from_item_id"],
            ["work_item.id"],
            name=op.f("fk_link_from_item_id_work_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_item_id"],
            ["work_item.id"],
            name=op.f("fk_link_to_item_id_work_item"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link")),
        sa.UniqueConstraint(
            "from_item_id", "to_ref", "type", name=op.f("uq_link_from_item_id_to_ref_type")
        ),
    )
    with op.batch_alter_table("link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_to_item_id"), ["to_item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_link_to_ref"), ["to_ref"], unique=False)
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ref", sa.String(length=300), nullable=True))
        batch_op.create_index(batch_op.f("ix_work_item_ref"), ["ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_item_ref"))
        batch_op.drop_column("ref")
    op.drop_table("link")
    op.create_table(
        "link",
        sa.Column("from_item_id", sa.Integer(), nullable=False),
        sa.Column("to_item_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("evidence", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["from_item_id"],
            ["work_item.id"],
            name=op.f("fk_link_from_item_id_work_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_item_id"],
            ["work_item.id"],
            name=op.f("fk_link_to_item_id_work_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("from_item_id", "to_item_id", "type", name=op.f("pk_link")),
    )
    with op.batch_alter_table("link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_to_item_id"), ["to_item_id"], unique=False)
