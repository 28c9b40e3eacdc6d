"""Planning a batch of normalization: which item each raw record describes, each item
rebuilt from all the records that describe it, and what that changes, without writing.

Kept apart from the writing (`runner`) so that worker processes can plan batches while
one process writes them (`workers`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Text, cast, exists, select
from sqlalchemy.orm import Session, aliased

from connectors.paging import chunked
from model import RawRecord, Role, WorkItem
from model.bulk import IN_LIST, one_of
from pipelines.normalize.context import Fragment, NormalizeContext, Record
from pipelines.normalize.drafts import InvolvementDraft, ItemDraft, NormalizeError

__all__ = ["IN_LIST", "BatchPlan", "NormalizeStats", "Writes", "merge", "normalizer",
           "plan_batch", "read_records"]

#: raw record -> the fragment of the item it describes, or None when it describes nothing
#: to track (a newsletter, say). One per kind: `pipelines.normalize.<kind>.normalize_record`.
Normalizer = Callable[[Record, NormalizeContext], Fragment | None]


@cache
def normalizer(kind: str) -> Normalizer:
    """The normalizer of a kind of source (looked up once: it is asked once a record)."""
    try:
        module = importlib.import_module(f"pipelines.normalize.{kind}")
    except ModuleNotFoundError as exc:
        raise NormalizeError(f"no normalizer for source kind {kind!r}") from exc
    found: Normalizer = module.normalize_record
    return found


@dataclass
class NormalizeStats:
    """What one normalization did."""

    records: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0

    def add(self, other: NormalizeStats) -> None:
        """Count another part's work in this total."""
        for name in (f.name for f in fields(self)):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def merge(fragments: list[Fragment]) -> tuple[ItemDraft, int]:
    """One draft from every record's view of an item, and the source it is credited to.

    The highest-ranked fragment gives the item's own fields; involvements are the union,
    and each person's response comes from their own copy when there is one.
    """
    ordered = sorted(fragments, key=lambda f: f.rank, reverse=True)
    # One entry per person and role: a reporter may also be the creator and the assignee.
    people: dict[tuple[str, str, Role], InvolvementDraft] = {}
    for fragment in ordered:
        for inv in fragment.draft.involvements:
            people.setdefault((inv.namespace, inv.value, inv.role), inv)
    # A person's own copy states their own answer (the organizer's copy may lag behind).
    for fragment in ordered:
        if fragment.owner is None:
            continue
        me = (fragment.owner.namespace, fragment.owner.value)
        for inv in fragment.draft.involvements:
            key = (inv.namespace, inv.value, inv.role)
            if (inv.namespace, inv.value) == me and inv.response is not None and key in people:
                people[key] = replace(people[key], response=inv.response)
    best = ordered[0]
    involvements = sorted(people.values(), key=lambda i: (i.namespace, i.value, i.role))
    # The winning fragment's draft becomes the item's: fragments are made for this merge
    # alone, and copying the draft (`dataclasses.replace`) cost 6 % of a re-normalization.
    best.draft.involvements = involvements
    return best.draft, best.source_id


class _Stored(NamedTuple):
    """What a batch needs of an item already in the graph (not its decoded columns)."""

    id: int
    content_hash: str
    deleted_at: datetime | None


@dataclass
class Writes:
    """What a batch will write, gathered first so it can be written in a few Core
    executemany statements rather than as one ORM object per item."""

    new: list[tuple[dict[str, Any], ItemDraft]] = field(default_factory=list)
    changed: list[tuple[dict[str, Any], ItemDraft]] = field(default_factory=list)
    tombstones: list[dict[str, Any]] = field(default_factory=list)


def _stage_item(writes: Writes, stored: _Stored | None, draft: ItemDraft | None,
                source_id: int | None, slugs: dict[int, tuple[str, str]], reason: str | None,
                now: datetime, stats: NormalizeStats) -> None:
    """Tombstone, skip (same digest), or stage an item's new state for the runner to write."""
    if draft is None or source_id is None:
        if stored is not None and stored.deleted_at is None:
            writes.tombstones.append({"id": stored.id, "deleted_at": now,
                                      "delete_reason": reason or "gone from every source"})
            stats.deleted += 1
        return
    digest = draft.digest(slugs[source_id][0])
    if stored is not None and stored.content_hash == digest and stored.deleted_at is None:
        stats.unchanged += 1
        return
    row = draft.item_fields() | {"source_id": source_id, "content_hash": digest,
                                 "deleted_at": None, "delete_reason": None}
    if stored is None:
        writes.new.append((row, draft))
        stats.new += 1
    else:
        writes.changed.append((row | {"id": stored.id}, draft))
        stats.changed += 1


def _fragment(record: Record, ctx: NormalizeContext) -> Fragment | None:
    return normalizer(ctx.sources[record.source_id][1])(record, ctx)


_OTHER = aliased(RawRecord)

#: The columns normalization reads, in `Record`'s order. The payload as text: decoded by
#: `Record` when a normalizer reads it (PostgreSQL's driver would decode a JSON column
#: as it fetches the rows). Then the item the record's key names and whether other live
#: records describe it: what a batch would otherwise look up by key in two more queries.
_RECORD_COLUMNS = (RawRecord.id, RawRecord.source_id, RawRecord.stream,
                   cast(RawRecord.payload, Text),
                   RawRecord.deleted_at, RawRecord.delete_reason, RawRecord.item_key,
                   RawRecord.quarantine_reason, RawRecord.content_hash,
                   WorkItem.id, WorkItem.content_hash, WorkItem.deleted_at,
                   exists().where(_OTHER.item_key == RawRecord.item_key,
                                  _OTHER.id != RawRecord.id, _OTHER.deleted_at.is_(None),
                                  _OTHER.quarantine_reason.is_(None)))


def read_records(session: Session, *where: Any, limit: int | None = None) -> list[Record]:
    """The raw records that match, in id order, as plain `Record`s."""
    query = (select(*_RECORD_COLUMNS)
             .outerjoin(WorkItem, WorkItem.key == RawRecord.item_key)
             .where(*where).order_by(RawRecord.id).limit(limit))
    # On the session's connection: a select run by the session goes through the ORM's
    # loading of rows, and plain rows are all a `Record` needs. Fetched in one call:
    # iterating the result fetched row by row.
    return [Record(*row) for row in session.connection().execute(query).all()]


@dataclass
class BatchPlan:
    """What normalizing one batch will write: its items, and the records whose item,
    quarantine or waiting changed. Plain data, so a worker process can hand it over."""

    #: Every record the batch took off the queue.
    taken: list[int]
    #: Records to update by id: `item_key`, `quarantine_reason`, `needs_normalizing`.
    records: list[dict[str, Any]]
    writes: Writes
    stats: NormalizeStats
    #: Every record the plan read, as it read it (content hash, deleted_at): a plan
    #: written while landing goes on writes only the records that are still so.
    versions: dict[int, tuple[str | None, datetime | None]] = field(default_factory=dict)


def plan_batch(session: Session, ctx: NormalizeContext, records: list[Record], *,
               moves_wait: bool = False) -> BatchPlan:
    """Rebuild every item the records describe and compare it with the graph; read only.

    `moves_wait`: for batches planned side by side (`workers`), a record that now
    describes an item it did not describe before is not moved but flagged to wait, so
    every plan finds each item's records by the same, stored, keys.
    """
    stats = NormalizeStats()
    # What each record said before: a record whose item and quarantine come out the same
    # is not written, so an unchanged re-normalization writes no raw record at all.
    before = {r.id: (r.item_key, r.quarantine_reason) for r in records}
    # The items the records' stored keys name, as read with them. Such a key needs no
    # lookup, nor do its records unless another record shares it: in a sweep, almost none.
    stored: dict[str, _Stored] = {}
    read: set[str] = set()
    shared: set[str] = set()
    for r in records:
        if r.item_key and r.shared is not None:
            read.add(r.item_key)
            if r.shared:
                shared.add(r.item_key)
            if r.item_id is not None:
                stored[r.item_key] = _Stored(r.item_id, r.item_hash or "", r.item_deleted_at)
    again: set[int] = set()
    affected: set[str] = set()
    reasons: dict[str, str] = {}
    fresh: dict[int, Fragment] = {}
    for record in records:
        stats.records += 1
        if record.item_key:
            affected.add(record.item_key)
        if record.deleted_at is not None:
            if record.item_key:
                reasons[record.item_key] = record.delete_reason or "deleted at the source"
            continue
        try:
            fragment = _fragment(record, ctx)
        except NormalizeError as exc:
            record.quarantine_reason, record.item_key = str(exc), None
            stats.quarantined += 1
            continue
        finally:
            record.forget_payload()  # read once, while it is in the CPU's caches
        if moves_wait and fragment is not None and fragment.key != record.item_key:
            again.add(record.id)
            continue
        record.quarantine_reason = None
        if fragment is None:  # nothing to track (a newsletter, say): no item
            record.item_key = None
            continue
        record.item_key = fragment.key
        fresh[record.id] = fragment
        affected.add(fragment.key)
    keys = sorted(affected)
    # A few queries for the whole batch rather than two per item, and only for the keys
    # the read did not answer (new ones, or shared). The records that describe the
    # batch's items are looked up by id first: most are in the batch already, and
    # reading them again would decode their payloads twice.
    describing: dict[str, list[Record]] = {key: [] for key in keys}
    # The batch's own records under the keys they have now; the database still has the
    # keys they had before, until the plan is written.
    ids = {r.id for r in records if r.item_key in describing and r.quarantine_reason is None
           and r.deleted_at is None}
    # On the session's connection, as `read_records`: plain rows, not the ORM's loading
    # (which was a tenth of a re-normalization's CPU here).
    connection = session.connection()
    unread = [key for key in keys if key not in read]
    for chunk in chunked(sorted({*unread, *(shared & affected)}), IN_LIST):
        ids.update(connection.scalars(select(RawRecord.id).where(
            one_of(connection, RawRecord.item_key, chunk),
            RawRecord.deleted_at.is_(None),
            RawRecord.quarantine_reason.is_(None))).all())
    for chunk in chunked(unread, IN_LIST):
        stored.update((key, _Stored(item_id, digest, deleted_at))
                      for item_id, key, digest, deleted_at in connection.execute(
                          select(WorkItem.id, WorkItem.key, WorkItem.content_hash,
                                 WorkItem.deleted_at)
                          .where(one_of(connection, WorkItem.key, chunk))).all())
    loaded = {record.id: record for record in records}
    for more in chunked(sorted(ids - loaded.keys()), IN_LIST):
        for extra in read_records(session, one_of(connection, RawRecord.id, more)):
            loaded[extra.id] = extra
            before[extra.id] = (extra.item_key, extra.quarantine_reason)
    for record_id in sorted(ids):
        record = loaded[record_id]
        # A batch record found under its old key goes where it is now, if anywhere.
        if record.item_key in describing and record.quarantine_reason is None:
            describing[record.item_key].append(record)
    writes = Writes()
    for key in keys:
        fragments: list[Fragment] = []
        for record in describing[key]:
            known = fresh.get(record.id)
            if known is None:
                try:
                    known = _fragment(record, ctx)
                except NormalizeError as exc:  # a mapping change can break an old record
                    record.quarantine_reason, record.item_key = str(exc), None
                    stats.quarantined += 1
                    continue
                finally:
                    record.forget_payload()
            if known is None or known.key != key:  # the record now describes another item
                if not moves_wait:
                    record.item_key = known.key if known else None
                again.add(record.id)
                continue
            fragments.append(known)
        if fragments:
            draft, source_id = merge(fragments)
            _stage_item(writes, stored.get(key), draft, source_id, ctx.sources, None, ctx.now,
                        stats)
        else:
            _stage_item(writes, stored.get(key), None, None, ctx.sources, reasons.get(key),
                        ctx.now, stats)
    rows = [{"id": r.id, "item_key": r.item_key, "quarantine_reason": r.quarantine_reason,
             "needs_normalizing": r.id in again}
            for r in loaded.values()
            if r.id in again or (r.item_key, r.quarantine_reason) != before[r.id]]
    versions = {r.id: (r.content_hash, r.deleted_at) for r in loaded.values()}
    return BatchPlan([r.id for r in records], rows, writes, stats, versions)


