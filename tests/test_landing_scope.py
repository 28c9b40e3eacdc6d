"""A snapshot scoped by an id prefix tombstones within that prefix and nowhere else."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from conftest import Database
from connectors.base import Cursor, Page, RawItem, Snapshot, Stream
from model import RawRecord
from pipelines.landing import land_stream, prefix_end


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
