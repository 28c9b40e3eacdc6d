"""A small work graph built straight into the database, for API tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from model import (
    Identity,
    Involvement,
    ItemKind,
    Occurrence,
    Response,
    Role,
    StatusCategory,
    WorkItem,
)
from pipelines.identity import sync_org
from pipelines.landing import ensure_source
from workhub.config import WorkhubConfig

START = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
PEOPLE = ("boss", "dev", "mem", "adm", "other")

CONFIG = WorkhubConfig.model_validate({"org": {"timezone": "UTC", "people": [
    {"id": "boss", "name": "Boss", "email": "boss@example.com"},
    {"id": "mid", "name": "Mid", "email": "mid@example.com", "manager": "boss"},
    {"id": "dev", "name": "Dev", "email": "dev@example.com", "manager": "mid"},
    {"id": "mem", "name": "Mem", "email": "mem@example.com", "manager": "mid"},
    {"id": "adm", "name": "Adm", "email": "adm@example.com"},
    {"id": "other", "name": "Other", "email": "other@example.com"},
], "teams": [{"id": f"team-{p}", "name": p, "members": [{"person": p}]}
             for p in ("boss", "dev", "mem", "adm", "other")]}})


def add_item(session: Session, source_id: int, key: str, kind: ItemKind, title: str,
         private: bool, people: list[tuple[str, Role]], people_ids: dict[str, int]) -> int:
    # Private entries start two hours after the public ones, so both count in the load.
    start = START + timedelta(hours=2 if private else 0)
    item = WorkItem(key=key, source_id=source_id, external_id=key, kind=kind, title=title,
                    url=f"https://tool.example/{key}", status_category=StatusCategory.todo,
                    start_at=start, end_at=start + timedelta(hours=1), private=private,
                    updated_at=START, content_hash=key)
    session.add(item)
    session.flush()
    for who, role in people:
        identity = session.scalar(select(Identity).where(Identity.value == f"{who}@example.com"))
        if identity is None:
            identity = Identity(namespace="email", value=f"{who}@example.com",
                                person_id=people_ids.get(who))
            session.add(identity)
            session.flush()
        session.add(Involvement(item_id=item.id, identity_id=identity.id,
                                person_id=people_ids.get(who), role=role,
                                response=Response.accepted))
    if kind is ItemKind.meeting:
        session.add(Occurrence(item_id=item.id, start_at=start,
                               end_at=start + timedelta(hours=1)))
    return item.id


def build_graph(sessions: sessionmaker[Session]) -> dict[tuple[str, str], int]:
    """For each person: a public meeting, a private meeting and an email; item ids back."""
    items: dict[tuple[str, str], int] = {}
    with sessions.begin() as session:
        people = sync_org(session, CONFIG.org)
        source = ensure_source(session, "tool", "caldav").id
        for person in PEOPLE:
            items[(person, "public")] = add_item(
                session, source, f"{person}-public", ItemKind.meeting, f"{person} planning",
                False, [(person, Role.attendee), ("mid", Role.organizer)], people)
            items[(person, "private")] = add_item(
                session, source, f"{person}-private", ItemKind.meeting, f"{person} doctor",
                True, [(person, Role.organizer)], people)
            items[(person, "email")] = add_item(
                session, source, f"{person}-email", ItemKind.email, f"{person} request",
                False, [(person, Role.recipient), ("outsider", Role.requester)], people)
    return items
