"""Syncing a source stream and normalizing, as plain functions the assets and tests share."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from model.base import utcnow
from pipelines.landing import LandingStats, ProgressCallback, land_stream
from pipelines.normalize.alongside import NormalizingAlongside
from pipelines.normalize.runner import NormalizeStats, normalize
from pipelines.normalize.workers import PARALLEL_AFTER
from pipelines.sources import make_source, stream_names
from workhub.config import SourceConfig, WorkhubConfig

__all__ = ["land_sources", "sync_everything", "sync_source", "sync_stream"]

T = TypeVar("T")
R = TypeVar("R")


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
    """Land streams of one configured source (all of its kind's, by default) through one
    connector: what it learns once per run serves every stream (GitHub's repository
    listing, for one). They land at once, a thread each, where the source allows it
    (`Source.parallel_streams`; they share its rate budget), else one after another."""
    cfg = config.source(source_name)
    source = make_source(cfg)
    names = streams or stream_names(cfg.kind)

    def land(name: str) -> LandingStats:
        return land_stream(sessions, source_slug=cfg.name, source_kind=cfg.kind,
                           stream=source.stream(name), full=full, batch=batch, clock=clock,
                           progress=progress)

    try:
        if source.parallel_streams and _may_use_threads(sessions):
            return _all_at_once(land, names, "workhub-stream", len(names))
        return [land(name) for name in names]
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
    of its own, and a source's streams as `sync_source` lands them.

    Landing mostly waits on the services, each on its own; one after another, a re-sync
    cost the sum of their waits. Every source is tried even when one fails; the first
    failure is raised once all have stopped. The stats come in the config's order.
    """
    enabled = [cfg for cfg in config.sources if cfg.enabled]

    def land(cfg: SourceConfig) -> list[LandingStats]:
        return sync_source(sessions, config, cfg.name, full=full, progress=progress)

    threads = len(enabled) if _may_use_threads(sessions) else 1
    return [stats for landed in _all_at_once(land, enabled, "workhub-source", threads)
            for stats in landed]


def _may_use_threads(sessions: sessionmaker[Session]) -> bool:
    # Sessions bound to one connection (a test's transaction that is rolled back after
    # it) cannot be used from several threads: there everything lands one by one.
    return not isinstance(sessions.kw.get("bind"), Connection)


def _all_at_once(work: Callable[[T], R], items: list[T], name: str, threads: int) -> list[R]:
    """`work` on every item in up to `threads` threads, the results in the items' order.
    Every item is tried even when one fails; the first failure is raised once all stopped."""
    if not items:
        return []
    with ThreadPoolExecutor(threads, thread_name_prefix=name) as pool:
        futures = [pool.submit(work, item) for item in items]
    failure = next((e for f in futures if (e := f.exception()) is not None), None)
    if failure is not None:
        raise failure
    return [future.result() for future in futures]


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
