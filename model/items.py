"""Work items and the edges around them: involvements, links and occurrences."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import Mapped, mapped_column

from model.base import Base, JSONType

__all__ = [
    "BusyStatus",
    "Involvement",
    "ItemKind",
    "Link",
    "Occurrence",
    "Response",
    "Role",
    "StatusCategory",
    "WorkItem",
]


class ItemKind(enum.StrEnum):
    """The kinds of work a person does."""

    issue = "issue"
    task = "task"
    pull_request = "pull_request"
    email = "email"
    meeting = "meeting"
    page = "page"
    time_off = "time_off"
    duty = "duty"
    goal = "goal"


class StatusCategory(enum.StrEnum):
    """Where an item stands, whatever the tool calls its status."""

    todo = "todo"
    in_progress = "in_progress"
    blocked = "blocked"
    done = "done"
    cancelled = "cancelled"


class BusyStatus(enum.StrEnum):
    """How a calendar entry blocks its people's time."""

    busy = "busy"
    tentative = "tentative"
    free = "free"
    oof = "oof"


class Role(enum.StrEnum):
    """A person's part in an item."""

    assignee = "assignee"
    reporter = "reporter"
    requester = "requester"
    reviewer = "reviewer"
    author = "author"
    editor = "editor"
    organizer = "organizer"
    attendee = "attendee"
    recipient = "recipient"
    watcher = "watcher"


class Response(enum.StrEnum):
    """An attendee's answer to an invitation (iCalendar PARTSTAT, EWS ResponseType)."""

    accepted = "accepted"
    declined = "declined"
    tentative = "tentative"
    needs_action = "needs_action"


def _enum(cls: type[enum.StrEnum]) -> SAEnum:
    # Stored as plain strings: adding a value must not need an ALTER TYPE on PostgreSQL.
    return SAEnum(cls, native_enum=False, length=32, validate_strings=True)


class WorkItem(Base):
    """One unit of work of one kind, wherever it came from."""

    __tablename__ = "work_item"
    __table_args__ = (
        Index(None, "source_id", "external_id"),
        Index(None, "kind", "status_category"),
        Index(None, "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Global identity of the item: "<source>:<external id>", or "ical:<UID>" for calendar
    # entries, so the same meeting seen in several calendars and tools is one row.
    key: Mapped[str] = mapped_column(String(600), unique=True)
    # What people call the item in text: "PLAT-12", "acme/api#7"; links point at it.
    ref: Mapped[str | None] = mapped_column(String(300), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(500))
    kind: Mapped[ItemKind] = mapped_column(_enum(ItemKind))
    title: Mapped[str] = mapped_column(String(1000))
    url: Mapped[str] = mapped_column(String(2000))
    container: Mapped[str | None] = mapped_column(String(500))
    status_raw: Mapped[str | None] = mapped_column(String(100))
    status_category: Mapped[StatusCategory] = mapped_column(_enum(StatusCategory))
    priority: Mapped[int | None]
    created_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    start_at: Mapped[datetime | None]
    end_at: Mapped[datetime | None]
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    estimate_hours: Mapped[float | None] = mapped_column(Float)
    estimate_source: Mapped[str | None] = mapped_column(String(32))
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    busy_status: Mapped[BusyStatus | None] = mapped_column(_enum(BusyStatus))
    recurring: Mapped[bool] = mapped_column(Boolean, default=False)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    deleted_at: Mapped[datetime | None]
    delete_reason: Mapped[str | None] = mapped_column(String(200))


class Involvement(Base):
    """A person's (or a not yet resolved identity's) role on an item."""

    __tablename__ = "involvement"
    __table_args__ = (
        UniqueConstraint("item_id", "identity_id", "role"),
        Index(None, "person_id", "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("work_item.id", ondelete="CASCADE"))
    identity_id: Mapped[int] = mapped_column(ForeignKey("identity.id", ondelete="CASCADE"))
    # Copied from the identity so the 360 view needs no join; kept in step on re-resolution.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    role: Mapped[Role] = mapped_column(_enum(Role))
    response: Mapped[Response | None] = mapped_column(_enum(Response))
    share: Mapped[float | None] = mapped_column(Float)


class Link(Base):
    """A typed edge from an item to another, named by the other's reference.

    Types: parent, blocks, relates, duplicates, implements, references. The target is
    written as a reference (`ref` of a work item: "PLAT-12", "acme/api#7") because it may
    not have been synced yet; `to_item_id` is filled once an item with that reference
    exists, so links are queryable in both directions.
    """

    __tablename__ = "link"
    __table_args__ = (
        UniqueConstraint("from_item_id", "to_ref", "type"),
        Index(None, "to_item_id"),
        Index(None, "to_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    from_item_id: Mapped[int] = mapped_column(ForeignKey("work_item.id", ondelete="CASCADE"))
    to_ref: Mapped[str] = mapped_column(String(300))
    to_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_item.id", ondelete="SET NULL"))
    type: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[str | None] = mapped_column(String(500))


class Occurrence(Base):
    """One concrete time span of a (possibly recurring) meeting or absence."""

    __tablename__ = "occurrence"
    __table_args__ = (Index(None, "start_at"),)

    item_id: Mapped[int] = mapped_column(
        ForeignKey("work_item.id", ondelete="CASCADE"), primary_key=True
    )
    start_at: Mapped[datetime] = mapped_column(primary_key=True)
    end_at: Mapped[datetime]
    # All-day spans are dates, not instants: start/end hold midnight of the dates as UTC
    # wall-clock values and the reader places them in the person's own time zone.
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    busy_status: Mapped[BusyStatus | None] = mapped_column(_enum(BusyStatus))
