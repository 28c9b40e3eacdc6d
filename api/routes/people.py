"""People: the list, a person's 360 view and a person's workload."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import aliased

from api.deps import Clock, DbSession, Viewer, get_person
from api.problems import Problem
from api.schemas import (
    Freshness,
    ItemOut,
    PeopleOut,
    PersonOut,
    WeekOut,
    WorkloadOut,
    WorkOut,
)
from model import ItemKind, Person, StatusCategory
from model.queries.sources import source_freshness
from model.queries.work import CursorError, decode_cursor, person_work
from model.queries.workload import person_workload

router = APIRouter(prefix="/v1/people", tags=["people"])


def _freshness(session: DbSession, now: Clock) -> list[Freshness]:
    return [
        Freshness(
            source=f.source, stream=f.stream, last_success=f.last_success, lag_seconds=f.lag_seconds
        )
        for f in source_freshness(session, now)
    ]


@router.get("")
def list_people(session: DbSession, viewer: Viewer) -> PeopleOut:
    """Every person of the organisation."""
    manager = aliased(Person)
    rows = session.execute(
        select(Person, manager.slug)
        .outerjoin(manager, manager.id == Person.manager_id)
        .order_by(Person.slug)
    ).all()
    return PeopleOut(
        people=[
            PersonOut(id=p.slug, name=p.name, email=p.email, timezone=p.timezone, manager=m)
            for p, m in rows
        ]
    )


@router.get("/{person_id}/work")
def person_work_view(
    person_id: str,
    session: DbSession,
    viewer: Viewer,
    now: Clock,
    kind: Annotated[list[ItemKind] | None, Query(description="Only these kinds.")] = None,
    status: Annotated[
        list[StatusCategory] | None, Query(description="Only these status categories.")
    ] = None,
    cursor: Annotated[str | None, Query(description="From a previous `next_cursor`.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> WorkOut:
    """Every item the person is involved in, wherever it lives (the 360-degree view)."""
    person = get_person(session, person_id)
    try:
        after = decode_cursor(cursor) if cursor else None
    except CursorError as exc:
        raise Problem(400, "Invalid cursor", str(exc), parameter="cursor") from exc
    page = person_work(
        session, person, kinds=kind or (), statuses=status or (), after=after, limit=limit
    )
    items = [
        ItemOut(
            id=r.item.id,
            kind=r.item.kind,
            title=r.item.title,
            status=r.item.status_raw,
            status_category=r.item.status_category,
            url=r.item.url,
            source=r.source,
            container=r.item.container,
            priority=r.item.priority,
            start=r.item.start_at,
            end=r.item.end_at,
            all_day=r.item.all_day,
            due=r.item.due_at,
            updated=r.item.updated_at,
            private=r.item.private,
            roles=[str(role) for role in r.roles],
        )
        for r in page.rows
    ]
    return WorkOut(
        person=person.slug,
        items=items,
        next_cursor=page.next_cursor,
        as_of=_freshness(session, now),
    )


@router.get("/{person_id}/workload")
def person_workload_view(
    person_id: str,
    session: DbSession,
    viewer: Viewer,
    now: Clock,
    start: Annotated[
        date | None, Query(description="A day of the first week (default: this week).")
    ] = None,
    weeks: Annotated[int, Query(ge=1, le=52)] = 6,
) -> WorkloadOut:
    """The person's load per ISO week, in their time zone."""
    person = get_person(session, person_id)
    first = start or now.astimezone(ZoneInfo(person.timezone)).date()
    loads = person_workload(session, person, first, weeks)
    return WorkloadOut(
        person=person.slug,
        timezone=person.timezone,
        weeks=[WeekOut(**vars(w)) for w in loads],
        as_of=_freshness(session, now),
    )
