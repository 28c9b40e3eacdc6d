"""The Dagster code location: `dagster dev -m pipelines.definitions`.

Built from the workhub config (`WORKHUB_CONFIG` or ./workhub.yaml): one raw asset per
(source, stream), the work-graph asset, its checks, and one schedule per source.
"""

from __future__ import annotations

from dagster import Definitions

from pipelines.assets import build_assets
from pipelines.checks import build_checks
from pipelines.resources import Workhub
from pipelines.schedules import build_jobs, build_schedules
from workhub.config import WorkhubConfig, load_config

__all__ = ["build_definitions", "defs"]


def build_definitions(config: WorkhubConfig, workhub: Workhub | None = None) -> Definitions:
    """The Definitions for a config, with the resource given or one built from it."""
    jobs = build_jobs(config)
    return Definitions(
        assets=build_assets(config),
        asset_checks=build_checks(),
        jobs=list(jobs.values()),
        schedules=build_schedules(config, jobs),
        resources={"workhub": workhub or Workhub(config=config)},
    )


defs = build_definitions(load_config())
