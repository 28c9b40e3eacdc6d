"""`workhub sync`: materialize the same assets in-process and report per stream."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from dagster import AssetKey, AssetSelection, DagsterInstance, materialize
from sqlalchemy import select

from model import Source, SyncRun
from pipelines.assets import WORK_GRAPH, build_assets, raw_asset_key
from pipelines.checks import build_checks
from pipelines.normalize.runner import NormalizeStats
from pipelines.resources import Workhub
from pipelines.sources import stream_names

__all__ = ["StreamReport", "SyncReport", "run_sync"]


@dataclass(frozen=True)
class StreamReport:
    """One row of the summary table."""

    source: str
    stream: str
    status: str
    fetched: int
    new: int
    changed: int
    unchanged: int
    deleted: int
    quarantined: int
    requests: int
    seconds: float
    error: str | None


@dataclass
class SyncReport:
    """What a sync did, stream by stream, and what normalization made of it."""

    streams: list[StreamReport] = field(default_factory=list)
    normalized: NormalizeStats | None = None
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every stream synced."""
        return all(s.status == "success" for s in self.streams)


def _instance() -> DagsterInstance:
    # With DAGSTER_HOME set, runs land in the same storage `dagster dev` shows.
    return DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()


#: Dagster's own step-by-step log is for `dagster dev`; the CLI shows its own progress.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def run_sync(workhub: Workhub, sources: list[str] | None = None) -> SyncReport:
    """Land the chosen sources (all enabled ones by default), then normalize."""
    config = workhub.config
    chosen = [s for s in config.sources if s.enabled and (not sources or s.name in sources)]
    unknown = set(sources or []) - {s.name for s in config.sources}
    if unknown:
        raise KeyError(f"no source named {', '.join(sorted(unknown))} in the config")
    keys: list[AssetKey] = [
        raw_asset_key(s.name, st) for s in chosen for st in stream_names(s.kind)
    ]
    assets = build_assets(config)
    checks = build_checks()
    resources = {"workhub": workhub}
    report = SyncReport()
    with _instance() as instance:
        selection = AssetSelection.assets(*keys, WORK_GRAPH)
        result = materialize(
            [*assets, *checks],
            resources=resources,
            instance=instance,
            selection=selection,
            raise_on_error=False,
            run_config=QUIET,
        )
        batch = result.run_id
        materialized = {e.asset_key for e in result.get_asset_materialization_events()}
        if WORK_GRAPH not in materialized:
            # A failed source must not hold back the graph for the others.
            result = materialize(
                [*assets, *checks],
                resources=resources,
                instance=instance,
                selection=AssetSelection.assets(WORK_GRAPH),
                raise_on_error=False,
                run_config=QUIET,
            )
        for evaluation in result.get_asset_check_evaluations():
            report.checks[evaluation.check_name] = evaluation.passed
    report.normalized = workhub.last_normalize
    report.streams = _stream_reports(workhub, [s.name for s in chosen], batch)
    return report


def _stream_reports(workhub: Workhub, sources: list[str], batch: str) -> list[StreamReport]:
    rows = []
    with workhub.sessions() as session:
        for source in sources:
            for stream in stream_names(workhub.config.source(source).kind):
                run = session.scalar(
                    select(SyncRun)
                    .join(Source, Source.id == SyncRun.source_id)
                    .where(Source.slug == source, SyncRun.stream == stream, SyncRun.batch == batch)
                    .order_by(SyncRun.id.desc())
                    .limit(1)
                )
                if run is None:
                    rows.append(
                        StreamReport(
                            source,
                            stream,
                            "failed",
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0,
                            0.0,
                            "the stream did not start; see the log",
                        )
                    )
                    continue
                seconds = ((run.finished_at or run.started_at) - run.started_at).total_seconds()
                rows.append(
                    StreamReport(
                        source,
                        stream,
                        run.status,
                        run.fetched,
                        run.new,
                        run.changed,
                        run.unchanged,
                        run.deleted,
                        workhub.quarantined(source, stream),
                        run.requests,
                        seconds,
                        run.error,
                    )
                )
    return rows
