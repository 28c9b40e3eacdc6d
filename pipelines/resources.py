"""The typed client every asset uses: config, database sessions, clock and progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from model import RawRecord, Source
from model.base import utcnow
from model.db import make_engine, make_sessionmaker, upgrade
from pipelines.landing import LandingStats, ProgressCallback
from pipelines.normalize.alongside import NormalizingAlongside
from pipelines.normalize.runner import NormalizeStats, normalize
from pipelines.sync import sync_stream
from workhub.config import WorkhubConfig, default_home, load_config

__all__ = ["Workhub"]


def _both(first: ProgressCallback, second: ProgressCallback | None) -> ProgressCallback:
    def report(stats: LandingStats) -> None:
        first(stats)
        if second is not None:
            second(stats)

    return report


@dataclass
class Workhub:
    """What the assets need, as one resource; tests build it around their own database."""

    config: WorkhubConfig
    sessions_factory: sessionmaker[Session] | None = None
    clock: Callable[[], datetime] = utcnow
    full: bool = False
    progress: ProgressCallback | None = None
    last_normalize: NormalizeStats | None = None
    #: Normalize in a second process while landing goes on, once this many records wait
    #: (None: never). For runs that land and then normalize in this one process (`workhub
    #: sync`); a run whose steps are processes of their own would stop it with each step.
    normalize_alongside_after: int | None = None
    #: What that process normalized in the last run (None when none ran).
    last_alongside: NormalizeStats | None = None
    _alongside: NormalizingAlongside | None = field(default=None, init=False, repr=False)

    @classmethod
    def from_config_file(cls, path: str | None = None) -> Workhub:
        """The resource for `dagster dev` and schedules: config from the usual places."""
        return cls(config=load_config(path))

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """Sessions on the configured database, migrated on first use."""
        if self.sessions_factory is not None:
            return self.sessions_factory
        engine = make_engine(self.config.resolved_database_url(default_home()))
        upgrade(engine)
        return make_sessionmaker(engine)

    def land(self, source: str, stream: str, batch: str | None = None) -> LandingStats:
        """Land one stream of one source from its cursor."""
        progress = self.progress
        if self.normalize_alongside_after is not None:
            if self._alongside is None:
                self._alongside = NormalizingAlongside(self.sessions, self.config, self.clock(),
                                                       start_after=self.normalize_alongside_after)
            progress = _both(self._alongside.landed, self.progress)
        return sync_stream(
            self.sessions,
            self.config,
            source,
            stream,
            full=self.full,
            batch=batch,
            clock=self.clock,
            progress=progress,
        )

    def normalize(self, *, everything: bool = False) -> NormalizeStats:
        """Rebuild the graph rows of every raw record that changed (after stopping the
        process that normalized alongside landing, if one ran, and counting its work)."""
        ahead = NormalizeStats()
        self.last_alongside = None
        if self._alongside is not None:
            ahead = self.last_alongside = self._alongside.finish()
            self._alongside = None
        self.last_normalize = normalize(
            self.sessions, self.config, self.clock(), everything=everything
        )
        self.last_normalize.add(ahead)
        return self.last_normalize

    def quarantined(self, source: str, stream: str) -> int:
        """How many raw records of a stream wait in quarantine."""
        with self.sessions() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(RawRecord)
                    .join(Source)
                    .where(
                        Source.slug == source,
                        RawRecord.stream == stream,
                        RawRecord.quarantine_reason.is_not(None),
                        RawRecord.deleted_at.is_(None),
                    )
                )
                or 0
            )
