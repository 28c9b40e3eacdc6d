"""Normalizing in a process of its own while a sync lands, so that a large sync's two
halves overlap instead of following each other.

A first sync of a large organisation lands for minutes, then normalizes for minutes, in
one process that uses one core. The queue lives on the rows (`needs_normalizing`), so a
second process can take records as they land. Landing keeps writing while this process
plans, so it writes only what is still current: it first takes the write lock (SQLite)
or the locks of the rows it read (PostgreSQL, skipping any that landing holds, so it
never waits on landing and the two cannot deadlock), and any record that changed since
it read it stays on the queue. Once landing is done the process takes what landed
last and stops; the caller's `normalize()` then takes whatever is left.
"""

from __future__ import annotations

import gc
import multiprocessing
import queue
import signal
import threading
from datetime import datetime
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

from sqlalchemy import false, select, update
from sqlalchemy.orm import Session, sessionmaker

from connectors.paging import chunked
from model import RawRecord
from model.bulk import one_of, update_rows
from model.db import REFRESH_STATISTICS_AFTER, make_engine, make_sessionmaker, refresh_statistics
from pipelines.heap import collector_paused
from pipelines.identity import IdentityBook, IdentityResolver, sync_org
from pipelines.landing import LandingStats
from pipelines.normalize.context import NormalizeContext, source_kinds
from pipelines.normalize.plan import IN_LIST, BatchPlan, NormalizeStats, plan_batch, read_records
from pipelines.normalize.runner import write_batch
from pipelines.normalize.workers import PARALLEL_AFTER
from workhub.config import WorkhubConfig
from workhub.logs import get_logger

__all__ = ["NormalizingAlongside", "write_if_current"]

log = get_logger(__name__)

#: How long the process waits for more records when it has caught up with landing.
POLL_SECONDS = 0.5
#: How long `abandon` gives the process to stop on SIGTERM before it kills it.
ABANDON_SECONDS = 10.0


def write_if_current(
    session: Session, book: IdentityBook, plan: BatchPlan, stats: NormalizeStats
) -> set[int]:
    """Write a plan made outside this transaction, leaving on the queue every record
    that landing changed since the plan read it; returns those records' ids."""
    if session.get_bind().dialect.name == "sqlite":
        # A write that matches nothing still takes SQLite's one write lock, so nothing
        # can land between the check below and the writes after it.
        session.execute(update(RawRecord).where(false()).values(needs_normalizing=False))
    current: dict[int, tuple[str | None, datetime | None]] = {}
    for chunk in chunked(sorted(plan.versions), IN_LIST):
        # Rows landing holds now are skipped (left out of `current`): they are changing.
        current.update(
            (row_id, (digest, deleted_at))
            for row_id, digest, deleted_at in session.execute(
                select(RawRecord.id, RawRecord.content_hash, RawRecord.deleted_at)
                .where(one_of(session, RawRecord.id, chunk))
                .order_by(RawRecord.id)
                .with_for_update(skip_locked=True)
            )
        )
    stale = {row_id for row_id, seen in plan.versions.items() if current.get(row_id) != seen}
    rows = [row for row in plan.records if row["id"] not in stale]
    if rows:
        update_rows(session, RawRecord, rows)
    # The rows just written carry their flag already: one new row version each, not two.
    done = sorted(set(plan.taken) - stale - {row["id"] for row in rows})
    for chunk in chunked(done, IN_LIST):
        session.execute(
            update(RawRecord)
            .where(one_of(session, RawRecord.id, chunk), RawRecord.needs_normalizing)
            .values(needs_normalizing=False)
        )
    stats.add(plan.stats)
    # Items built from a record that changed meanwhile are written as planned: the
    # record waits on the queue, and the item is rebuilt when it is taken again.
    write_batch(session, book, plan.writes)
    return stale


def _sources(sessions: sessionmaker[Session]) -> dict[int, tuple[str, str]]:
    with sessions() as session:
        return source_kinds(session)


def _normalize_while_landing(
    url: str,
    config: WorkhubConfig,
    now: datetime,
    batch_size: int,
    stop: Event,
    results: Queue[NormalizeStats],
) -> None:
    """The process's body: take landed records in id order until landing is done and
    nothing is left past the last one taken."""
    # `abandon` stops this process with SIGTERM. Dagster maps SIGTERM to SIGINT's handler,
    # which a job started in the background ignores, and a spawned process inherits an
    # ignored signal: it never stopped (seen: a test run hung in `abandon`).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sessions = make_sessionmaker(make_engine(url))
    with sessions.begin() as session:
        people = sync_org(session, config.org)
    ctx = NormalizeContext(config=config, now=now, sources=_sources(sessions))
    resolver = IdentityResolver(config.org)
    stats = NormalizeStats()
    after, refresh_at = 0, REFRESH_STATISTICS_AFTER
    gc.freeze()  # what the process keeps for its life; see pipelines.heap
    while True:
        # No collection while a batch is planned either, as in `workers`.
        with collector_paused(), sessions() as session:
            records = read_records(
                session, RawRecord.needs_normalizing, RawRecord.id > after, limit=batch_size
            )
            if not records:
                if stop.is_set():  # landing is done and this process has caught up
                    break
                stop.wait(POLL_SECONDS)
                continue
            if any(r.source_id not in ctx.sources for r in records):  # a source's first sync
                ctx = NormalizeContext(config=config, now=now, sources=_sources(sessions))
            plan = plan_batch(session, ctx, records)
        after = records[-1].id
        with collector_paused(), sessions.begin() as session:
            write_if_current(session, IdentityBook(session, resolver, people), plan, stats)
        if stats.new >= refresh_at:  # as `normalize` does, for tables that started empty
            with sessions.begin() as session:
                refresh_statistics(session)
            refresh_at *= 2
    results.put(stats)


class NormalizingAlongside:
    """Starts the normalizing process once a sync has landed enough to be worth it
    (a process's start is about half a second), and stops it when landing is done."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: WorkhubConfig,
        now: datetime,
        *,
        start_after: int = PARALLEL_AFTER,
        batch_size: int = 500,
    ) -> None:
        self._sessions = sessions
        self._config = config
        self._now = now
        self._start_after = start_after
        self._batch_size = batch_size
        self._landed: dict[tuple[str, str], int] = {}
        self._context = multiprocessing.get_context("spawn")
        self._stop = self._context.Event()
        self._results: Queue[NormalizeStats] = self._context.Queue()
        self._process: SpawnProcess | None = None
        # Sources land in threads of their own (`land_sources`), all reporting here.
        self._lock = threading.Lock()

    def landed(self, stats: LandingStats) -> None:
        """Landing's progress callback: count what waits, start once it is enough."""
        with self._lock:
            self._count(stats)

    def _count(self, stats: LandingStats) -> None:
        self._landed[(stats.source, stats.stream)] = stats.new + stats.changed + stats.deleted
        if self._process is None and sum(self._landed.values()) >= self._start_after:
            with self._sessions() as session:
                # The URL as the config states it, password included: it goes to the
                # child process, never to a log.
                url = session.get_bind().engine.url.render_as_string(hide_password=False)
            self._process = self._context.Process(
                target=_normalize_while_landing,
                name="workhub-normalize",
                daemon=True,
                args=(url, self._config, self._now, self._batch_size, self._stop, self._results),
            )
            self._process.start()
            log.info("graph.normalizing_alongside", after_records=sum(self._landed.values()))

    def finish(self) -> NormalizeStats:
        """Let the process take what landed, then stop it; what it normalized (none if
        it never started). What it left (records that landing changed under it, or that
        moved to another item) waits on the queue for `normalize`."""
        if self._process is None:
            return NormalizeStats()
        self._stop.set()
        process, self._process = self._process, None
        while True:
            try:
                # Before join: a process whose queued result was not read never exits.
                stats = self._results.get(timeout=1)
                break
            except queue.Empty:
                if not process.is_alive():
                    raise RuntimeError(
                        f"the normalizing process exited with {process.exitcode} before its result"
                    ) from None
        process.join()
        return stats

    def abandon(self) -> None:
        """Stop the process now, for a sync that failed: a batch it was writing rolls
        back, and everything it did not finish waits on the queue."""
        if self._process is not None:
            self._process.terminate()
            self._process.join(timeout=ABANDON_SECONDS)
            if self._process.is_alive():  # it had not yet set SIGTERM to stop it
                self._process.kill()
                self._process.join()
            self._process = None
