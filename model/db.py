"""Engines, sessions and schema migrations for SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from psycopg.types.array import ListBinaryDumper
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from model.base import Base
from workhub import jsonio

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["REFRESH_STATISTICS_AFTER", "make_engine", "make_sessionmaker", "refresh_statistics",
           "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while a sync writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Checkpoint the WAL into the database every 64 MiB rather than every 4 MiB: a first
    # sync rewrites the same index pages batch after batch, and copying them back less
    # often made a 100k-record normalization 15 % faster (44.7 and 40.2 s against 33.9
    # and 36.9 s). The WAL file stays at most that large.
    cursor.execute("PRAGMA wal_autocheckpoint=16384")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


#: JSON columns are written and read through orjson (raw payloads are most of the bytes).
_JSON: dict[str, Any] = {"json_serializer": jsonio.dumps, "json_deserializer": jsonio.loads}


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for a SQLite or PostgreSQL URL, with the pragmas SQLite needs."""
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver the project installs.
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **_JSON, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, pool_pre_ping=True, **_JSON, **kwargs)
    event.listen(engine, "connect", _binary_lists)
    return engine


def _binary_lists(dbapi_connection: Any, _record: Any) -> None:
    # psycopg sends a list as a text array unless told otherwise, quoting and escaping
    # each element in Python: bulk writes send one array a column (model.bulk), and that
    # was half of inserting a batch of work items. Binary: 10,000 items in batches of
    # 500, 0.41-0.47 s of this process's CPU as text, 0.15-0.22 s.
    dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


#: Rows written after which a run refreshes the planner's statistics (and again as that
#: doubles): PostgreSQL plans a table it has no statistics for as nearly empty until
#: autovacuum gets to it. Seen: the raw store's lookup by (source, stream, external id)
#: filtered every row of the stream instead of seeking the ids (landing at 450 records/s
#: instead of 2,400), the partial quarantine index ignored, 281,000 sequential scans of
#: `identity` for foreign-key checks.
REFRESH_STATISTICS_AFTER = 10_000


def refresh_statistics(session: Session) -> None:
    """Bring the query planner's statistics up to date after a large change
    (ANALYZE of the work graph's tables)."""
    if session.get_bind().dialect.name == "postgresql":
        # Our tables only (in the search path's schema), not the whole database.
        session.execute(text("ANALYZE " + ", ".join(
            f'"{table.name}"' for table in Base.metadata.sorted_tables)))
    else:
        # Sampled (analysis_limit): seconds on a million rows become milliseconds.
        session.execute(text("PRAGMA analysis_limit=1000"))
        session.execute(text("ANALYZE"))


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to this engine (no alembic.ini needed)."""
    # Alembic is imported here: only migrating needs it, and a worker or an API read
    # should not pay for importing it.
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to revision."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)
