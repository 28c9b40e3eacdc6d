"""Shared fixtures: databases (SQLite and PostgreSQL), a real Radicale, a fixed "now"."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from model.db import make_engine, upgrade
from workhub.radicale import start_radicale

SHARED = Path(__file__).resolve().parents[2] / "shared"
FIXTURES = Path(os.environ.get("WORKHUB_SHARED", SHARED)) / "fixtures"
POSTGRES_URL = os.environ.get(
    "WORKHUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)

#: The moment every test lives in: a Wednesday, so "this week" has days on both sides.
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    """The injected current time (tests never read the wall clock)."""
    return NOW


# ---------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_engine(worker_id: str) -> Iterator[Engine]:
    """An engine on a schema of our own in the local PostgreSQL, migrated once.

    The process id keeps two test runs on one machine (two engineers, CI and a developer)
    from dropping each other's schema.
    """
    with postgres_schema(f"workhub_test_{worker_id}_{os.getpid()}") as url:
        engine = make_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()


@contextmanager
def postgres_schema(schema: str) -> Iterator[str]:
    """A fresh schema in the local PostgreSQL, dropped afterwards; yields a URL whose
    connections work in it (a worker process connects by URL alone)."""
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """The xdist worker name, or "main" without xdist."""
    return getattr(request.config, "workerinput", {}).get("workerid", "main")


@dataclass
class Database:
    """What a test gets: a session factory, the engine's dialect and its URL."""

    sessions: sessionmaker[Session]
    dialect: str
    url: str


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A clean work-graph database on SQLite and on PostgreSQL.

    SQLite: a fresh copy of the migrated template. PostgreSQL: one outer transaction
    rolled back after the test; the code's own commits become savepoints inside it.
    """
    if request.param == "sqlite":
        path = tmp_path / "workhub.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        yield Database(sessionmaker(engine, expire_on_commit=False), "sqlite", url)
        engine.dispose()
        return
    engine = request.getfixturevalue("postgres_engine")
    connection = engine.connect()
    outer = connection.begin()
    factory = sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    try:
        yield Database(factory, "postgresql", str(engine.url))
    finally:
        outer.rollback()
        connection.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_db(request: pytest.FixtureRequest, tmp_path: Path, worker_id: str
              ) -> Iterator[Database]:
    """A database other processes can read too: what `db` rolls back, this commits.

    PostgreSQL: a schema of this test's own, named in the URL (a worker process connects
    by URL alone), dropped afterwards.
    """
    if request.param == "sqlite":
        path = tmp_path / "shared.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        yield Database(sessionmaker(engine, expire_on_commit=False), "sqlite", str(engine.url))
        engine.dispose()
        return
    with postgres_schema(f"workhub_shared_{worker_id}_{os.getpid()}") as url:
        engine = make_engine(url)
        upgrade(engine)
        yield Database(sessionmaker(engine, expire_on_commit=False), "postgresql", url)
        engine.dispose()


# ---------------------------------------------------------------- Radicale


@dataclass
class Radicale:
    """A running Radicale server with helpers to put and delete calendar objects."""

    url: str

    def new_user(self) -> str:
        """A user name no other test uses (no auth: any name is accepted)."""
        return f"u{uuid.uuid4().hex[:10]}"

    def make_calendar(self, user: str, calendar: str = "work", name: str | None = None) -> str:
        """Create a calendar collection and return its URL."""
        url = f"{self.url}/{user}/{calendar}/"
        body = (
            '<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" '
            'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
            f"<D:displayname>{name or calendar}</D:displayname>"
            "</D:prop></D:set></C:mkcalendar>"
        )
        response = httpx.request("MKCALENDAR", url, content=body, auth=(user, "x"))
        assert response.status_code in (201, 405), response.text
        return url

    def put(self, user: str, calendar: str, name: str, ics: str) -> None:
        """Create or replace one calendar object."""
        response = httpx.put(
            f"{self.url}/{user}/{calendar}/{name}.ics",
            content=ics,
            headers={"Content-Type": "text/calendar"},
            auth=(user, "x"),
        )
        assert response.status_code in (201, 204), response.text

    def delete(self, user: str, calendar: str, name: str) -> None:
        """Delete one calendar object."""
        response = httpx.delete(f"{self.url}/{user}/{calendar}/{name}.ics", auth=(user, "x"))
        assert response.status_code in (200, 204), response.text


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    """A real Radicale CalDAV server on a free loopback port, for the whole session."""
    proc, url = start_radicale(tmp_path_factory.mktemp("radicale"))
    yield Radicale(url)
    proc.terminate()
    proc.wait(timeout=10)
