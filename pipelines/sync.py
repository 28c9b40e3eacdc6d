"""Syncing a source stream and normalizing, as plain functions the assets and tests share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from model.base import utcnow
from pipelines.landing import LandingStats, ProgressCallback, land_stream
from pipelines.normalize.alongside import NormalizingAlongside
from pipelines.normalize.runner import NormalizeStats, normalize
from pipelines.normalize.workers import PARALLEL_AFTER
from pipelines.sources import make_source, stream_names
from workhub.config import WorkhubConfig

__all__ = ["sync_everything", "sync_stream"]


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
    cfg = config.source(source_name)
    source = make_source(cfg)
    try:
        return land_stream(
            sessions,
            source_slug=cfg.name,
            source_kind=cfg.kind,
            stream=source.stream(stream_name),
            full=full,
            batch=batch,
            clock=clock,
            progress=progress,
        )
    finally:
        source.close()


def sync_everything(
    sessions: sessionmaker[Session],
    config: WorkhubConfig,
    now: datetime,
    *,
    full: bool = False,
    alongside_after: int = PARALLEL_AFTER,
) -> tuple[list[LandingStats], NormalizeStats]:
    """Land every stream of every enabled source, then normalize (no Dagster involved).

    Once `alongside_after` records wait, a second process normalizes while landing goes
    on; what it leaves is normalized here once landing is done.
    """
    alongside = NormalizingAlongside(sessions, config, now, start_after=alongside_after)
    try:
        landed = [
            sync_stream(sessions, config, cfg.name, stream, full=full, progress=alongside.landed)
            for cfg in config.sources
            if cfg.enabled
            for stream in stream_names(cfg.kind)
        ]
    except BaseException:
        alongside.abandon()  # not a drain of the queue on the way out of an error
        raise
    ahead = alongside.finish()
    stats = normalize(sessions, config, now)
    stats.add(ahead)
    return landed, stats
