"""The asset factory: one raw asset per configured (source, stream), and the work graph."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
)

from pipelines.resources import Workhub
from pipelines.sources import stream_names
from workhub.config import SourceConfig, WorkhubConfig

__all__ = ["WORK_GRAPH", "build_assets", "raw_asset_key"]

WORK_GRAPH = AssetKey("work_graph")


def raw_asset_key(source: str, stream: str) -> AssetKey:
    """The key of the asset that lands one stream of one source."""
    return AssetKey(["raw", source, stream])


def _raw_asset(cfg: SourceConfig, stream: str) -> AssetsDefinition:
    @asset(
        key=raw_asset_key(cfg.name, stream),
        group_name="sources",
        kinds={cfg.kind},
        description=f"Raw `{stream}` records of source `{cfg.name}` ({cfg.kind}), as received.",
        tags={"workhub/source": cfg.name},
    )
    def _land(context: AssetExecutionContext, workhub: ResourceParam[Workhub]) -> MaterializeResult:
        stats = workhub.land(cfg.name, stream, batch=context.run.run_id)
        context.log.info(
            f"{cfg.name}/{stream}: {stats.fetched} fetched, {stats.new} new, "
            f"{stats.changed} changed, {stats.deleted} deleted, {stats.requests} requests"
        )
        return MaterializeResult(
            metadata={
                "fetched": stats.fetched,
                "new": stats.new,
                "changed": stats.changed,
                "unchanged": stats.unchanged,
                "deleted": stats.deleted,
                "requests": stats.requests,
                "seconds": MetadataValue.float(stats.seconds),
            }
        )

    return _land


def _work_graph_asset(config: WorkhubConfig) -> AssetsDefinition:
    deps = [
        raw_asset_key(s.name, stream)
        for s in config.sources
        if s.enabled
        for stream in stream_names(s.kind)
    ]

    @asset(
        key=WORK_GRAPH,
        deps=deps,
        group_name="graph",
        description="People, teams, work items, involvements, links and occurrences, "
        "normalized from every raw record that changed.",
    )
    def _normalize(
        context: AssetExecutionContext, workhub: ResourceParam[Workhub]
    ) -> MaterializeResult:
        stats = workhub.normalize()
        context.log.info(
            f"normalized {stats.records} records: {stats.new} new items, "
            f"{stats.changed} changed, {stats.deleted} deleted, "
            f"{stats.quarantined} quarantined"
        )
        return MaterializeResult(
            metadata={
                "records": stats.records,
                "new": stats.new,
                "changed": stats.changed,
                "unchanged": stats.unchanged,
                "deleted": stats.deleted,
                "quarantined": stats.quarantined,
            }
        )

    return _normalize


def build_assets(config: WorkhubConfig) -> list[AssetsDefinition]:
    """Every asset of the config: raw assets of enabled sources, then the work graph."""
    raw = [
        _raw_asset(s, stream)
        for s in config.sources
        if s.enabled
        for stream in stream_names(s.kind)
    ]
    return [*raw, _work_graph_asset(config)]
