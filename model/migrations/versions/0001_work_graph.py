"""work graph

Revision ID: 0001
Revises:
Create Date: 2026-11-25 19:46:02.527915
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import model.base

revision: str = "0001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=8), nullable=True),
        sa.Column("manager_id", sa.Integer(), nullable=True),
        sa.Column(
            "working_hours",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["manager_id"],
            ["person.id"],
            name=op.f("fk_person_manager_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("slug", name=op.f("uq_person_slug")),
    )
    op.create_table(
        "source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("created_at", model.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source")),
        sa.UniqueConstraint("slug", name=op.f("uq_source_slug")),
    )
    op.create_table(
        "identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.String(length=32), nullable=True),
        sa.Column("evidence", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_identity_person_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity")),
        sa.UniqueConstraint("namespace", "value", name=op.f("uq_identity_namespace_value")),
    )
    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_person_id"), ["person_id"], unique=False)

    op.create_table(
        "raw_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=500), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("fetched_at", model.base.UTCDateTime(), nullable=False),
        sa.Column("deleted_at", model.base.UTCDateTime(), nullable=True),
        sa.Column("delete_reason", sa.String(length=200), nullable=True),
        sa.Column("needs_normalizing", sa.Boolean(), nullable=False),
        sa.Column("item_key", sa.String(length=600), nullable=True),
        sa.Column("quarantine_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
            name=op.f("fk_raw_record_source_id_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raw_record")),
        sa.UniqueConstraint(
            "source_id",
            "stream",
            "external_id",
            name=op.f("uq_raw_record_source_id_stream_external_id"),
        ),
    )
    with op.batch_alter_table("raw_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_raw_record_item_key"), ["item_key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_raw_record_needs_normalizing"), ["needs_normalizing"], unique=False
        )

    op.create_table(
        "sync_cursor",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column(
            "value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", model.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
            name=op.f("fk_sync_cursor_source_id_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", "stream", name=op.f("pk_sync_cursor")),
    )
    op.create_table(
        "sync_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("batch", sa.String(length=64), nullable=True),
        sa.Column("started_at", model.base.UTCDateTime(), nullable=False),
        sa.Column("finished_at", model.base.UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("quarantined", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
            name=op.f("fk_sync_run_source_id_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_run")),
    )
    with op.batch_alter_table("sync_run", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sync_run_source_id"), ["source_id", "stream", "started_at"], unique=False
        )

    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("manager_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["manager_id"],
            ["person.id"],
            name=op.f("fk_team_manager_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team")),
        sa.UniqueConstraint("slug", name=op.f("uq_team_slug")),
    )
    op.create_table(
        "work_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=600), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=500), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "issue",
                "task",
                "pull_request",
                "email",
                "meeting",
                "page",
                "time_off",
                "duty",
                "goal",
                name="itemkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=1000), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("container", sa.String(length=500), nullable=True),
        sa.Column("status_raw", sa.String(length=100), nullable=True),
        sa.Column(
            "status_category",
            sa.Enum(
                "todo",
                "in_progress",
                "blocked",
                "done",
                "cancelled",
                name="statuscategory",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("created_at", model.base.UTCDateTime(), nullable=True),
        sa.Column("updated_at", model.base.UTCDateTime(), nullable=True),
        sa.Column("due_at", model.base.UTCDateTime(), nullable=True),
        sa.Column("start_at", model.base.UTCDateTime(), nullable=True),
        sa.Column("end_at", model.base.UTCDateTime(), nullable=True),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("estimate_hours", sa.Float(), nullable=True),
        sa.Column("estimate_source", sa.String(length=32), nullable=True),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column(
            "busy_status",
            sa.Enum(
                "busy", "tentative", "free", "oof", name="busystatus", native_enum=False, length=32
            ),
            nullable=True,
        ),
        sa.Column("recurring", sa.Boolean(), nullable=False),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("deleted_at", model.base.UTCDateTime(), nullable=True),
        sa.Column("delete_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["source.id"],
            name=op.f("fk_work_item_source_id_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_item")),
        sa.UniqueConstraint("key", name=op.f("uq_work_item_key")),
    )
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_item_due_at"), ["due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_work_item_kind"), ["kind", "status_category"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_work_item_source_id"), ["source_id", "external_id"], unique=False
        )

    op.create_table(
        "involvement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column(
            "role",
            sa.Enum(
                "assignee",
                "reporter",
                "requester",
                "reviewer",
                "author",
                "editor",
                "organizer",
                "attendee",
                "recipient",
                "watcher",
                name="role",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "response",
            sa.Enum(
                "accepted",
                "declined",
                "tentative",
                "needs_action",
                name="response",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("share", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identity.id"],
            name=op.f("fk_involvement_identity_id_identity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["work_item.id"],
            name=op.f("fk_involvement_item_id_work_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_involvement_person_id_person"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_involvement")),
        sa.UniqueConstraint(
            "item_id", "identity_id", "role", name=op.f("uq_involvement_item_id_identity_id_role")
        ),
    )
    with op.batch_alter_table("involvement", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_involvement_person_id"), ["person_id", "role"], unique=False
        )

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

    op.create_table(
        "membership",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
            name=op.f("fk_membership_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_membership_team_id_team"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", "person_id", name=op.f("pk_membership")),
    )
    op.create_table(
        "occurrence",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("start_at", model.base.UTCDateTime(), nullable=False),
        sa.Column("end_at", model.base.UTCDateTime(), nullable=False),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column(
            "busy_status",
            sa.Enum(
                "busy", "tentative", "free", "oof", name="busystatus", native_enum=False, length=32
            ),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["work_item.id"],
            name=op.f("fk_occurrence_item_id_work_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "start_at", name=op.f("pk_occurrence")),
    )
    with op.batch_alter_table("occurrence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_occurrence_start_at"), ["start_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("occurrence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_occurrence_start_at"))

    op.drop_table("occurrence")
    op.drop_table("membership")
    with op.batch_alter_table("link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_to_item_id"))

    op.drop_table("link")
    with op.batch_alter_table("involvement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_involvement_person_id"))

    op.drop_table("involvement")
    with op.batch_alter_table("work_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_item_source_id"))
        batch_op.drop_index(batch_op.f("ix_work_item_kind"))
        batch_op.drop_index(batch_op.f("ix_work_item_due_at"))

    op.drop_table("work_item")
    op.drop_table("team")
    with op.batch_alter_table("sync_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_run_source_id"))

    op.drop_table("sync_run")
    op.drop_table("sync_cursor")
    with op.batch_alter_table("raw_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_raw_record_needs_normalizing"))
        batch_op.drop_index(batch_op.f("ix_raw_record_item_key"))

    op.drop_table("raw_record")
    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_person_id"))

    op.drop_table("identity")
    op.drop_table("source")
    op.drop_table("person")
