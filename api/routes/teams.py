"""Teams: the list and a team's 360 view."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import aliased

from api.deps import Clock, CurrentViewer, DbSession, get_team
from api.problems import V1_RESPONSES
from api.routes.listing import Params, list_items
from api.schemas import ItemListOut, MemberOut, TeamOut, TeamsOut
from model import Membership, Person, Team

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


@router.get("/{team_id}/work")
def team_work_view(team_id: str, session: DbSession, viewer: CurrentViewer, now: Clock,
                   params: Params) -> ItemListOut:
    """Every item a member of the team is involved in (the team's 360-degree view)."""
    team = get_team(session, team_id)
    people = list(session.scalars(select(Membership.person_id)
                                  .where(Membership.team_id == team.id)))
    return list_items(session, viewer, now, params, people)
