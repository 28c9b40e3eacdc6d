"""The connector contract: a Source exposes Streams; a Stream reads Pages after a Cursor.

A stream *declares* what it is (name, primary key, cursor field, paginator) and how to
fetch one page; the looping, loop detection and cursor hand-over live here and in
`connectors.paging`, never in a connector.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["Cursor", "Page", "RawItem", "Snapshot", "Source", "Stream"]

# A cursor is small JSON state (a watermark or a sync token per collection), never a list of ids.
Cursor = dict[str, Any]


@dataclass(frozen=True, slots=True)
class RawItem:
    """One record as the source sent it, keyed by its external id."""

    external_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every external id that exists in `scope` (an external-id prefix; "" for the whole
    stream) now; landing tombstones the rest there.

    With `max_delete_share`, a snapshot that would tombstone more than that share of the
    live records in scope is refused instead (the mass-deletion guard): nothing changes.
    """

    scope: str
    present_ids: frozenset[str]
    reason: str = "no longer listed by the source"
    max_delete_share: float | None = None


@dataclass(slots=True)
class Page:
    """One page of a stream: records, deletions, and the cursor that follows it.

    `cursor` is stored in the same transaction as the records; None keeps the old one.
    """

    records: list[RawItem] = field(default_factory=list)
    deleted: dict[str, str] = field(default_factory=dict)  # external id -> reason
    cursor: Cursor | None = None
    snapshot: Snapshot | None = None
    requests: int = 0


class Stream(ABC):
    """A declared stream of raw records."""

    #: The stream's name, unique within its source.
    name: ClassVar[str]
    #: The payload field that identifies a record.
    primary_key: ClassVar[str]
    #: The payload field the cursor advances on (None for token-based streams).
    cursor_field: ClassVar[str | None] = None

    @abstractmethod
    def read(self, cursor: Cursor | None) -> Iterator[Page]:
        """Pages of records changed after `cursor`, each carrying the cursor that follows it."""


class Source(ABC):
    """One configured connection to an external system."""

    #: The kind of system, e.g. "caldav".
    kind: ClassVar[str]
    #: Whether the streams may read at the same time, through this one connector: only
    #: where its client and what it caches are safe to share between threads.
    parallel_streams: ClassVar[bool] = False

    def __init__(self, name: str) -> None:
        self.name = name

    @abstractmethod
    def streams(self) -> list[Stream]:
        """The streams this source offers."""

    def stream(self, name: str) -> Stream:
        """The stream with this name."""
        for stream in self.streams():
            if stream.name == name:
                return stream
        raise KeyError(f"source {self.name!r} has no stream {name!r}")

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release connections; the default holds none."""
