"""One job and one schedule per source, from its cron expression in the config."""

from __future__ import annotations

from dagster import (
    AssetSelection,
    ScheduleDefinition,
    define_asset_job,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from pipelines.assets import WORK_GRAPH, raw_asset_key
from pipelines.sources import stream_names
from workhub.config import WorkhubConfig

__all__ = ["build_jobs", "build_schedules"]


def build_jobs(config: WorkhubConfig) -> dict[str, UnresolvedAssetJobDefinition]:
    """`sync_<source>`: land the source's streams, then normalize the graph."""
    jobs = {}
    for cfg in config.sources:
        if not cfg.enabled:
            continue
        keys = [raw_asset_key(cfg.name, stream) for stream in stream_names(cfg.kind)]
        selection = AssetSelection.assets(*keys, WORK_GRAPH)
        jobs[cfg.name] = define_asset_job(
            f"sync_{cfg.name.replace('-', '_')}",
            selection=selection,
            description=f"Sync source {cfg.name} and normalize what changed.",
        )
    return jobs


def build_schedules(
    config: WorkhubConfig, jobs: dict[str, UnresolvedAssetJobDefinition]
) -> list[ScheduleDefinition]:
    """A schedule per enabled source, in the organisation's time zone."""
    return [
        ScheduleDefinition(
            name=f"{job.name}_schedule",
            job=job,
            cron_schedule=config.source(name).schedule,
            execution_timezone=config.org.timezone,
        )
        for name, job in jobs.items()
    ]
