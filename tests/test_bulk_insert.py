"""Bulk inserts: rows come back as given on both databases, through both of
PostgreSQL's ways of sending them (column arrays, and VALUES for large documents)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from conftest import Database
from model import Involvement, RawRecord, Source, WorkItem
from model.bulk import insert_rows
from model.items import ItemKind, Role, StatusCategory

BERLIN_NOON = datetime(2026, 3, 2, 12, 0, tzinfo=timezone(timedelta(hours=1)))


def _items(source_id: int, count: int) -> list[dict[str, object]]:
    return [
        {"key": f"jira:X-{n}", "ref": f"X-{n}", "source_id": source_id, "external_id": f"X-{n}",
         "kind": ItemKind.issue, "title": f"Issue {n}, with a comma and a \"quote\"",
         "url": f"https://jira.example/browse/X-{n}", "container": None,
         "status_raw": "To Do", "status_category": StatusCategory.todo,
         "updated_at": BERLIN_NOON + timedelta(minutes=n), "estimate_hours": n / 2 or None,
         "extra": {"labels": ["a", "b"], "n": n}, "content_hash": f"h{n}"}
        for n in range(count)
    ]


@pytest.mark.parametrize("unnest", [True, False])
def test_inserted_rows_come_back_as_given(db: Database, unnest: bool) -> None:
    with db.sessions() as session:
        source = Source(slug="jira", kind="jira")
        session.add(source)
        session.flush()
        rows = _items(source.id, 25)
        inserted = insert_rows(session, WorkItem, rows, "key", "id", unnest=unnest)
        assert inserted is not None
        ids = {key: row_id for key, row_id in inserted}
        assert sorted(ids) == sorted(row["key"] for row in rows)  # every row's id returned
        stored = {item.key: item for item in session.scalars(select(WorkItem))}
        for row in rows:
            item = stored[str(row["key"])]
            assert item.id == ids[item.key]
            assert item.title == row["title"]
            assert item.kind is ItemKind.issue and item.status_category is StatusCategory.todo
            # Stored in UTC whatever zone it came in, and read back aware.
            assert item.updated_at == row["updated_at"]
            assert item.updated_at.tzinfo == UTC
            assert item.estimate_hours == row["estimate_hours"]
            assert item.extra == row["extra"]
            assert item.container is None


def test_rows_without_returning_and_nulls(db: Database) -> None:
    with db.sessions() as session:
        source = Source(slug="jira", kind="jira")
        session.add(source)
        session.flush()
        payload = {"key": "X-1", "fields": {"summary": "Ünïcode \\ and \"quotes\"", "n": None}}
        assert insert_rows(session, RawRecord, [
            {"source_id": source.id, "stream": "issues", "external_id": f"X-{n}",
             "payload": payload, "content_hash": "c", "fetched_at": BERLIN_NOON,
             "needs_normalizing": True} for n in range(3)], unnest=False) is None
        assert [r.payload for r in session.scalars(select(RawRecord))] == [payload] * 3
        item_id = insert_rows(session, WorkItem, _items(source.id, 1), "id")
        assert item_id is not None
        (item,) = item_id.scalars()
        identity_free = [{"item_id": item, "identity_id": None, "person_id": None,
                          "role": Role.assignee, "response": None, "share": None}]
        # A NOT NULL column given NULL fails as it would row by row, not silently.
        with pytest.raises(IntegrityError), session.begin_nested():
            insert_rows(session, Involvement, identity_free)
        assert insert_rows(session, RawRecord, [], unnest=True) is None
