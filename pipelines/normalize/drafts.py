"""What a normalizer produces: plain drafts of graph rows, compared by content hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from typing import Any

from model import BusyStatus, ItemKind, Response, Role, StatusCategory
from workhub.jsonio import canonical

__all__ = ["InvolvementDraft", "ItemDraft", "LinkDraft", "NormalizeError", "OccurrenceDraft"]


class NormalizeError(ValueError):
    """A raw record that cannot become graph rows; it is quarantined with this reason."""


# The nested drafts are not frozen, only hashable (`unsafe_hash`): a frozen dataclass's
# __init__ sets every field through object.__setattr__, three times as slow (0.9 µs
# against 0.3 µs for seven fields), and a Jira issue makes four or five of them.
# Nothing changes a draft once made; `dataclasses.replace` makes another.


@dataclass(slots=True, unsafe_hash=True)
class InvolvementDraft:
    """A role of an identity on the item."""

    namespace: str
    value: str
    role: Role
    response: Response | None = None
    display_name: str | None = None
    share: float | None = None
    #: an email address the tool states for this identity (evidence for resolution)
    email: str | None = None


@dataclass(slots=True, unsafe_hash=True)
class OccurrenceDraft:
    """One concrete span of a calendar entry, in UTC (all-day: midnight UTC of the dates)."""

    start: datetime
    end: datetime
    all_day: bool = False
    cancelled: bool = False
    busy_status: BusyStatus | None = None


@dataclass(slots=True, unsafe_hash=True)
class LinkDraft:
    """An edge to another item, named by that item's reference ("PLAT-12", "acme/api#7").

    Types: parent, blocks, relates, duplicates, implements, references.
    """

    type: str
    to_ref: str
    evidence: str | None = None


@dataclass(slots=True)
class ItemDraft:
    """Every field of a WorkItem plus the rows that hang off it."""

    key: str
    external_id: str
    kind: ItemKind
    title: str
    url: str
    status_category: StatusCategory
    container: str | None = None
    status_raw: str | None = None
    priority: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    due_at: datetime | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    all_day: bool = False
    estimate_hours: float | None = None
    estimate_source: str | None = None
    private: bool = False
    busy_status: BusyStatus | None = None
    recurring: bool = False
    #: what people call the item in text ("PLAT-12", "acme/api#7"); links point at it
    ref: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    involvements: list[InvolvementDraft] = field(default_factory=list)
    occurrences: list[OccurrenceDraft] = field(default_factory=list)
    links: list[LinkDraft] = field(default_factory=list)

    def digest(self, source_slug: str) -> str:
        """A hash of everything the draft would write: equal digest, nothing to write."""
        # Built by hand rather than with dataclasses.asdict, which deep-copies every
        # nested draft and was most of the cost of re-normalizing an unchanged item.
        data = [source_slug, *_SCALARS(self),
                sorted(_plain(i) for i in self.involvements),
                [_plain(o) for o in self.occurrences],
                sorted(_plain(link) for link in self.links)]
        return hashlib.sha256(canonical(data)).hexdigest()

    def item_fields(self) -> dict[str, Any]:
        """The WorkItem columns of this draft."""
        return {
            name: getattr(self, name)
            for name in (
                "key",
                "external_id",
                "kind",
                "title",
                "url",
                "container",
                "status_raw",
                "status_category",
                "priority",
                "created_at",
                "updated_at",
                "due_at",
                "start_at",
                "end_at",
                "all_day",
                "estimate_hours",
                "estimate_source",
                "private",
                "busy_status",
                "recurring",
                "ref",
                "extra",
            )
        }


def _plain(draft: InvolvementDraft | OccurrenceDraft | LinkDraft) -> list[str]:
    """A nested draft as a JSON-ready list, in field order."""
    return list(map(str, _FIELDS[type(draft)](draft)))


def _getter(kind: type, leave_out: tuple[str, ...] = ()) -> attrgetter[tuple[Any, ...]]:
    # Fields are listed once (`dataclasses.fields` per call was a fifth of the digest's
    # cost), and one attrgetter reads them all in one call.
    return attrgetter(*(f.name for f in fields(kind) if f.name not in leave_out))


#: Each nested draft's fields, in order, as a tuple.
_FIELDS = {kind: _getter(kind) for kind in (InvolvementDraft, OccurrenceDraft, LinkDraft)}

#: Every scalar field of ItemDraft (the nested lists are hashed separately).
_SCALARS = _getter(ItemDraft, ("involvements", "occurrences", "links"))
