"""What a normalizer may know besides the record: the config, the source, and "now"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from model import Source
from pipelines.normalize.drafts import InvolvementDraft, ItemDraft
from workhub.config import SourceConfig, WorkhubConfig
from workhub.jsonio import loads

__all__ = ["Fragment", "NormalizeContext", "Record", "source_kinds"]


@dataclass(slots=True)
class Record:
    """A raw record as normalization reads it: its columns, not an ORM object.

    Read with Core rather than loaded as `RawRecord`: the ORM's identity map, instance
    state and change tracking cost more than the normalizer itself for a record that
    comes out unchanged, which is most of them (a 10k re-normalization went from 3.56 s
    to 1.45 s with this and with writing back only the records that changed).

    The payload is kept as the stored JSON text and decoded when a normalizer asks for
    it; the planner forgets it again once the record's fragment is made. Decoding a
    batch's payloads all at once, before normalizing any, left them out of the CPU's
    caches by the time they were read: a 100,000-record store decoded at 30.5 µs a
    record so, and at 17.2 µs one record at a time.
    """

    id: int
    source_id: int
    stream: str
    #: the payload's JSON text, as stored
    raw: str | bytes
    deleted_at: datetime | None
    delete_reason: str | None
    item_key: str | None
    quarantine_reason: str | None
    #: With `deleted_at`, what tells whether landing changed the record since it was read.
    content_hash: str | None = None
    #: The work item that `item_key` names, as read with the record: its id, content
    #: hash and deletion (id None: there is none).
    item_id: int | None = None
    item_hash: str | None = None
    item_deleted_at: datetime | None = None
    #: Whether another live record describes that item too (None: not read).
    shared: bool | None = None
    _decoded: dict[str, Any] | None = field(default=None, init=False, repr=False)

    @property
    def payload(self) -> dict[str, Any]:
        """The payload as the source sent it, decoded on first use."""
        if self._decoded is None:
            self._decoded = loads(self.raw)
        return self._decoded

    def forget_payload(self) -> None:
        """Let the decoded payload go (it is decoded again if asked for)."""
        self._decoded = None


def source_kinds(session: Session) -> dict[int, tuple[str, str]]:
    """Every source by database id, as (slug, kind): what `NormalizeContext.sources` holds."""
    return {s.id: (s.slug, s.kind) for s in session.scalars(select(Source))}


@dataclass(frozen=True)
class NormalizeContext:
    """The config, the sources by database id, and the injected current time."""

    config: WorkhubConfig
    now: datetime
    sources: dict[int, tuple[str, str]]  # source id -> (slug, kind)

    def source_config(self, source_id: int) -> SourceConfig | None:
        """The config of the source a record came from (None if it left the config)."""
        return self._configs.get(self.sources[source_id][0])

    @cached_property
    def _configs(self) -> dict[str, SourceConfig]:
        # Asked once per record: a scan of the config's sources each time added up.
        return {source.name: source for source in self.config.sources}

    @cached_property
    def org_timezone(self) -> ZoneInfo:
        """The organisation's default zone, for floating times (asked for by most records)."""
        return ZoneInfo(self.config.org.timezone)


@dataclass
class Fragment:
    """One raw record's view of an item. Several records may describe one item (the same
    meeting in several calendars); `merge` joins their fragments."""

    key: str
    record_id: int
    source_id: int
    draft: ItemDraft
    # Higher wins when fragments disagree on the item's own fields.
    rank: tuple[int | float | str, ...] = ()
    # The identity whose own copy this is (its responses are authoritative for them).
    owner: InvolvementDraft | None = None

    @classmethod
    def of(
        cls,
        record: Record,
        draft: ItemDraft,
        *,
        rank: tuple[int | float | str, ...] = (),
        owner: InvolvementDraft | None = None,
    ) -> Fragment:
        """A fragment for a record."""
        return cls(draft.key, record.id, record.source_id, draft, rank=rank, owner=owner)
