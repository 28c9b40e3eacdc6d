"""The caller."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import CurrentViewer, DbSession
from api.problems import V1_RESPONSES
from api.schemas import MeOut, PersonOut
from model import Person
from model.queries.access import reports_of

router = APIRouter(prefix="/v1", tags=["people"], responses=V1_RESPONSES)


@router.get("/me")
def me(session: DbSession, viewer: CurrentViewer) -> MeOut:
    """Who the token belongs to, its role, and who reports to them."""
    person = session.get_one(Person, viewer.person_id)
    manager = session.get(Person, person.manager_id) if person.manager_id else None
    # Asked here rather than kept on every viewer: only a manager's rights need it.
    everyone = reports_of(session, viewer.person_id)
    reports = sorted(session.scalars(select(Person.slug).where(Person.id.in_(everyone))))
    return MeOut(person=PersonOut(id=person.slug, name=person.name, email=person.email,
                                  timezone=person.timezone,
                                  manager=manager.slug if manager else None),
                 role=str(viewer.role), reports=reports)
