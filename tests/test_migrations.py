"""The migrations build exactly the schema the models declare, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from conftest import Database
from model import Base


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
