"""The capacity document, built once for the API, the report and the web page."""

from __future__ import annotations

from api.schemas import (
    CapacityOut,
    Freshness,
    MemberCapacityOut,
    OverAllocationOut,
    TeamAtRiskOut,
    TeamWeekOut,
    WeekOut,
)
from model.queries.capacity import TeamCapacity

__all__ = ["capacity_document"]


def capacity_document(report: TeamCapacity, stated: list[Freshness]) -> CapacityOut:
    """A team's capacity as the API's schema, with the sources' freshness (`stated`, read
    before the report)."""
    return CapacityOut(
        team=report.team, name=report.name,
        members=[MemberCapacityOut(person=m.person, name=m.name, share=m.share,
                                   weeks=[WeekOut(**vars(w)) for w in m.weeks])
                 for m in report.members],
        totals=[TeamWeekOut(**t) for t in report.totals],
        at_risk=[TeamAtRiskOut(**r) for r in report.at_risk],
        over_allocated=[OverAllocationOut(**o) for o in report.over_allocated],
        hidden_members=report.hidden_members,
        as_of=stated)
