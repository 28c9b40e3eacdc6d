"""The sync side of the graph: sources, raw records as received, cursors and runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from model.base import Base, JSONType, utcnow

__all__ = ["LastSuccess", "RawRecord", "Source", "SyncCursor", "SyncRun"]


class Source(Base):
    """One configured connection, named by its slug in the config."""

    __tablename__ = "source"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RawRecord(Base):
    """A payload as the source sent it (its content, in canonical JSON), with its hash."""

    __tablename__ = "raw_record"
    __table_args__ = (
        UniqueConstraint("source_id", "stream", "external_id"),
        Index(None, "item_key"),
        # Partial: only the records waiting to be normalized, in id order, so taking the
        # next batch costs the batch (a plain boolean index, or none, made PostgreSQL
        # walk the primary key past every record already done: O(n²) over a first sync).
        Index("ix_raw_record_pending", "id",
              sqlite_where=text("needs_normalizing = 1"),
              postgresql_where=text("needs_normalizing")),
        # Partial: only quarantined rows, so every view can count them for its `as_of`.
        Index("ix_raw_record_quarantined", "source_id", "stream",
              sqlite_where=text("quarantine_reason IS NOT NULL"),
              postgresql_where=text("quarantine_reason IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    stream: Mapped[str] = mapped_column(String(64))
    #: Compared byte by byte (collation "C" on PostgreSQL; SQLite's default), so that the
    #: ids under a prefix are one range of the unique index (see `pipelines.landing`).
    external_id: Mapped[str] = mapped_column(
        String(500).with_variant(String(500, collation="C"), "postgresql"))
    #: `json`, not `jsonb`, on PostgreSQL: kept as the text it was given (the canonical
    #: form its content hash is taken over: compact, keys sorted), and neither parsed on
    #: the way in nor re-printed on the way out. Payloads
    #: are most of a sync's bytes; at 100,000 records jsonb cost the server about 2.5 s
    #: to parse them and 2 s to print them again for each normalization.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
    delete_reason: Mapped[str | None] = mapped_column(String(200))
    # Set by landing whenever the record changes, cleared by normalization: the queue of
    # work for the next normalization, kept on the row so a crash loses none of it.
    needs_normalizing: Mapped[bool] = mapped_column(default=True)
    # The work item this record contributes to, as found by the last normalization.
    item_key: Mapped[str | None] = mapped_column(String(600))
    quarantine_reason: Mapped[str | None] = mapped_column(Text)


class SyncCursor(Base):
    """Where a stream resumes; it moves only in the transaction that stores its page."""

    __tablename__ = "sync_cursor"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("source.id", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SyncRun(Base):
    """One run of one stream, with what it did."""

    __tablename__ = "sync_run"
    __table_args__ = (Index(None, "source_id", "stream", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    stream: Mapped[str] = mapped_column(String(64))
    batch: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="running")
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class LastSuccess(Base):
    """When each stream last synced successfully: one row per stream, written as a run
    succeeds, so every view's `as_of` reads as many rows as there are streams (reading
    them off `sync_run` grows with every run the hub has ever made)."""

    __tablename__ = "last_success"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("source.id", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    finished_at: Mapped[datetime]
