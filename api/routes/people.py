"""People: the list, a person's 360 view and a person's workload."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import aliased

from api.deps import Clock, Config, CurrentViewer, DbSession, get_person
from api.freshness import freshness
from api.problems import V1_RESPONSES, Problem, ProblemOut
from api.routes.listing import Params, list_items
from api.schemas import (
    ForecastItemOut,
    ForecastOut,
    ItemListOut,
    PeopleOut,
    PersonOut,
    WeekOut,
    WorkloadOut,
)
from model import Person
from model.queries.forecast import forecast_for

router = APIRouter(prefix="/v1/people", tags=["people"], responses=V1_RESPONSES)


@router.get("")
def list_people(session: DbSession, viewer: CurrentViewer) -> PeopleOut:
    """Every person of the organisation."""
    manager = aliased(Person)
    rows = session.execute(select(Person, manager.slug)
                           .outerjoin(manager, manager.id == Person.manager_id)
                           .order_by(Person.slug)).all()
    return PeopleOut(people=[PersonOut(id=p.slug, name=p.name, email=p.email,
                                       timezone=p.timezone, manager=m) for p, m in rows])


@router.get("/{person_id}/work")
def person_work_view(person_id: str, session: DbSession, viewer: CurrentViewer, now: Clock,
                     params: Params) -> ItemListOut:
    """Every item the person is involved in, wherever it lives (the 360-degree view)."""
    person = get_person(session, person_id)
    return list_items(session, viewer, now, params, [person.id])


@router.get("/{person_id}/workload",
            responses={403: {"model": ProblemOut, "description": "Not yours, not your report."}})
def person_workload_view(
    person_id: str,
    session: DbSession,
    viewer: CurrentViewer,
    now: Clock,
    start: Annotated[date | None, Query(description="A day of the first week (default: "
                                                    "this week).")] = None,
    weeks: Annotated[int, Query(ge=1, le=52)] = 6,
    config: Config = None,  # type: ignore[assignment]
) -> WorkloadOut:
    """The person's load per ISO week, in their time zone (theirs, their managers', admins')."""
    person = _load_visible(session, viewer, person_id)
    stated = freshness(session, now)
    first = start or now.astimezone(ZoneInfo(person.timezone)).date()
    forecast = forecast_for(session, viewer, person, config.org, first, weeks, now)
    return WorkloadOut(person=person.slug, timezone=person.timezone,
                       weeks=[WeekOut(**vars(w)) for w in forecast.weeks],
                       as_of=stated)


@router.get("/{person_id}/forecast",
            responses={403: {"model": ProblemOut, "description": "Not yours, not your report."}})
def person_forecast_view(person_id: str, session: DbSession, viewer: CurrentViewer, now: Clock,
                         config: Config) -> ForecastOut:
    """Every open item of the person's with its effort, projected start and finish, risk."""
    person = _load_visible(session, viewer, person_id)
    stated = freshness(session, now)
    forecast = forecast_for(session, viewer, person, config.org, now.date(), 1, now)
    return ForecastOut(person=person.slug, timezone=person.timezone,
                       items=[ForecastItemOut(**{**vars(i), "at_risk": i.at_risk})
                              for i in forecast.items],
                       as_of=stated)


def _load_visible(session: DbSession, viewer: CurrentViewer, person_id: str) -> Person:
    person = get_person(session, person_id)
    if not viewer.can_see_load_of(person.id):
        raise Problem(403, "Not allowed", "workload is shown to the person, the people they "
                                          "report to, and admins")
    return person
