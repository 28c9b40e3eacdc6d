"""Landing: a snapshot scoped by an id prefix tombstones within that prefix and nowhere
else; a large landing refreshes the planner's statistics; pages landed together end as
page by page; unchanged pages write nothing; a stream's last success is kept through
later failures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from conftest import Database
from connectors.base import Cursor, Page, RawItem, Snapshot, Stream
from helpers import planned_rows
from model import RawRecord, SyncRun
from model.bulk import IN_LIST
from model.queries.sources import as_of
from pipelines import landing
from pipelines.landing import _joined, land_stream, prefix_end


class _Listing(Stream):
    """One page of records, then a snapshot of `scope` naming `present`."""

    name = "issues"
    primary_key = "id"

    def __init__(self, ids: list[str], scope: str | None = None,
                 present: frozenset[str] = frozenset()) -> None:
        self.ids, self.scope, self.present = ids, scope, present

    def read(self, cursor: Cursor | None) -> Iterator[Page]:
        page = Page(records=[RawItem(i, {"id": i}) for i in self.ids])
        if self.scope is not None:
            page.snapshot = Snapshot(self.scope, self.present, "no longer listed")
        yield page


def test_prefix_end_bounds_exactly_the_prefixed_ids() -> None:
    end = prefix_end("12/")
    assert end == "120"
    assert all("12/" <= i < end for i in ("12/", "12/1", "12/99999", "12/~"))
    assert not any("12/" <= i < end for i in ("123/1", "12", "13/1", "11/9"))


def test_a_scoped_snapshot_tombstones_its_prefix_only(db: Database) -> None:
    ids = ["12/1", "12/2", "123/1", "1/5", "12"]
    land_stream(db.sessions, source_slug="gh", source_kind="github", stream=_Listing(ids))
    land_stream(db.sessions, source_slug="gh", source_kind="github",
                stream=_Listing([], scope="12/", present=frozenset({"12/2"})))
    with db.sessions() as session:
        gone = set(session.scalars(select(RawRecord.external_id).where(
            RawRecord.deleted_at.is_not(None))))
    assert gone == {"12/1"}


class _Pages(Stream):
    """`pages` pages of `size` new records each."""

    name = "issues"
    primary_key = "id"

    def __init__(self, pages: int, size: int) -> None:
        self.pages, self.size = pages, size

    def read(self, cursor: Cursor | None) -> Iterator[Page]:
        for p in range(self.pages):
            yield Page(records=[RawItem(f"{p}-{n}", {"n": n}) for n in range(self.size)])


def test_a_large_landing_refreshes_the_planners_statistics(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # Planned as for an empty table, each page's lookup of its ids would read the whole
    # stream (seen on PostgreSQL: 450 records/s instead of 2,400).
    monkeypatch.setattr(landing, "REFRESH_STATISTICS_AFTER", 40)
    land_stream(db.sessions, source_slug="j", source_kind="jira", stream=_Pages(5, 15))
    with db.sessions() as session:
        assert planned_rows(session, "raw_record") >= 40


def _page(*ids: str, deleted: tuple[str, ...] = (), cursor: Cursor | None = None) -> Page:
    return Page(records=[RawItem(i, {"id": i}) for i in ids],
                deleted=dict.fromkeys(deleted, "gone"), cursor=cursor, requests=1)


def test_pages_join_up_to_one_that_deletes_with_the_last_cursor() -> None:
    pages = [_page("a", "b", cursor={"n": 1}), _page("c", deleted=("a",)),
             _page("d", cursor={"n": 3}), _page("e")]
    joined = [([r.external_id for r in p.records], p.deleted, p.cursor, p.requests, count)
              for p, count in _joined(pages)]
    assert joined == [(["a", "b", "c"], {"a": "gone"}, {"n": 1}, 2, 2),
                      (["d", "e"], {}, {"n": 3}, 2, 2)]


class _Script(Stream):
    """The pages it is given, as fast as the reader takes them."""

    name = "issues"
    primary_key = "id"

    def __init__(self, pages: list[Page]) -> None:
        self.pages = pages

    def read(self, cursor: Cursor | None) -> Iterator[Page]:
        yield from self.pages


def test_pages_landed_together_end_as_page_by_page(db: Database) -> None:
    # A record deleted on one page and listed again on a later one is live, as listed.
    pages = [_page("a", "b"), _page("c", deleted=("a",)), _page("d"),
             Page(records=[RawItem("a", {"id": "a", "again": True})]), _page("e")]
    land_stream(db.sessions, source_slug="j", source_kind="jira", stream=_Script(pages))
    with db.sessions() as session:
        rows = {r.external_id: (r.deleted_at is None, r.payload)
                for r in session.scalars(select(RawRecord))}
    assert rows == {"a": (True, {"id": "a", "again": True}), "b": (True, {"id": "b"}),
                    "c": (True, {"id": "c"}), "d": (True, {"id": "d"}),
                    "e": (True, {"id": "e"})}


def test_a_page_longer_than_an_in_list_is_found_again_whole(db: Database) -> None:
    # Pages landed together can hold thousands of records; their ids are looked up in
    # chunks, within the parameters any SQLite takes.
    ids = [str(n) for n in range(IN_LIST * 2 + 7)]
    land_stream(db.sessions, source_slug="j", source_kind="jira", stream=_Listing(ids))
    again = land_stream(db.sessions, source_slug="j", source_kind="jira", stream=_Listing(ids))
    assert (again.new, again.unchanged) == (0, len(ids))


def _writes_while(db: Database, land: Callable[[], object]) -> list[str]:
    """The writing statements (INSERT, UPDATE, DELETE) sent while `land` runs."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            seen.append(statement)

    engine = db.sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        land()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


@pytest.mark.parametrize("pages", [2, 6])
def test_unchanged_pages_write_nothing(db: Database, pages: int) -> None:
    # SQLite has one write lock, which every stream and the normalizer share: a page
    # that only re-read what is stored must not take it (to count its run, say).
    fixed = datetime(2026, 12, 1, 9, tzinfo=UTC)

    def land() -> None:
        land_stream(db.sessions, source_slug="j", source_kind="jira",
                    stream=_Pages(pages, 3), clock=lambda: fixed)

    land()
    again = _writes_while(db, land)
    # The run's row at its start and its end, and the stream's last success: no page's.
    assert len(again) == 3, again
    with db.sessions() as session:
        counts = session.execute(select(SyncRun.fetched, SyncRun.unchanged, SyncRun.status)
                                 .order_by(SyncRun.id.desc()).limit(1)).one()
    assert tuple(counts) == (pages * 3, pages * 3, "success")


class _Broken(Stream):
    """A stream whose listing fails before its first page."""

    name = "issues"
    primary_key = "id"

    def read(self, cursor: Cursor | None) -> Iterator[Page]:
        raise RuntimeError("the listing broke")
        yield Page()  # pragma: no cover  (makes this a generator)


def test_as_of_states_each_streams_last_success_not_its_last_run(db: Database) -> None:
    first, failed, second = (datetime(2026, 12, 1, h, tzinfo=UTC) for h in (9, 10, 11))
    land_stream(db.sessions, source_slug="gh", source_kind="github", stream=_Listing(["1"]),
                clock=lambda: first)
    with pytest.raises(RuntimeError):
        land_stream(db.sessions, source_slug="gh", source_kind="github", stream=_Broken(),
                    clock=lambda: failed)
    with db.sessions() as session:
        assert [(a.source, a.stream, a.last_success) for a in as_of(session, failed)] == [
            ("gh", "issues", first)]
    land_stream(db.sessions, source_slug="gh", source_kind="github", stream=_Listing(["1"]),
                clock=lambda: second)
    with db.sessions() as session:
        (fresh,) = as_of(session, second + timedelta(minutes=5))
    assert (fresh.last_success, fresh.lag_seconds) == (second, 300)
