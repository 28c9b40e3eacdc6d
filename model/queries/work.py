"""The 360-degree view: every live item a person is involved in, filtered and paged."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from model import Involvement, ItemKind, Person, Role, Source, StatusCategory, WorkItem

__all__ = ["CursorError", "WorkPage", "WorkRow", "decode_cursor", "encode_cursor", "person_work"]


class CursorError(ValueError):
    """A pagination cursor that this API did not hand out."""


def encode_cursor(last_id: int) -> str:
    """An opaque cursor for the page after the item with this id."""
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The item id a cursor points after; CursorError if it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after = data["after"]
        if not isinstance(after, int):
            raise TypeError(after)
        return after
    except (ValueError, KeyError, TypeError) as exc:
        raise CursorError(f"not a cursor this API handed out: {cursor!r}") from exc


@dataclass(frozen=True)
class WorkRow:
    """One item of the view with the person's roles on it."""

    item: WorkItem
    source: str
    roles: list[Role]


@dataclass(frozen=True)
class WorkPage:
    """A page of the view and the cursor of the next one."""

    rows: list[WorkRow]
    next_cursor: str | None


def person_work(
    session: Session,
    person: Person,
    *,
    kinds: Sequence[ItemKind] = (),
    statuses: Sequence[StatusCategory] = (),
    after: int | None = None,
    limit: int = 50,
) -> WorkPage:
    """Items the person is involved in, in a stable order (by id), `limit` at a time."""
    involved = (
        select(Involvement.item_id)
        .where(Involvement.person_id == person.id)
        .distinct()
        .scalar_subquery()
    )
    query = (
        select(WorkItem, Source.slug)
        .join(Source, Source.id == WorkItem.source_id)
        .where(WorkItem.id.in_(involved), WorkItem.deleted_at.is_(None))
        .order_by(WorkItem.id)
        .limit(limit + 1)
    )
    if kinds:
        query = query.where(WorkItem.kind.in_(list(kinds)))
    if statuses:
        query = query.where(WorkItem.status_category.in_(list(statuses)))
    if after is not None:
        query = query.where(WorkItem.id > after)
    found = session.execute(query).all()
    page, more = found[:limit], len(found) > limit
    roles: dict[int, list[Role]] = {}
    if page:
        for item_id, role in session.execute(
            select(Involvement.item_id, Involvement.role)
            .where(
                Involvement.person_id == person.id,
                Involvement.item_id.in_([item.id for item, _ in page]),
            )
            .order_by(Involvement.role)
        ):
            roles.setdefault(item_id, []).append(role)
    rows = [WorkRow(item, slug, roles.get(item.id, [])) for item, slug in page]
    return WorkPage(rows, encode_cursor(page[-1][0].id) if more else None)
