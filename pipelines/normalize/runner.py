"""Normalization: raw records that changed -> work items, rebuilt from all their records.

Landing marks each changed or deleted raw record `needs_normalizing`. This module takes
those in batches, asks the source kind's normalizer which item each record describes,
and rebuilds every affected item from *all* live records that describe it (the same
meeting in several calendars is one item). An item whose draft hashes the same as
before is not written, so re-running changes nothing. A record that cannot be read is
quarantined with its reason and the rest goes on.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from connectors.paging import chunked
from model import Involvement, Link, Occurrence, RawRecord, Role, Source, WorkItem
from model.db import REFRESH_STATISTICS_AFTER, refresh_statistics
from pipelines.heap import frozen_heap
from pipelines.identity import IdentityBook, IdentityResolver, sync_org
from pipelines.normalize.context import Fragment, NormalizeContext, Record
from pipelines.normalize.drafts import InvolvementDraft, ItemDraft, NormalizeError
from workhub.config import WorkhubConfig
from workhub.logs import get_logger

__all__ = ["NormalizeStats", "merge", "normalize", "normalizer"]

#: raw record -> the fragment of the item it describes, or None when it describes nothing
#: to track (a newsletter, say). One per kind: `pipelines.normalize.<kind>.normalize_record`.
Normalizer = Callable[[Record, NormalizeContext], Fragment | None]


def normalizer(kind: str) -> Normalizer:
    """The normalizer of a kind of source."""
    try:
        module = importlib.import_module(f"pipelines.normalize.{kind}")
    except ModuleNotFoundError as exc:
        raise NormalizeError(f"no normalizer for source kind {kind!r}") from exc
    found: Normalizer = module.normalize_record
    return found


log = get_logger(__name__)


@dataclass
class NormalizeStats:
    """What one normalization did."""

    records: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0


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


#: Bulk inserts render None as NULL, so rows with different empty columns still share a
#: statement: the ORM otherwise splits a batch by each row's pattern of Nones (seen: 2,000
#: statements for 2,000 links, and the items' RETURNING results spliced row by row).
ONE_STATEMENT = {"render_nulls": True}


class _Stored(NamedTuple):
    """What a batch needs of an item already in the graph (not its decoded columns)."""

    id: int
    content_hash: str
    deleted_at: datetime | None


@dataclass
class _Writes:
    """What a batch will write, gathered first so it can be written in a few Core
    executemany statements rather than as one ORM object per item."""

    new: list[tuple[dict[str, Any], ItemDraft]] = field(default_factory=list)
    changed: list[tuple[dict[str, Any], ItemDraft]] = field(default_factory=list)
    tombstones: list[dict[str, Any]] = field(default_factory=list)


def _stage_item(writes: _Writes, stored: _Stored | None, draft: ItemDraft | None,
                source_id: int | None, slugs: dict[int, tuple[str, str]], reason: str | None,
                now: datetime, stats: NormalizeStats) -> None:
    """Tombstone, skip (same digest), or stage an item's new state for `_write_batch`."""
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


def _targets(session: Session, refs: set[str]) -> dict[str, int]:
    """The live item each reference names (the oldest, should two tools share one)."""
    out: dict[str, int] = {}
    for chunk in chunked(sorted(refs), IN_LIST):
        for ref, item_id in session.execute(
                select(WorkItem.ref, func.min(WorkItem.id))
                .where(WorkItem.ref.in_(chunk), WorkItem.deleted_at.is_(None))
                .group_by(WorkItem.ref)):
            if ref is not None:
                out[ref] = item_id
    return out


def _write_batch(session: Session, book: IdentityBook, writes: _Writes) -> None:
    """Write the staged items, then their involvements, occurrences and links with
    executemany, and resolve the links that point at references written now."""
    for rows in (writes.tombstones, [row for row, _ in writes.changed]):
        if rows:
            session.execute(update(WorkItem), rows)  # by primary key, in one executemany
    written = [(row["id"], row["ref"], draft) for row, draft in writes.changed]
    if writes.new:
        # Ids matched back by key (unique), not by row order: asking for RETURNING in
        # parameter order made SQLite insert one row per statement.
        new_ids = dict(session.execute(
            insert(WorkItem).returning(WorkItem.key, WorkItem.id),
            [row for row, _ in writes.new], execution_options=ONE_STATEMENT).all())
        written += [(new_ids[row["key"]], row["ref"], draft) for row, draft in writes.new]
    if not written:
        return
    book.prefetch({(inv.namespace, inv.value) for _, _, d in written
                   for inv in d.involvements})
    identities = [[book.get(inv.namespace, inv.value, inv.display_name, inv.email)
                   for inv in draft.involvements] for _, _, draft in written]
    session.flush()  # one flush: ids for new identities
    for ids in chunked([row["id"] for row, _ in writes.changed], IN_LIST):
        for table in (Involvement, Occurrence):
            session.execute(delete(table).where(table.item_id.in_(ids)))
        session.execute(delete(Link).where(Link.from_item_id.in_(ids)))
    involvements: list[dict[str, Any]] = []
    occurrences: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    for (item_id, item_ref, draft), idents in zip(written, identities, strict=True):
        seen: set[tuple[int, Role]] = set()
        for inv, identity in zip(draft.involvements, idents, strict=True):
            if (identity.id, inv.role) in seen:  # two spellings of one address, say
                continue
            seen.add((identity.id, inv.role))
            involvements.append({"item_id": item_id, "identity_id": identity.id,
                                 "person_id": identity.person_id, "role": inv.role,
                                 "response": inv.response, "share": inv.share})
        occurrences.extend({"item_id": item_id, "start_at": o.start, "end_at": o.end,
                            "all_day": o.all_day, "cancelled": o.cancelled,
                            "busy_status": o.busy_status} for o in draft.occurrences)
        unique = {(link.to_ref, link.type): link for link in draft.links
                  if link.to_ref != item_ref}
        links.extend({"from_item_id": item_id, "to_ref": ref, "type": kind,
                      "evidence": link.evidence} for (ref, kind), link in unique.items())
    targets = _targets(session, {link["to_ref"] for link in links})
    for link in links:
        link["to_item_id"] = targets.get(link["to_ref"])
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (Involvement, involvements), (Occurrence, occurrences), (Link, links)]
    for table, rows in tables:
        if rows:
            session.execute(insert(table), rows, execution_options=ONE_STATEMENT)
    # Links written earlier that were waiting for these references.
    refs = sorted({ref for _, ref, _ in written if ref})
    for chunk in chunked(refs, IN_LIST):
        waiting = session.execute(select(Link.id, Link.to_ref).where(
            Link.to_ref.in_(chunk), Link.to_item_id.is_(None))).all()
        if waiting:
            found = _targets(session, {r for _, r in waiting})
            session.execute(update(Link), [{"id": i, "to_item_id": found[r]}
                                           for i, r in waiting if r in found])


def _fragment(record: Record, ctx: NormalizeContext) -> Fragment | None:
    return normalizer(ctx.sources[record.source_id][1])(record, ctx)


#: The columns normalization reads, in `Record`'s order.
_RECORD_COLUMNS = (RawRecord.id, RawRecord.source_id, RawRecord.stream, RawRecord.payload,
                   RawRecord.deleted_at, RawRecord.delete_reason, RawRecord.item_key,
                   RawRecord.quarantine_reason)


def _records(session: Session, *where: Any, limit: int | None = None) -> list[Record]:
    """The raw records that match, in id order, as plain `Record`s."""
    query = select(*_RECORD_COLUMNS).where(*where).order_by(RawRecord.id).limit(limit)
    return [Record(*row) for row in session.execute(query)]


def _normalize_batch(
    session: Session,
    ctx: NormalizeContext,
    book: IdentityBook,
    records: list[Record],
    stats: NormalizeStats,
) -> None:
    """Rebuild every item the records describe, then write back only what changed of the
    records themselves (their item, their quarantine, whether they wait again)."""
    # What each record said before: a record whose item and quarantine come out the same
    # is not written, so an unchanged re-normalization writes no raw record at all.
    before = {r.id: (r.item_key, r.quarantine_reason) for r in records}
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
        record.quarantine_reason = None
        if fragment is None:  # nothing to track (a newsletter, say): no item
            record.item_key = None
            continue
        record.item_key = fragment.key
        fresh[record.id] = fragment
        affected.add(fragment.key)
    keys = sorted(affected)
    # A few queries for the whole batch rather than two per item. The records that
    # describe the batch's items are looked up by id first: most are in the batch
    # already, and reading them again would decode their payloads twice.
    describing: dict[str, list[Record]] = {key: [] for key in keys}
    stored: dict[str, _Stored] = {}
    # The batch's own records under the keys they have now; the database still has the
    # keys they had before, until `_write_records` below.
    ids = {r.id for r in records if r.item_key in describing and r.quarantine_reason is None
           and r.deleted_at is None}
    for chunk in chunked(keys, IN_LIST):
        ids.update(session.scalars(select(RawRecord.id).where(
            RawRecord.item_key.in_(chunk),
            RawRecord.deleted_at.is_(None),
            RawRecord.quarantine_reason.is_(None))))
        stored.update((key, _Stored(item_id, digest, deleted_at))
                      for item_id, key, digest, deleted_at in session.execute(
                          select(WorkItem.id, WorkItem.key, WorkItem.content_hash,
                                 WorkItem.deleted_at).where(WorkItem.key.in_(chunk))))
    loaded = {record.id: record for record in records}
    for more in chunked(sorted(ids - loaded.keys()), IN_LIST):
        for extra in _records(session, RawRecord.id.in_(more)):
            loaded[extra.id] = extra
            before[extra.id] = (extra.item_key, extra.quarantine_reason)
    for record_id in sorted(ids):
        record = loaded[record_id]
        # A batch record found under its old key goes where it is now, if anywhere.
        if record.item_key in describing and record.quarantine_reason is None:
            describing[record.item_key].append(record)
    writes = _Writes()
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
            if known is None or known.key != key:  # the record now describes another item
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
    _write_records(session, records, loaded, before, again)
    _write_batch(session, book, writes)


def _write_records(session: Session, batch: list[Record], loaded: dict[int, Record],
                   before: dict[int, tuple[str | None, str | None]], again: set[int]) -> None:
    """Take the batch off the queue and store what changed of any record it read."""
    for chunk in chunked([r.id for r in batch], IN_LIST):
        # Only rows still flagged: a sweep of every record mostly finds none.
        session.execute(update(RawRecord).where(RawRecord.id.in_(chunk),
                                                RawRecord.needs_normalizing)
                        .values(needs_normalizing=False))
    rows = [{"id": r.id, "item_key": r.item_key, "quarantine_reason": r.quarantine_reason,
             "needs_normalizing": r.id in again}
            for r in loaded.values()
            if r.id in again or (r.item_key, r.quarantine_reason) != before[r.id]]
    if rows:
        session.execute(update(RawRecord), rows)  # by primary key, in one executemany


#: Values per `IN (...)` list.
IN_LIST = 500


def normalize(
    sessions: sessionmaker[Session],
    config: WorkhubConfig,
    now: datetime,
    *,
    everything: bool = False,
    batch_size: int = 500,
) -> NormalizeStats:
    """Normalize every raw record that changed since the last run (or all of them).

    `everything` sweeps the whole raw store in id order first (after a mapping or config
    change); records it finds describing another item wait again and are taken with
    the rest of the queue at the end.
    """
    stats = NormalizeStats()
    with sessions.begin() as session:
        people = sync_org(session, config.org)
        sources = {s.id: (s.slug, s.kind) for s in session.scalars(select(Source))}
        pending = session.scalar(select(func.count()).where(RawRecord.needs_normalizing))
        if (pending or 0) >= REFRESH_STATISTICS_AFTER:
            # A first sync has just filled the tables the batches below look up.
            refresh_statistics(session)
    ctx = NormalizeContext(config=config, now=now, sources=sources)
    resolver = IdentityResolver(config.org)
    refresh_at = REFRESH_STATISTICS_AFTER

    def run(*where: Any) -> int:
        nonlocal refresh_at
        with sessions.begin() as session:
            records = _records(session, *where, limit=batch_size)
            if records:
                _normalize_batch(session, ctx, book=IdentityBook(session, resolver, people),
                                 records=records, stats=stats)
        if stats.new >= refresh_at:
            # Tables that started empty (identities, items) are planned as empty until
            # analyzed, down to PostgreSQL's foreign-key checks: seen, 70,000 sequential
            # scans of `identity` in one first sync. Doubling keeps this to a few runs.
            with sessions.begin() as session:
                refresh_statistics(session)
            refresh_at *= 2
        return records[-1].id if records else 0

    with frozen_heap():
        if everything:
            after = 0
            while after := run(RawRecord.id > after):
                pass
        # Renders as the pending index's own condition on either database.
        while run(RawRecord.needs_normalizing):
            pass
    if stats.new >= REFRESH_STATISTICS_AFTER:
        with sessions.begin() as session:
            refresh_statistics(session)
    log.info("graph.normalized", records=stats.records, new=stats.new, changed=stats.changed,
             deleted=stats.deleted, quarantined=stats.quarantined)
    return stats
