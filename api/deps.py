"""Dependencies shared by the routes: a database session, "now", and the caller."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.problems import Problem
from model import Person, Team
from model.queries.access import Viewer, authenticate
from workhub.config import WorkhubConfig

__all__ = ["Clock", "Config", "CurrentViewer", "DbSession", "get_person", "get_team"]


@dataclass(frozen=True)
class AppState:
    """What the app is built around."""

    sessions: sessionmaker[Session]
    config: WorkhubConfig
    clock: Callable[[], datetime]


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.workhub
    return state


def _session(request: Request) -> Iterator[Session]:
    with _state(request).sessions() as session:
        yield session


# Dependencies that only read the app's state are `async def`: FastAPI runs a plain `def`
# dependency in its thread pool, and each such hop cost a 360 view more than its queries.
async def _now(request: Request) -> datetime:
    return _state(request).clock()


async def _config(request: Request) -> WorkhubConfig:
    return _state(request).config


DbSession = Annotated[Session, Depends(_session)]
Clock = Annotated[datetime, Depends(_now)]
Config = Annotated[WorkhubConfig, Depends(_config)]


_bearer = HTTPBearer(auto_error=False, description="A token from `workhub token create`.")


def _viewer(
    request: Request,
    session: DbSession,
    now: Clock,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Viewer:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(401, "Authentication required",
                      "send Authorization: Bearer <token> (see `workhub token create`)",
                      headers={"WWW-Authenticate": "Bearer"})
    viewer = authenticate(session, credentials.credentials, now)
    if viewer is None:
        raise Problem(401, "Invalid token", "the token is unknown or revoked",
                      headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return viewer


CurrentViewer = Annotated[Viewer, Depends(_viewer)]


def get_person(session: Session, person_id: str) -> Person:
    """The person with this slug, or a 404 problem."""
    person = session.scalar(select(Person).where(Person.slug == person_id))
    if person is None:
        raise Problem(404, "No such person", f"no person with id {person_id!r}")
    return person


def get_team(session: Session, team_id: str) -> Team:
    """The team with this slug, or a 404 problem."""
    team = session.scalar(select(Team).where(Team.slug == team_id))
    if team is None:
        raise Problem(404, "No such team", f"no team with id {team_id!r}")
    return team
