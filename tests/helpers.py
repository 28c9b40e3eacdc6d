"""Helpers shared by tests: configs around a Radicale, and a comparable view of the graph."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from model import Identity, Involvement, Occurrence, Person, TokenRole, WorkItem
from model.queries.access import create_token
from workhub.config import WorkhubConfig

PEOPLE = [
    {"id": "alice", "name": "Alice Example", "email": "alice@example.com"},
    {"id": "bob", "name": "Bob Example", "email": "bob@example.com", "manager": "alice"},
    {
        "id": "carol",
        "name": "Carol Example",
        "email": "carol@example.com",
        "timezone": "America/New_York",
        "country": "US",
    },
]


def caldav_config(
    radicale_url: str, accounts: dict[str, str], *, page_size: int = 100, **org: Any
) -> WorkhubConfig:
    """A config with one CalDAV source per (user -> owner person) and the test people."""
    return WorkhubConfig.model_validate(
        {
            "org": {"timezone": "Europe/Berlin", "country": "DE", "people": PEOPLE, **org},
            "sources": [
                {
                    "name": f"cal-{owner}",
                    "kind": "caldav",
                    "url": radicale_url + "/",
                    "username": user,
                    "password": "x",
                    "owner": owner,
                    "page_size": page_size,
                }
                for user, owner in accounts.items()
            ],
        }
    )


def graph_snapshot(sessions: sessionmaker[Session]) -> dict[str, Any]:
    """Everything the graph says about live items, free of database ids."""
    with sessions() as session:
        out: dict[str, Any] = {}
        for item in session.scalars(select(WorkItem).where(WorkItem.deleted_at.is_(None))):
            people = sorted(
                (
                    ident.value,
                    person or "",
                    inv.role.value,
                    inv.response.value if inv.response else "",
                )
                for inv, ident, person in session.execute(
                    select(Involvement, Identity, Person.slug)
                    .join(Identity, Identity.id == Involvement.identity_id)
                    .outerjoin(Person, Person.id == Involvement.person_id)
                    .where(Involvement.item_id == item.id)
                )
            )
            occurrences = [
                (o.start_at.isoformat(), o.end_at.isoformat(), o.cancelled)
                for o in session.scalars(
                    select(Occurrence)
                    .where(Occurrence.item_id == item.id)
                    .order_by(Occurrence.start_at)
                )
            ]
            out[item.key] = {
                "title": item.title,
                "kind": item.kind.value,
                "status": item.status_category.value,
                "private": item.private,
                "people": people,
                "occurrences": occurrences,
            }
        return out


def token_for(sessions: sessionmaker[Session], person: str, role: str = "member") -> str:
    """A fresh API token for a person (the org must have been synced)."""
    with sessions.begin() as session:
        row = session.scalar(select(Person).where(Person.slug == person))
        assert row is not None, person
        _, token = create_token(session, row, TokenRole(role))
        return token


def item_by_key(sessions: sessionmaker[Session], key: str) -> WorkItem | None:
    """The work item with this key (live or tombstoned)."""
    with sessions() as session:
        return session.scalar(select(WorkItem).where(WorkItem.key == key))


def planned_rows(session: Session, table: str) -> float:
    """The row count the query planner believes `table` has (0 before any statistics)."""
    if session.get_bind().dialect.name == "postgresql":
        found = session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = "
                                    "CAST(:table AS regclass)"), {"table": table})
        return max(float(found or 0), 0.0)  # -1 means never analyzed
    if not session.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")):
        return 0.0
    stat = session.scalar(text("SELECT stat FROM sqlite_stat1 WHERE tbl = :table LIMIT 1"),
                          {"table": table})
    return float(str(stat).split()[0]) if stat else 0.0
