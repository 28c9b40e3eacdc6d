"""A team's capacity: every visible member's weeks, totals weighted by membership share,
at-risk items, and who is over-allocated when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from model import Membership, Person, Team
from model.queries.access import Viewer
from model.queries.forecast import PlannedItem, forecast_for
from model.queries.workload import WeekLoad
from workhub.config import OrgConfig

__all__ = ["MemberCapacity", "TeamCapacity", "team_capacity"]

SUMMED = ("working_hours", "time_off_hours", "meeting_hours", "duty_hours", "available_hours",
          "committed_hours", "focus_hours")


@dataclass
class MemberCapacity:
    """One member's weeks and open items."""

    person: str
    name: str
    share: float
    weeks: list[WeekLoad]
    items: list[PlannedItem]


@dataclass
class TeamCapacity:
    """The team's members, weekly totals, risks and over-allocations."""

    team: str
    name: str
    members: list[MemberCapacity]
    totals: list[dict[str, Any]] = field(default_factory=list)
    at_risk: list[dict[str, Any]] = field(default_factory=list)
    over_allocated: list[dict[str, Any]] = field(default_factory=list)
    hidden_members: int = 0


def team_capacity(session: Session, viewer: Viewer, team: Team, org: OrgConfig, start: date,
                  weeks: int, now: datetime) -> TeamCapacity:
    """Capacity of the members whose load the viewer may see (the rest are only counted)."""
    rows = session.execute(select(Person, Membership.share)
                           .join(Membership, Membership.person_id == Person.id)
                           .where(Membership.team_id == team.id).order_by(Person.slug)).all()
    members, hidden = [], 0
    for person, share in rows:
        if not viewer.can_see_load_of(person.id):
            hidden += 1
            continue
        forecast = forecast_for(session, viewer, person, org, start, weeks, now)
        members.append(MemberCapacity(person.slug, person.name, share, forecast.weeks,
                                      forecast.items))
    report = TeamCapacity(team.slug, team.name, members, hidden_members=hidden)
    for n in range(weeks):
        if not members:
            break
        total: dict[str, Any] = {"week": members[0].weeks[n].week,
                                 "start": members[0].weeks[n].start}
        for name in SUMMED:
            total[name] = round(sum(getattr(m.weeks[n], name) * m.share for m in members), 2)
        total["utilization"] = (round(total["committed_hours"] / total["available_hours"], 4)
                                if total["available_hours"] > 0 else None)
        total["unestimated_items"] = sum(m.weeks[n].unestimated_items for m in members)
        report.totals.append(total)
    for member in members:
        for week in member.weeks:
            over = week.utilization is not None and week.utilization > 1.0
            if over or (week.available_hours <= 0 < week.committed_hours):
                report.over_allocated.append({"person": member.person, "week": week.week,
                                              "utilization": week.utilization,
                                              "committed_hours": week.committed_hours,
                                              "available_hours": week.available_hours})
        for item in member.items:
            if item.at_risk:
                report.at_risk.append({"person": member.person, **item.brief()})
    report.at_risk.sort(key=lambda r: (r["due"] or datetime.max, r["id"]))
    return report
