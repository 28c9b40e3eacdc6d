"""The migrations build exactly the schema the models declare, on both databases, and
carry what a database already holds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from conftest import NOW, Database
from helpers import planned_rows
from model import Base, RawRecord, Source
from model.db import make_engine, make_sessionmaker, refresh_statistics, upgrade
from model.queries.sources import as_of


def test_migrated_schema_matches_the_models(db: Database) -> None:
    with db.sessions() as session:
        connection = session.connection()
        context = MigrationContext.configure(connection)
        assert compare_metadata(context, Base.metadata) == []
        tables = set(inspect(connection).get_table_names())
    assert {
        "work_item",
        "involvement",
        "occurrence",
        "raw_record",
        "sync_cursor",
        "sync_run",
        "person",
        "identity",
        "team",
        "membership",
        "link",
        "source",
    } <= tables


def test_refresh_statistics_gives_the_planner_row_counts(db: Database) -> None:
    with db.sessions.begin() as session:
        source = Source(slug="s", kind="jira")
        session.add(source)
        session.flush()
        session.add_all(RawRecord(source_id=source.id, stream="issues", external_id=str(n),
                                  payload={}, content_hash="h", fetched_at=NOW)
                        for n in range(50))
    with db.sessions.begin() as session:
        refresh_statistics(session)
        rows = planned_rows(session, "raw_record")
    assert rows and rows > 0


def test_last_success_is_backfilled_from_the_runs_before_it(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0007")
    older, newer, failed = "2026-12-01 09:00:00", "2026-12-01 10:00:00", "2026-12-01 11:00:00"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO source (id, slug, kind, created_at) "
                          "VALUES (1, 'gh', 'github', :t)"), {"t": older})
        for finished, status in ((older, "success"), (newer, "success"), (failed, "failed")):
            conn.execute(text("INSERT INTO sync_run (source_id, stream, started_at, "
                              "finished_at, status, fetched, new, changed, unchanged, "
                              "deleted, quarantined, requests) VALUES (1, 'issues', :t, :t, "
                              ":s, 0, 0, 0, 0, 0, 0, 0)"), {"t": finished, "s": status})
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        (fresh,) = as_of(session, NOW)
    assert (fresh.source, fresh.stream, fresh.last_success) == (
        "gh", "issues", datetime(2026, 12, 1, 10, tzinfo=UTC))
    engine.dispose()
