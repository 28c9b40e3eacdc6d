"""Normalizing in a second process while a sync lands: the same graph as normalizing
after, and nothing that landed under a plan is lost."""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from conftest import Database
from model import RawRecord
from model.db import make_engine, make_sessionmaker
from pipelines.identity import IdentityBook, IdentityResolver, sync_org
from pipelines.landing import LandingStats, ProgressCallback
from pipelines.normalize.alongside import NormalizingAlongside, write_if_current
from pipelines.normalize.context import NormalizeContext, Record
from pipelines.normalize.plan import BatchPlan, NormalizeStats, plan_batch, read_records
from pipelines.normalize.runner import normalize
from pipelines.resources import Workhub
from pipelines.run import run_sync
from pipelines.sources import stream_names
from pipelines.sync import sync_everything, sync_stream
from test_jira_sync import Site, full_view, serve_site
from workhub.config import WorkhubConfig
from workhub.jsonio import loads


@pytest.fixture
def cloud(now: datetime) -> Iterator[Site]:
    """A seeded Jira Cloud stand-in."""
    with serve_site("Cloud", now) as served:
        yield served


def _pending(db: Database) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).where(RawRecord.needs_normalizing)) or 0


def _land(db: Database, config: WorkhubConfig, progress: ProgressCallback | None = None
          ) -> list[LandingStats]:
    """Every stream of the config landed, nothing normalized here."""
    return [sync_stream(db.sessions, config, source.name, stream, progress=progress)
            for source in config.sources for stream in stream_names(source.kind)]


def _landed_and_planned(db: Database, config: WorkhubConfig, now: datetime
                        ) -> tuple[dict[str, int], list[Record], BatchPlan]:
    """Everything landed, the organisation's people stored, and one plan of every
    waiting record made (not written)."""
    _land(db, config)
    with db.sessions.begin() as session:
        people = sync_org(session, config.org)
    with db.sessions() as session:
        records = read_records(session, RawRecord.needs_normalizing)
        sources = {records[0].source_id: (config.sources[0].name, "jira")}
        plan = plan_batch(session, NormalizeContext(config, now, sources), records)
    return people, records, plan


def test_a_sync_normalized_alongside_ends_as_one_normalized_after(
    shared_db: Database, cloud: Site, now: datetime, sqlite_template: Path, tmp_path: Path
) -> None:
    """The second process starts after the first page, takes every record as it lands,
    and leaves the graph a sync that normalizes afterwards leaves."""
    shutil.copy(sqlite_template, tmp_path / "after.db")
    after = Database(
        make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'after.db'}")), "sqlite", ""
    )
    config = cloud.config(page_size=5)
    sync_everything(after.sessions, config, now, alongside_after=10**9)

    alongside = NormalizingAlongside(shared_db.sessions, config, now, start_after=1)
    landed = _land(shared_db, config, alongside.landed)
    ahead = alongside.finish()
    assert ahead.records == sum(s.new for s in landed) > 5
    assert ahead.new > 0
    assert _pending(shared_db) == 0
    rest = normalize(shared_db.sessions, config, now)
    assert (rest.records, rest.new, rest.changed) == (0, 0, 0)
    assert full_view(shared_db.sessions) == full_view(after.sessions)


def test_abandon_stops_the_process_where_the_parent_ignores_sigterm(
    shared_db: Database, cloud: Site, now: datetime
) -> None:
    """A job in the background ignores SIGINT, Dagster maps SIGTERM to SIGINT's handler,
    and a spawned process inherits an ignored signal: the process stops on SIGTERM all
    the same, rather than `abandon` waiting for it forever."""
    before = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        config = cloud.config(page_size=5)
        alongside = NormalizingAlongside(shared_db.sessions, config, now, start_after=1)
        landed = sum(s.new for s in _land(shared_db, config, alongside.landed))
        process = alongside._process
        assert process is not None
        for _ in range(600):  # until it normalized something: its body has begun
            if _pending(shared_db) < landed:
                break
            time.sleep(0.05)
        alongside.abandon()
    finally:
        signal.signal(signal.SIGTERM, before)
    assert process.exitcode == -signal.SIGTERM  # stopped by SIGTERM, not killed after


def test_an_abandoned_process_leaves_the_rest_on_the_queue(
    shared_db: Database, cloud: Site, now: datetime, sqlite_template: Path, tmp_path: Path
) -> None:
    """A sync that fails stops the process at once; what it did not write waits, and the
    next normalization ends in the graph a sync that normalizes afterwards leaves."""
    shutil.copy(sqlite_template, tmp_path / "after.db")
    after = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'after.db'}"))
    config = cloud.config(page_size=5)
    sync_everything(after, config, now, alongside_after=10**9)
    alongside = NormalizingAlongside(shared_db.sessions, config, now, start_after=1)
    _land(shared_db, config, alongside.landed)
    alongside.abandon()
    assert alongside.finish() == NormalizeStats()  # nothing left running to ask
    normalize(shared_db.sessions, config, now)
    assert _pending(shared_db) == 0
    assert full_view(shared_db.sessions) == full_view(after)


def test_workhub_sync_normalizes_alongside_through_dagster(
    shared_db: Database, cloud: Site, now: datetime, sqlite_template: Path, tmp_path: Path
) -> None:
    """`workhub sync`'s path: the landing assets feed the process, and the work graph
    asset stops it and normalizes what is left, in one in-process Dagster run."""
    shutil.copy(sqlite_template, tmp_path / "after.db")
    after = make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'after.db'}"))
    config = cloud.config(page_size=5)
    sync_everything(after, config, now, alongside_after=10**9)
    workhub = Workhub(config=config, sessions_factory=shared_db.sessions, clock=lambda: now,
                      normalize_alongside_after=1)
    report = run_sync(workhub)
    assert report.ok
    assert workhub.last_alongside is not None
    assert workhub.last_alongside.records > 0
    assert report.normalized is not None
    assert report.normalized.records == sum(s.new for s in report.streams)
    assert _pending(shared_db) == 0
    assert full_view(shared_db.sessions) == full_view(after)


def test_a_small_sync_starts_no_second_process(
    shared_db: Database, cloud: Site, now: datetime
) -> None:
    """Below the threshold nothing starts: `finish` has nothing to count."""
    config = cloud.config()
    alongside = NormalizingAlongside(shared_db.sessions, config, now, start_after=10**9)
    _land(shared_db, config, alongside.landed)
    assert alongside.finish() == NormalizeStats()
    assert _pending(shared_db) > 0


def test_a_record_landed_again_under_a_plan_stays_on_the_queue(
    shared_db: Database, cloud: Site, now: datetime
) -> None:
    """A plan is written only for the records that are as it read them: one that landing
    changed meanwhile keeps its flag and its stored item key, and the rest are done."""
    config = cloud.config()
    people, records, plan = _landed_and_planned(shared_db, config, now)
    changed = records[3].id
    with shared_db.sessions.begin() as session:  # what landing does to a changed record
        session.execute(
            update(RawRecord)
            .where(RawRecord.id == changed)
            .values(content_hash="0" * 64, needs_normalizing=True)
        )
    stats = NormalizeStats()
    with shared_db.sessions.begin() as session:
        book = IdentityBook(session, IdentityResolver(config.org), people)
        stale = write_if_current(session, book, plan, stats)
    assert stale == {changed}
    assert stats.new == len(records)
    with shared_db.sessions() as session:
        waiting = {
            row_id: key
            for row_id, key in session.execute(
                select(RawRecord.id, RawRecord.item_key).where(RawRecord.needs_normalizing)
            )
        }
        keyed = session.scalar(select(func.count()).where(RawRecord.item_key.is_not(None)))
    assert waiting == {changed: None}
    assert keyed == len(records) - 1


def test_a_plan_lets_each_payload_go_once_its_fragment_is_made(
    shared_db: Database, cloud: Site, now: datetime
) -> None:
    """A record's payload is decoded for its normalizer and let go after it: a planned
    batch holds the stored text, not its records' decoded payloads (which, decoded all at
    once, were cold in the CPU's caches by the time they were read)."""
    config = cloud.config()
    _, records, plan = _landed_and_planned(shared_db, config, now)
    assert plan.stats.new == len(records) > 5
    assert [r.id for r in records if r._decoded is not None] == []
    # Still there when asked for again, decoded from the stored text.
    again = records[0].payload
    assert again == loads(records[0].raw)
    assert {row["ref"] for row, _ in plan.writes.new} >= {again["issue"]["key"]}


def test_a_row_landing_holds_is_skipped_not_waited_for(
    shared_db: Database, cloud: Site, now: datetime
) -> None:
    """On PostgreSQL a row that landing is writing is left on the queue at once: the
    plan's writer never waits on landing, so the two cannot deadlock."""
    if shared_db.dialect != "postgresql":
        pytest.skip("SQLite has one write lock, taken before the check (tested above)")
    config = cloud.config()
    people, records, plan = _landed_and_planned(shared_db, config, now)
    held = records[0].id
    with shared_db.sessions.begin() as landing:
        landing.execute(
            update(RawRecord).where(RawRecord.id == held).values(needs_normalizing=True)
        )
        stats = NormalizeStats()
        with shared_db.sessions.begin() as session:
            session.connection().exec_driver_sql("SET LOCAL lock_timeout = '5s'")
            book = IdentityBook(session, IdentityResolver(config.org), people)
            assert write_if_current(session, book, plan, stats) == {held}
    assert _pending(shared_db) == 1
