"""Bulk inserts: rows come back as given on both databases, through both of
PostgreSQL's ways of sending them (column arrays, and VALUES for large documents); and
lookups by a list of values (`one_of`) find what `IN` finds; updates by id (`update_rows`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from conftest import Database
from model import Involvement, RawRecord, Source, WorkItem
from model.bulk import insert_rows, one_of, update_rows
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


def _jira(session: Session) -> Source:
    source = Source(slug="jira", kind="jira")
    session.add(source)
    session.flush()
    return source


def _inserted_items(session: Session, source_id: int, count: int) -> dict[str, int]:
    """`count` items inserted with their ids returned: key -> id."""
    inserted = insert_rows(session, WorkItem, _items(source_id, count), "key", "id")
    assert inserted is not None
    return {key: row_id for key, row_id in inserted}


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


def test_one_of_finds_what_in_finds_with_one_parameter(db: Database) -> None:
    """By id, by key and by the byte-compared external id (its index's collation), on
    both databases; on PostgreSQL the statement's text is the same for any number of
    values, so it is prepared and planned once."""
    with db.sessions() as session:
        source = _jira(session)
        ids = _inserted_items(session, source.id, 30)
        insert_rows(session, RawRecord, [
            {"source_id": source.id, "stream": "issues", "external_id": f"X-{n}",
             "payload": {"n": n}, "content_hash": f"h{n}", "fetched_at": BERLIN_NOON}
            for n in range(30)], unnest=False)
        wanted = ["jira:X-3", "jira:X-17", "jira:X-29", "jira:nothing"]
        assert sorted(session.scalars(select(WorkItem.key).where(
            one_of(session, WorkItem.key, wanted)))) == sorted(wanted[:3])
        assert sorted(session.scalars(select(WorkItem.key).where(
            one_of(session, WorkItem.id, [ids["jira:X-5"], ids["jira:X-6"]])))) == [
            "jira:X-5", "jira:X-6"]
        assert list(session.scalars(select(RawRecord.payload).where(
            RawRecord.source_id == source.id, RawRecord.stream == "issues",
            one_of(session, RawRecord.external_id, ["X-12"])))) == [{"n": 12}]
        assert list(session.scalars(select(WorkItem.id).where(
            one_of(session, WorkItem.key, [])))) == []
        sent: list[int] = []

        def count(_conn: object, _cursor: object, _sql: str, parameters: object,
                  *_: object) -> None:
            sent.append(len(parameters))  # type: ignore[arg-type]

        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            for n in (1, 2, 4):
                session.execute(select(WorkItem.id).where(one_of(session, WorkItem.key,
                                                                 wanted[:n])))
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert sent == ([1, 1, 1] if db.dialect == "postgresql" else [1, 2, 4])


def test_updated_rows_change_by_id_and_the_rest_stay(db: Database) -> None:
    """Rows updated by primary key on both databases (one statement of arrays on
    PostgreSQL): each listed row takes its own values, nulls, enums, JSON and times
    included; the rows not listed keep theirs."""
    with db.sessions() as session:
        source = _jira(session)
        ids = _inserted_items(session, source.id, 6)
        later = BERLIN_NOON + timedelta(days=3)
        update_rows(session, WorkItem, [
            {"id": ids[f"jira:X-{n}"], "title": f"Renamed {n}, \"quoted\" \\ ü",
             "status_category": StatusCategory.done, "extra": {"n": -n, "list": [n]},
             "deleted_at": later if n == 1 else None, "estimate_hours": None}
            for n in (1, 4)])
        update_rows(session, WorkItem, [])
        session.expire_all()
        stored = {item.key: item for item in session.scalars(select(WorkItem))}
        for n in range(6):
            item = stored[f"jira:X-{n}"]
            if n in (1, 4):
                assert (item.title, item.status_category, item.extra, item.estimate_hours) == (
                    f"Renamed {n}, \"quoted\" \\ ü", StatusCategory.done, {"n": -n, "list": [n]},
                    None)
                assert item.deleted_at == (later if n == 1 else None)
            else:
                assert (item.title, item.status_category, item.extra["n"], item.deleted_at) == (
                    f"Issue {n}, with a comma and a \"quote\"", StatusCategory.todo, n, None)
