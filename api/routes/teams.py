"""Teams: the list, a team's 360 view and its capacity."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import aliased

from api.capacity import capacity_document
from api.deps import Clock, Config, CurrentViewer, DbSession, get_team
from api.freshness import freshness
from api.problems import V1_RESPONSES, Problem, ProblemOut
from api.routes.listing import Params, list_items
from api.schemas import (
    CapacityOut,
    ItemListOut,
    MemberOut,
    TeamOut,
    TeamsOut,
)
from model import Membership, Person, Team
from model.queries.capacity import team_capacity

router = APIRouter(prefix="/v1/teams", tags=["teams"], responses=V1_RESPONSES)


@router.get("")
def list_teams(session: DbSession, viewer: CurrentViewer) -> TeamsOut:
    """Every team with its manager and members."""
    manager = aliased(Person)
    teams = session.execute(select(Team, manager.slug)
                            .outerjoin(manager, manager.id == Team.manager_id)
                            .order_by(Team.slug)).all()
    members: dict[int, list[MemberOut]] = {}
    for team_id, slug, share in session.execute(
            select(Membership.team_id, Person.slug, Membership.share)
            .join(Person, Person.id == Membership.person_id).order_by(Person.slug)):
        members.setdefault(team_id, []).append(MemberOut(person=slug, share=share))
    return TeamsOut(teams=[TeamOut(id=t.slug, name=t.name, manager=m,
                                   members=members.get(t.id, [])) for t, m in teams])


@router.get("/{team_id}/capacity",
            responses={403: {"model": ProblemOut,
                             "description": "No member's load is yours to see."}})
def team_capacity_view(
    team_id: str,
    session: DbSession,
    viewer: CurrentViewer,
    now: Clock,
    config: Config,
    start: Annotated[date | None, Query(description="A day of the first week (default: "
                                                    "this week).")] = None,
    weeks: Annotated[int, Query(ge=1, le=26)] = 6,
) -> CapacityOut:
    """Members x weeks with every workload field, totals weighted by membership share,
    at-risk items and over-allocations (members whose load the caller may see)."""
    team = get_team(session, team_id)
    stated = freshness(session, now)
    first = start or now.astimezone(ZoneInfo(config.org.timezone)).date()
    report = team_capacity(session, viewer, team, config.org, first, weeks, now)
    if not report.members and report.hidden_members:
        raise Problem(403, "Not allowed", "team capacity is shown to the team's managers, "
                                          "its members (their own weeks) and admins")
    return capacity_document(report, stated)


@router.get("/{team_id}/work")
def team_work_view(team_id: str, session: DbSession, viewer: CurrentViewer, now: Clock,
                   params: Params) -> ItemListOut:
    """Every item a member of the team is involved in (the team's 360-degree view)."""
    team = get_team(session, team_id)
    people = list(session.scalars(select(Membership.person_id)
                                  .where(Membership.team_id == team.id)))
    return list_items(session, viewer, now, params, people)
