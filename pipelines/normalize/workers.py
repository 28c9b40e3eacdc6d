"""A sweep of the whole raw store, planned by worker processes while this one writes.

Planning (decoding payloads, running the normalizers, hashing drafts) is most of a
re-normalization's CPU and reads only, so it spreads over cores; writing stays in one
process. Workers find an item's records by the key the database holds, which no plan
changes while the sweep runs: a record that moves to another item is only flagged, and
the caller's sequential pass over the queue moves it afterwards.
"""

from __future__ import annotations

import gc
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from typing import NamedTuple

from sqlalchemy.orm import Session, sessionmaker

from model import RawRecord
from model.db import make_engine, make_sessionmaker
from pipelines.heap import collector_paused
from pipelines.normalize.context import NormalizeContext
from pipelines.normalize.plan import BatchPlan, plan_batch, read_records

__all__ = ["PARALLEL_AFTER", "planned_in_workers"]

#: Sweeps smaller than this run in one process: a worker's start (its imports alone
#: measured 0.48 s) would be much of theirs.
PARALLEL_AFTER = 20_000

class _Worker(NamedTuple):
    """What a worker process keeps between the batches it plans."""

    sessions: sessionmaker[Session]
    ctx: NormalizeContext


_worker: _Worker | None = None


def _start(url: str, ctx: NormalizeContext) -> None:
    global _worker
    # Reads only, so in autocommit: no BEGIN or ROLLBACK round trip a batch, and psycopg
    # keeps its prepared statements (it drops them at every ROLLBACK), so PostgreSQL
    # parses a batch's queries once a worker. Each statement read its own snapshot
    # before too (READ COMMITTED; SQLite reads outside a write).
    _worker = _Worker(make_sessionmaker(make_engine(url, isolation_level="AUTOCOMMIT")), ctx)
    gc.freeze()  # what the worker keeps for its life; see pipelines.heap


def _plan(first: int, last: int) -> BatchPlan:
    assert _worker is not None, "started by the pool's initializer"
    # No collection inside a batch, one after it: a batch decodes thousands of objects a
    # record, which set off a young collection every few records, each walking what the
    # batch keeps (its records and drafts). Planning alone, 100,000 records: 5 % less CPU.
    with collector_paused(), _worker.sessions() as session:
        records = read_records(session, RawRecord.id >= first, RawRecord.id <= last)
        return plan_batch(session, _worker.ctx, records, moves_wait=True)


def planned_in_workers(sessions: sessionmaker[Session], ctx: NormalizeContext,
                       span: tuple[int, int], *, batch_size: int, workers: int | None
                       ) -> Iterator[BatchPlan]:
    """Every raw record's batch in `span` (the store's first and last id) planned in
    worker processes, yielded in id order.

    Batches are spans of ids rather than listed ids: listing them read the whole raw store
    on SQLite (each row holds its payload), seconds at a million records before any worker
    could start. Ids only grow, so a span of `batch_size` ids holds at most that many.
    """
    first, last = span
    with sessions() as session:
        # Workers connect by URL alone: what the config states, password included (it
        # goes to the child process, never to a log).
        url = session.get_bind().engine.url.render_as_string(hide_password=False)
    ranges = [(low, min(low + batch_size - 1, last))
              for low in range(first, last + 1, batch_size)]
    count = workers or os.cpu_count() or 1
    with ProcessPoolExecutor(count, mp_context=get_context("spawn"), initializer=_start,
                             initargs=(url, ctx)) as pool:
        # A few batches ahead of the writer, not all: a sweep that changes every item
        # would otherwise hold every plan in memory at once.
        ahead: deque[tuple[Future[BatchPlan], set[int]]] = deque()
        for low, high in ranges:
            # The store's first and last records exist: a worker that does not find them
            # reads another database (a URL that lost its schema, say) and must not go on.
            known = {low} if low == first else set()
            known |= {high} if high == last else set()
            ahead.append((pool.submit(_plan, low, high), known))
            if len(ahead) > 2 * count:
                yield _checked(*ahead.popleft())
        while ahead:
            yield _checked(*ahead.popleft())


def _checked(future: Future[BatchPlan], known: set[int]) -> BatchPlan:
    plan = future.result()
    # Only the first and last batch know records that must be there; the rest are not
    # looked through.
    if known and not known <= set(plan.taken):
        raise RuntimeError("a normalization worker did not find records this process reads; "
                           "it does not see the database this process writes")
    return plan
