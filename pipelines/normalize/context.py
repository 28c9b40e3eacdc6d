"""What a normalizer may know besides the record: the config, the source, and "now"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from model import RawRecord
from pipelines.normalize.drafts import InvolvementDraft, ItemDraft
from workhub.config import SourceConfig, WorkhubConfig

__all__ = ["Fragment", "NormalizeContext"]


@dataclass(frozen=True)
class NormalizeContext:
    """The config, the sources by database id, and the injected current time."""

    config: WorkhubConfig
    now: datetime
    sources: dict[int, tuple[str, str]]  # source id -> (slug, kind)

    def source_config(self, source_id: int) -> SourceConfig | None:
        """The config of the source a record came from (None if it left the config)."""
        slug, _ = self.sources[source_id]
        try:
            return self.config.source(slug)
        except KeyError:
            return None

    @property
    def org_timezone(self) -> ZoneInfo:
        """The organisation's default zone, for floating times."""
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
        record: RawRecord,
        draft: ItemDraft,
        *,
        rank: tuple[int | float | str, ...] = (),
        owner: InvolvementDraft | None = None,
    ) -> Fragment:
        """A fragment for a record."""
        return cls(draft.key, record.id, record.source_id, draft, rank=rank, owner=owner)
