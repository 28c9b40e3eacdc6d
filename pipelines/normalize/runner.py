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
from pipelines.identity import IdentityBook, IdentityResolver, sync_org
from pipelines.normalize.context import Fragment, NormalizeContext
from pipelines.normalize.drafts import InvolvementDraft, ItemDraft, NormalizeError
from workhub.config import WorkhubConfig
from workhub.logs import get_logger

__all__ = ["NormalizeStats", "merge", "normalize", "normalizer"]

#: raw record -> the fragment of the item it describes, or None when it describes nothing
#: to track (a newsletter, say). One per kind: `pipelines.normalize.<kind>.normalize_record`.
Normalizer = Callable[[RawRecord, NormalizeContext], Fragment | None]


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
    return replace(best.draft, involvements=involvements), best.source_id


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


def _fragment(record: RawRecord, ctx: NormalizeContext) -> Fragment | None:
    return normalizer(ctx.sources[record.source_id][1])(record, ctx)


def _normalize_batch(
    session: Session,
    ctx: NormalizeContext,
    book: IdentityBook,
    records: list[RawRecord],
    stats: NormalizeStats,
) -> None:
    affected: set[str] = set()
    reasons: dict[str, str] = {}
    fresh: dict[int, Fragment] = {}
    for record in records:
        stats.records += 1
        if record.item_key:
            affected.add(record.item_key)
        record.needs_normalizing = False
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
    session.flush()
    keys = sorted(affected)
    # A few queries for the whole batch rather than two per item. The records that
    # describe the batch's items are looked up by id first: most are in the batch
    # already, and loading them again would decode their payloads twice.
    describing: dict[str, list[RawRecord]] = {key: [] for key in keys}
    stored: dict[str, _Stored] = {}
    loaded = {record.id: record for record in records}
    for chunk in chunked(keys, IN_LIST):
        ids = session.execute(
            select(RawRecord.id, RawRecord.item_key)
            .where(
                RawRecord.item_key.in_(chunk),
                RawRecord.deleted_at.is_(None),
                RawRecord.quarantine_reason.is_(None),
            )
            .order_by(RawRecord.id)
        ).all()
        for more in chunked([i for i, _ in ids if i not in loaded], IN_LIST):
            loaded.update((r.id, r) for r in session.scalars(
                select(RawRecord).where(RawRecord.id.in_(more))))
        for record_id, key in ids:
            describing[key or ""].append(loaded[record_id])
        stored.update((key, _Stored(item_id, digest, deleted_at))
                      for item_id, key, digest, deleted_at in session.execute(
                          select(WorkItem.id, WorkItem.key, WorkItem.content_hash,
                                 WorkItem.deleted_at).where(WorkItem.key.in_(chunk))))
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
                record.needs_normalizing = True
                continue
            fragments.append(known)
        if fragments:
            draft, source_id = merge(fragments)
            _stage_item(writes, stored.get(key), draft, source_id, ctx.sources, None, ctx.now,
                        stats)
        else:
            _stage_item(writes, stored.get(key), None, None, ctx.sources, reasons.get(key),
                        ctx.now, stats)
    _write_batch(session, book, writes)


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
    """Normalize every raw record that changed since the last run (or all of them)."""
    stats = NormalizeStats()
    with sessions.begin() as session:
        people = sync_org(session, config.org)
        if everything:
            session.execute(update(RawRecord).values(needs_normalizing=True))
        sources = {s.id: (s.slug, s.kind) for s in session.scalars(select(Source))}
        pending = session.scalar(select(func.count()).where(RawRecord.needs_normalizing))
        if (pending or 0) >= REFRESH_STATISTICS_AFTER:
            # A first sync has just filled the tables the batches below look up.
            refresh_statistics(session)
    ctx = NormalizeContext(config=config, now=now, sources=sources)
    resolver = IdentityResolver(config.org)
    refresh_at = REFRESH_STATISTICS_AFTER
    while True:
        with sessions.begin() as session:
            records = list(
                session.scalars(
                    select(RawRecord)
                    # Renders as the pending index's own condition on either database.
                    .where(RawRecord.needs_normalizing)
                    .order_by(RawRecord.id)
                    .limit(batch_size)
                )
            )
            if not records:
                break
            book = IdentityBook(session, resolver, people)
            _normalize_batch(session, ctx, book, records, stats)
        if stats.records >= refresh_at:
            # Tables that started empty (identities, items) are planned as empty until
            # analyzed, down to PostgreSQL's foreign-key checks: seen, 70,000 sequential
            # scans of `identity` in one first sync. Doubling keeps this to a few runs.
            with sessions.begin() as session:
                refresh_statistics(session)
            refresh_at *= 2
    if stats.records >= REFRESH_STATISTICS_AFTER:
        with sessions.begin() as session:
            refresh_statistics(session)
    log.info("graph.normalized", records=stats.records, new=stats.new, changed=stats.changed,
             deleted=stats.deleted, quarantined=stats.quarantined)
    return stats
