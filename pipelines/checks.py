"""Data-quality checks on the work graph, run after each normalization."""

from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    ResourceParam,
    asset_check,
)
from sqlalchemy import func, or_, select

from model import Identity, Involvement, RawRecord, Source, WorkItem
from pipelines.assets import WORK_GRAPH
from pipelines.resources import Workhub

__all__ = ["build_checks"]


@asset_check(asset=WORK_GRAPH, description="Every live work item has a source and a URL.")
def items_have_source_and_url(workhub: ResourceParam[Workhub]) -> AssetCheckResult:
    """Items without a way back to their tool are useless to a reader."""
    with workhub.sessions() as session:
        bad = (
            session.scalar(
                select(func.count())
                .select_from(WorkItem)
                .outerjoin(Source, Source.id == WorkItem.source_id)
                .where(
                    WorkItem.deleted_at.is_(None),
                    or_(Source.id.is_(None), WorkItem.url == "", WorkItem.url.is_(None)),
                )
            )
            or 0
        )
    return AssetCheckResult(passed=bad == 0, metadata={"items_without_source_or_url": bad})


@asset_check(asset=WORK_GRAPH, description="No involvement points at a missing item or identity.")
def involvements_point_at_something(workhub: ResourceParam[Workhub]) -> AssetCheckResult:
    """Dangling involvements would show people work that does not exist."""
    with workhub.sessions() as session:
        dangling = (
            session.scalar(
                select(func.count())
                .select_from(Involvement)
                .outerjoin(WorkItem, WorkItem.id == Involvement.item_id)
                .outerjoin(Identity, Identity.id == Involvement.identity_id)
                .where(or_(WorkItem.id.is_(None), Identity.id.is_(None)))
            )
            or 0
        )
    return AssetCheckResult(passed=dangling == 0, metadata={"dangling_involvements": dangling})


@asset_check(asset=WORK_GRAPH, description="Raw records waiting in quarantine (a warning).")
def nothing_quarantined(workhub: ResourceParam[Workhub]) -> AssetCheckResult:
    """Quarantined records are kept, not lost; this makes them visible."""
    with workhub.sessions() as session:
        count = (
            session.scalar(
                select(func.count())
                .select_from(RawRecord)
                .where(RawRecord.quarantine_reason.is_not(None), RawRecord.deleted_at.is_(None))
            )
            or 0
        )
    return AssetCheckResult(
        passed=count == 0, severity=AssetCheckSeverity.WARN, metadata={"quarantined_records": count}
    )


def build_checks() -> list[AssetChecksDefinition]:
    """Every check of the work graph."""
    return [items_have_source_and_url, involvements_point_at_something, nothing_quarantined]
