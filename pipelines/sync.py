"""Syncing a source stream and normalizing, as plain functions the assets and tests share."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from model.base import utcnow
from pipelines.landing import LandingStats, ProgressCallback, land_stream
from pipelines.normalize.alongside import NormalizingAlongside
from pipelines.normalize.runner import NormalizeStats, normalize
from pipelines.normalize.workers import PARALLEL_AFTER
from pipelines.sources import make_source, stream_names
from workhub.config import WorkhubConfig

__all__ = ["land_sources", "sync_everything", "sync_source", "sync_stream"]


def sync_stream(
    sessions: sessionmaker[Session],
    config: WorkhubConfig,
    source_name: str,
    stream_name: str,
    *,
    full: bool = False,
    batch: str | None = None,
    clock: Callable[[], datetime] = utcnow,
    progress: ProgressCallback | None = None,
) -> LandingStats:
    """Land one stream of one configured source."""
    (stats,) = sync_source(sessions, config, source_name, [stream_name], full=full,
                           batch=batch, clock=clock, progress=progress)
    return stats


def sync_source(
    sessions: sessionmaker[Session],
    config: WorkhubConfig,
    source_name: str,
    streams: list[str] | None = None,
    *,
    full: bool = False,
    batch: str | None = None,
    clock: Callable[[], datetime] = utcnow,
    progress: ProgressCallback | None = None,
) -> list[LandingStats]:
    """Land streams of one configured source (all of its kind's, by default) in order,
    through one connector: what it learns once per run serves every stream (GitHub's
    repository listing, for one)."""
    cfg = config.source(source_name)
    source = make_source(cfg)
    try:
        return [
            land_stream(
                sessions,
                source_slug=cfg.name,
                source_kind=cfg.kind,
                stream=source.stream(name),
                full=full,
                batch=batch,
                clock=clock,
                progress=progress,
            )
            for name in streams or stream_names(cfg.kind)
        ]
    finally:
        source.close()


def land_sources(
    sessions: sessionmaker[Session],
    config: WorkhubConfig,
    *,
    full: bool = False,
    progress: ProgressCallback | None = None,
) -> list[LandingStats]:
    """Land every stream of every enabled source: the sources at once, each in a thread
    of its own, and a source's streams one after another (they share its rate budget).

    Landing mostly waits on the services, each on its own; one after another, a re-sync
    cost the sum of their waits. Every source is tried even when one fails; the first
    failure is raised once all have stopped. The stats come in the config's order.
    """
    enabled = [cfg for cfg in config.sources if cfg.enabled]
    if not enabled:
        return []
    # Sessions bound to one connection (a test's transaction that is rolled back after
    # it) cannot be used from several threads: there the sources land one by one.
    threads = 1 if isinstance(sessions.kw.get("bind"), Connection) else len(enabled)
    with ThreadPoolExecutor(threads, thread_name_prefix="workhub-land") as pool:
        futures = [
            pool.submit(sync_source, sessions, config, cfg.name, full=full, progress=progress)
            for cfg in enabled
        ]
    failure = next((e for f in futures if (e := f.exception()) is not None), None)
    if failure is not None:
        raise failure
    return [stats for future in futures for stats in future.result()]


def sync_everything(
    sessions: sessionmaker[Session],
    config: WorkhubConfig,
    now: datetime,
    *,
    full: bool = False,
    alongside_after: int = PARALLEL_AFTER,
) -> tuple[list[LandingStats], NormalizeStats]:
    """Land every enabled source (`land_sources`), then normalize (no Dagster involved).

    Once `alongside_after` records wait, a second process normalizes while landing goes
    on; what it leaves is normalized here once landing is done.
    """
    alongside = NormalizingAlongside(sessions, config, now, start_after=alongside_after)
    try:
        landed = land_sources(sessions, config, full=full, progress=alongside.landed)
    except BaseException:
        alongside.abandon()  # not a drain of the queue on the way out of an error
        raise
    ahead = alongside.finish()
    stats = normalize(sessions, config, now)
    stats.add(ahead)
    return landed, stats
