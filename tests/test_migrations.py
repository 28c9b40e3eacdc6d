"""The migrations build exactly the schema the models declare, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from conftest import NOW, Database
from model import Base, RawRecord, Source
from model.db import refresh_statistics


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
        if session.get_bind().dialect.name == "postgresql":
            rows = session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = "
                                       "'raw_record'::regclass"))
        else:
            rows = session.scalar(text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = "
                                       "'raw_record'"))
    assert rows and rows > 0
