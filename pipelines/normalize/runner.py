"""Normalization: raw records that changed -> work items, rebuilt from all their records.

Landing marks each changed or deleted raw record `needs_normalizing`. This module takes
those in batches, asks the source kind's normalizer which item each record describes,
and rebuilds every affected item from *all* live records that describe it (the same
meeting in several calendars is one item). An item whose draft hashes the same as
before is not written, so re-running changes nothing. A record that cannot be read is
quarantined with its reason and the rest goes on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from connectors.paging import chunked
from model import Involvement, Link, Occurrence, RawRecord, Role, WorkItem
from model.bulk import insert_rows, one_of, update_rows
from model.db import REFRESH_STATISTICS_AFTER, refresh_statistics
from pipelines.heap import frozen_heap
from pipelines.identity import IdentityBook, IdentityResolver, sync_org
from pipelines.normalize.context import NormalizeContext, source_kinds
from pipelines.normalize.plan import (
    IN_LIST,
    BatchPlan,
    NormalizeStats,
    Writes,
    merge,
    normalizer,
    plan_batch,
    read_records,
)
from pipelines.normalize.workers import PARALLEL_AFTER, planned_in_workers
from workhub.config import WorkhubConfig
from workhub.logs import get_logger

__all__ = ["NormalizeStats", "merge", "normalize", "normalizer", "write_batch"]

log = get_logger(__name__)


def _targets(session: Session, refs: set[str]) -> dict[str, int]:
    """The live item each reference names (the oldest, should two tools share one)."""
    out: dict[str, int] = {}
    for chunk in chunked(sorted(refs), IN_LIST):
        for ref, item_id in session.execute(
                select(WorkItem.ref, func.min(WorkItem.id))
                .where(one_of(session, WorkItem.ref, chunk), WorkItem.deleted_at.is_(None))
                .group_by(WorkItem.ref)):
            if ref is not None:
                out[ref] = item_id
    return out


def write_batch(session: Session, book: IdentityBook, writes: Writes) -> None:
    """Write a plan's staged items, then their involvements, occurrences and links with
    executemany, and resolve the links that point at references written now."""
    for rows in (writes.tombstones, [row for row, _ in writes.changed]):
        if rows:
            update_rows(session, WorkItem, rows)
    written = [(row["id"], row["ref"], draft) for row, draft in writes.changed]
    if writes.new:
        # Ids matched back by key (unique), not by row order: asking for RETURNING in
        # parameter order made SQLite insert one row per statement.
        inserted = insert_rows(session, WorkItem, [row for row, _ in writes.new], "key", "id")
        assert inserted is not None, "rows were given"
        new_ids: dict[str, int] = {row.key: row.id for row in inserted}
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
            session.execute(delete(table).where(one_of(session, table.item_id, ids)))
        session.execute(delete(Link).where(one_of(session, Link.from_item_id, ids)))
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
            insert_rows(session, table, rows)
    # Links written earlier that were waiting for these references.
    refs = sorted({ref for _, ref, _ in written if ref})
    for chunk in chunked(refs, IN_LIST):
        waiting = session.execute(select(Link.id, Link.to_ref).where(
            one_of(session, Link.to_ref, chunk), Link.to_item_id.is_(None))).all()
        if waiting:
            found = _targets(session, {r for _, r in waiting})
            update_rows(session, Link, [{"id": i, "to_item_id": found[r]}
                                        for i, r in waiting if r in found])


def _write_plan(session: Session, book: IdentityBook, plan: BatchPlan, stats: NormalizeStats,
                sweep: set[str] | None = None) -> None:
    """Store what changed of the batch's records, write its items, and (planned in this
    transaction) take the batch off the queue.

    `sweep` is for plans made side by side by workers: the keys the sweep wrote so far.
    Two batches may both rebuild an item whose records span them, from the same stored
    records, and only the first is written. Such a plan leaves the queue alone: a record
    landed again while a worker planned it keeps waiting for the pass over the queue.
    """
    if plan.records:
        update_rows(session, RawRecord, plan.records)
    if sweep is None:
        # The rows just written carry their flag already: one row version each, not two.
        written = {row["id"] for row in plan.records}
        for chunk in chunked([i for i in plan.taken if i not in written], IN_LIST):
            # Only rows still flagged: most of a sweep's records are not.
            session.execute(update(RawRecord).where(one_of(session, RawRecord.id, chunk),
                                                    RawRecord.needs_normalizing)
                            .values(needs_normalizing=False))
    if sweep is not None:
        _drop_written(plan, sweep)
    stats.add(plan.stats)
    write_batch(session, book, plan.writes)


def _drop_written(plan: BatchPlan, sweep: set[str]) -> None:
    """Leave out of the plan the items the sweep wrote already, and add the rest."""
    for staged, name in ((plan.writes.new, "new"), (plan.writes.changed, "changed")):
        fresh = [(row, draft) for row, draft in staged if row["key"] not in sweep]
        setattr(plan.stats, name, getattr(plan.stats, name) - (len(staged) - len(fresh)))
        staged[:] = fresh
        sweep.update(row["key"] for row, _ in fresh)


def normalize(
    sessions: sessionmaker[Session],
    config: WorkhubConfig,
    now: datetime,
    *,
    everything: bool = False,
    batch_size: int = 500,
    workers: int | None = None,
) -> NormalizeStats:
    """Normalize every raw record that changed since the last run (or all of them).

    `everything` sweeps the whole raw store in id order first (after a mapping or config
    change); records it finds describing another item wait again and are taken with
    the rest of the queue at the end. A sweep is planned by `workers` processes while
    this process writes: by default one per core once it is large, never with 1.
    """
    stats = NormalizeStats()
    with sessions.begin() as session:
        people = sync_org(session, config.org)
        sources = source_kinds(session)
        pending = session.scalar(select(func.count()).where(RawRecord.needs_normalizing)) or 0
        # A sweep's span of ids, not a count: ids only grow and records are never removed,
        # and counting read the whole raw store on SQLite (seconds at a million records).
        first, last = session.execute(select(func.min(RawRecord.id), func.max(RawRecord.id))
                                      ).one() if everything else (None, None)
        total = last - first + 1 if first is not None and last is not None else 0
        if pending >= REFRESH_STATISTICS_AFTER:
            # A first sync has just filled the tables the batches below look up.
            refresh_statistics(session)
    ctx = NormalizeContext(config=config, now=now, sources=sources)
    resolver = IdentityResolver(config.org)
    refresh_at = REFRESH_STATISTICS_AFTER

    def write(session: Session, plan: BatchPlan, sweep: set[str] | None = None) -> None:
        _write_plan(session, IdentityBook(session, resolver, people), plan, stats, sweep)

    def refresh_when_grown() -> None:
        nonlocal refresh_at
        if stats.new >= refresh_at:
            # Tables that started empty (identities, items) are planned as empty until
            # analyzed, down to PostgreSQL's foreign-key checks: seen, 70,000 sequential
            # scans of `identity` in one first sync. Doubling keeps this to a few runs.
            with sessions.begin() as session:
                refresh_statistics(session)
            refresh_at *= 2

    def run(*where: Any) -> int:
        # Planned and written in one transaction, as the queue's flags are cleared.
        with sessions.begin() as session:
            records = read_records(session, *where, limit=batch_size)
            if records:
                write(session, plan_batch(session, ctx, records))
        refresh_when_grown()
        return records[-1].id if records else 0

    with frozen_heap():
        if (everything and first is not None and last is not None and workers != 1
                and (workers or total >= PARALLEL_AFTER)):
            swept: set[str] = set()
            for plan in planned_in_workers(sessions, ctx, (first, last),
                                           batch_size=batch_size, workers=workers):
                with sessions.begin() as session:
                    write(session, plan, swept)
                refresh_when_grown()
        elif everything:
            after = 0
            while after := run(RawRecord.id > after):
                pass
        # What waits: the queue (after a sweep by workers, all of it, and the records they
        # found describing another item). The pending index's own condition on either
        # database.
        while run(RawRecord.needs_normalizing):
            pass
    if stats.new >= REFRESH_STATISTICS_AFTER:
        with sessions.begin() as session:
            refresh_statistics(session)
    log.info("graph.normalized", records=stats.records, new=stats.new, changed=stats.changed,
             deleted=stats.deleted, quarantined=stats.quarantined)
    return stats
