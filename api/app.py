"""The FastAPI application: `create_app` builds it around a database and a config."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from api.deps import AppState
from api.etag import ETagMiddleware
from api.problems import install_problem_handlers, problem_openapi
from api.routes import health, identities, items, me, people, sources, teams, ui
from model.base import utcnow
from workhub.config import WorkhubConfig

__all__ = ["create_app"]


def create_app(
    sessions: sessionmaker[Session], config: WorkhubConfig, clock: Callable[[], datetime] = utcnow
) -> FastAPI:
    """The read API over the work graph."""
    app = FastAPI(
        title="workhub",
        version="1",
        description="The 360-degree view of everyone's work, joined from every tool.",
    )
    app.state.workhub = AppState(sessions=sessions, config=config, clock=clock)
    install_problem_handlers(app)
    app.openapi = problem_openapi(app)  # type: ignore[method-assign]
    app.add_middleware(ETagMiddleware)
    for router in (health.router, me.router, people.router, teams.router, items.router,
                   sources.router, identities.router, ui.router):
        app.include_router(router)
    return app
