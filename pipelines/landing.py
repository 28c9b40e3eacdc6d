"""Landing: raw records and the cursor after them, committed together, page by page
(the pages a stream read while earlier ones were landing go in one transaction).

A page's records, its deletions, its snapshot sweep and the cursor that follows it are one
transaction, so a sync killed anywhere resumes from the last committed page and, because
records are compared by content hash, ends in the same state as an uninterrupted run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from connectors.base import Cursor, Page, Stream
from connectors.errors import MassDeletionError
from connectors.paging import chunked
from connectors.readahead import read_ahead
from model import LastSuccess, RawRecord, Source, SyncCursor, SyncRun
from model.base import utcnow
from model.bulk import IN_LIST, insert_rows, one_of
from model.db import REFRESH_STATISTICS_AFTER, refresh_statistics
from workhub.jsonio import canonical, preencoded
from workhub.logs import get_logger

__all__ = ["LandingStats", "content_hash", "ensure_source", "land_stream", "prefix_end"]

ProgressCallback = Callable[["LandingStats"], None]
#: How often, at most, a running stream writes its counts to its run row between cursors.
RUN_ROW_EVERY = timedelta(seconds=1)
#: Pages a stream's reader may hold ready while landing catches up (see `_joined`).
PREFETCH_PAGES = 10
log = get_logger(__name__)


def content_hash(payload: dict[str, Any]) -> tuple[bytes, str]:
    """The payload in canonical JSON, and its SHA-256: equal content, equal hash."""
    text = canonical(payload)
    return text, hashlib.sha256(text).hexdigest()


@dataclass
class LandingStats:
    """What one run of one stream did."""

    source: str
    stream: str
    fetched: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0
    requests: int = 0
    pages: int = 0
    seconds: float = 0.0
    error: str | None = None


def ensure_source(session: Session, slug: str, kind: str) -> Source:
    """The Source row for a configured source, created on first use.

    A source's streams start at once (threads of one sync, or processes of a Dagster run),
    so two may both find no row: the one that loses the insert reads the winner's.
    """
    found = select(Source).where(Source.slug == slug)
    source = session.scalar(found)
    if source is None:
        try:
            with session.begin_nested():
                source = Source(slug=slug, kind=kind)
                session.add(source)
        except IntegrityError:
            source = session.scalars(found).one()
    return source


def _store_records(
    session: Session, source_id: int, stream: str, page: Page, now: datetime, stats: LandingStats
) -> None:
    if not page.records:
        return
    # Last one wins when a page repeats an id (a record edited while we paged).
    incoming = {r.external_id: r.payload for r in page.records}
    # Compared by hash alone: loading the stored payloads (ORM objects, decoded JSON) to
    # find them unchanged cost a re-sync as much as storing them had.
    existing = {
        external_id: (row_id, stored_hash, deleted_at)
        for chunk in chunked(list(incoming), IN_LIST)  # pages landed together can be long
        for row_id, external_id, stored_hash, deleted_at in session.execute(
            select(RawRecord.id, RawRecord.external_id, RawRecord.content_hash,
                   RawRecord.deleted_at).where(
                RawRecord.source_id == source_id,
                RawRecord.stream == stream,
                one_of(session, RawRecord.external_id, chunk),
            )
        )
    }
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for external_id, document in incoming.items():
        text, digest = content_hash(document)
        # Stored as it was hashed, in canonical form: encoding it again for its column
        # was 7 % of the syncing process's CPU in a first sync of 100,000 items.
        payload = preencoded(text)
        stored = existing.get(external_id)
        if stored is None:
            new.append({"source_id": source_id, "stream": stream, "external_id": external_id,
                        "payload": payload, "content_hash": digest, "fetched_at": now,
                        "needs_normalizing": True})
            continue
        row_id, stored_hash, deleted_at = stored
        if stored_hash == digest and deleted_at is None:
            stats.unchanged += 1
            continue
        changed.append({"id": row_id, "payload": payload, "content_hash": digest,
                        "fetched_at": now, "deleted_at": None, "delete_reason": None,
                        "quarantine_reason": None, "needs_normalizing": True})
    # Core executemany rather than one ORM object per record: the unit of work's
    # bookkeeping was about half of landing's own time in a first sync. Payloads are
    # kilobytes each, which PostgreSQL arrays carry slowly (see model.bulk).
    insert_rows(session, RawRecord, new, unnest=False)
    if changed:
        session.execute(update(RawRecord), changed)  # by primary key, in one executemany
    stats.new += len(new)
    stats.changed += len(changed)


def prefix_end(prefix: str) -> str:
    """The least string above every string that starts with `prefix` (a non-empty scope
    such as "<repo id>/": its last character, one up)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _tombstone(
    session: Session,
    source_id: int,
    stream: str,
    ids: Iterable[str] | None,
    reason: str,
    now: datetime,
    *,
    prefix: str | None = None,
    keep: frozenset[str] = frozenset(),
    max_share: float | None = None,
) -> int:
    """Tombstone the named live records (or every live one under `prefix` not in `keep`).

    With `max_share`, refuse (MassDeletionError) to tombstone more than that share of the
    live records in scope: a source that suddenly lists nothing is more likely broken
    than emptied.
    """
    query = select(RawRecord.id, RawRecord.external_id).where(
        RawRecord.source_id == source_id, RawRecord.stream == stream, RawRecord.deleted_at.is_(None)
    )
    if ids is not None:
        query = query.where(one_of(session, RawRecord.external_id, list(ids)))
    if prefix:
        # A range of the unique index rather than LIKE, which neither database can look
        # up by: one repository's sweep would otherwise read every record of the stream.
        # Ids compare byte by byte (see RawRecord.external_id), so the range is exact.
        query = query.where(RawRecord.external_id >= prefix,
                            RawRecord.external_id < prefix_end(prefix))
    live = session.execute(query).all()
    doomed = [row_id for row_id, ext in live if ext not in keep]
    if max_share is not None and live and len(doomed) > max_share * len(live):
        raise MassDeletionError(
            f"refusing to delete {len(doomed)} of {len(live)} records at once "
            f"(more than {max_share:.0%}); nothing was changed. If this is right, raise "
            f"max_delete_share for the source or delete in smaller steps")
    for start in range(0, len(doomed), 500):
        session.execute(
            update(RawRecord)
            .where(one_of(session, RawRecord.id, doomed[start : start + 500]))
            .values(deleted_at=now, delete_reason=reason, needs_normalizing=True)
        )
    return len(doomed)


def _joined(pages: list[Page]) -> Iterator[tuple[Page, int]]:
    """Consecutive pages as one, with how many each holds: records in order, requests
    summed, the last cursor. A page that deletes or sweeps ends its group, so that its
    deletions come after the records before it and before those after, as page by page."""
    group: list[Page] = []
    for page in pages:
        group.append(page)
        if page.deleted or page.snapshot is not None or page is pages[-1]:
            if len(group) == 1:
                yield page, 1
            else:
                cursors = [p.cursor for p in group if p.cursor is not None]
                yield Page(records=[r for p in group for r in p.records],
                           deleted=page.deleted, snapshot=page.snapshot,
                           cursor=cursors[-1] if cursors else None,
                           requests=sum(p.requests for p in group)), len(group)
            group = []


def _land_page(
    session: Session, source_id: int, stream: str, page: Page, now: datetime,
    stats: LandingStats, pages: int = 1,
) -> None:
    """Store a page (`pages` of the stream's, joined) and count it in `stats`."""
    stats.pages += pages
    stats.fetched += len(page.records)
    stats.requests += page.requests
    _store_records(session, source_id, stream, page, now, stats)
    by_reason: dict[str, list[str]] = {}
    for external_id, reason in page.deleted.items():
        by_reason.setdefault(reason, []).append(external_id)
    for reason, ids in by_reason.items():
        stats.deleted += _tombstone(session, source_id, stream, ids, reason, now)
    if page.snapshot is not None:
        stats.deleted += _tombstone(
            session,
            source_id,
            stream,
            None,
            page.snapshot.reason,
            now,
            prefix=page.snapshot.scope,
            keep=page.snapshot.present_ids,
            max_share=page.snapshot.max_delete_share,
        )
    if page.cursor is not None:
        # Written without loading the old value: a cursor can be large (GitHub's holds
        # every repository's ETags) and loading and comparing it costs as much again.
        _put_stream_row(session, SyncCursor, source_id, stream, value=page.cursor,
                        updated_at=now)


def _put_stream_row(session: Session, table: type[SyncCursor] | type[LastSuccess],
                    source_id: int, stream: str, **values: Any) -> None:
    """Update a stream's row of `table` in place, or add it on the stream's first write."""
    written = session.execute(
        update(table)
        .where(table.source_id == source_id, table.stream == stream)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not written.rowcount:  # type: ignore[attr-defined]
        session.add(table(source_id=source_id, stream=stream, **values))


def read_cursor(sessions: sessionmaker[Session], source_id: int, stream: str) -> Cursor | None:
    """The stored cursor of a stream, None before its first sync."""
    with sessions() as session:
        row = session.get(SyncCursor, (source_id, stream))
        return dict(row.value) if row else None


def land_stream(
    sessions: sessionmaker[Session],
    *,
    source_slug: str,
    source_kind: str,
    stream: Stream,
    full: bool = False,
    batch: str | None = None,
    clock: Callable[[], datetime] = utcnow,
    progress: ProgressCallback | None = None,
) -> LandingStats:
    """Read a stream from its cursor (from the start when `full`) and land every page."""
    stats = LandingStats(source=source_slug, stream=stream.name)
    started = clock()
    with sessions.begin() as session:
        source_id = ensure_source(session, source_slug, source_kind).id
        run = SyncRun(source_id=source_id, stream=stream.name, batch=batch, started_at=started)
        session.add(run)
        session.flush()
        run_id = run.id
    cursor = None if full else read_cursor(sessions, source_id, stream.name)
    refresh_at = REFRESH_STATISTICS_AFTER
    try:
        recorded = started
        for ready in read_ahead([stream.read(cursor)], depth=PREFETCH_PAGES):
            # The pages read while the last ones were landing go in one transaction:
            # SQLite has one write lock, which the other streams and the normalizer
            # wait for, and every transaction that takes it costs them a round of it.
            for page, count in _joined(ready):
                with sessions.begin() as session:
                    now = clock()
                    _land_page(session, source_id, stream.name, page, now, stats, count)
                    # The run's counts go with each cursor and at most once a second: a
                    # page that wrote nothing else then takes no write lock.
                    if page.cursor is not None or now - recorded >= RUN_ROW_EVERY:
                        _record_run(session, run_id, stats, status="running")
                        recorded = now
            if stats.new >= refresh_at:
                # Each page looks up its ids in what the stream landed so far: planned as
                # for an empty table, that lookup reads the whole stream every page.
                with sessions.begin() as session:
                    refresh_statistics(session)
                refresh_at *= 2
            if progress:
                progress(stats)
    except BaseException as exc:
        stats.error = f"{type(exc).__name__}: {exc}"
        with sessions.begin() as session:
            _record_run(session, run_id, stats, status="failed", finished=clock())
        log.warning("stream.failed", source=source_slug, stream=stream.name,
                    pages=stats.pages, error=stats.error)
        raise
    finally:
        stats.seconds = (clock() - started).total_seconds()
    with sessions.begin() as session:
        finished = clock()
        _record_run(session, run_id, stats, status="success", finished=finished)
        _put_stream_row(session, LastSuccess, source_id, stream.name, finished_at=finished)
    log.info("stream.synced", source=source_slug, stream=stream.name, fetched=stats.fetched,
             new=stats.new, changed=stats.changed, deleted=stats.deleted,
             requests=stats.requests, seconds=round(stats.seconds, 3))
    return stats


def _record_run(
    session: Session,
    run_id: int,
    stats: LandingStats,
    *,
    status: str,
    finished: datetime | None = None,
) -> None:
    # One UPDATE, with every page: loading the row through the ORM to set it was 8 % of
    # the syncing process's CPU in a 100,000-item first sync.
    counts = ("fetched", "new", "changed", "unchanged", "deleted", "quarantined", "requests")
    session.execute(
        update(SyncRun)
        .where(SyncRun.id == run_id)
        .values(status=status, finished_at=finished, error=stats.error,
                **{name: getattr(stats, name) for name in counts})
        .execution_options(synchronize_session=False)
    )
