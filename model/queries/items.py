"""Item lists and item details for a viewer: the 360 views of people and teams, and search.

One query serves every list: a scope (whose work), filters, a stable sort and a keyset
cursor. Privacy is applied here (see `access`): emails only to their parties, private
entries of others as busy time.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from model import (
    Identity,
    Involvement,
    ItemKind,
    Link,
    Person,
    RawRecord,
    Role,
    Source,
    StatusCategory,
    WorkItem,
)
from model.base import UTCDateTime
from model.bulk import one_of
from model.queries.access import Viewer

__all__ = [
    "GROUPS",
    "SORTS",
    "CursorError",
    "ItemDetail",
    "ItemFilter",
    "ItemGraph",
    "ItemPage",
    "VisibleItem",
    "item_detail",
    "item_graph",
    "search_items",
]

#: How the 360 view groups kinds of work.
GROUPS: dict[ItemKind, str] = {
    ItemKind.issue: "issues",
    ItemKind.task: "pages_and_tasks",
    ItemKind.page: "pages_and_tasks",
    ItemKind.pull_request: "pull_requests_and_reviews",
    ItemKind.email: "requests_by_email",
    ItemKind.meeting: "meetings",
    ItemKind.time_off: "time_off",
    ItemKind.duty: "duties",
    ItemKind.goal: "goals",
}
_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
_LATEST = datetime(9999, 12, 30, tzinfo=UTC)
_SORT_KEYS: dict[str, Any] = {
    "id": WorkItem.id,
    "updated": func.coalesce(WorkItem.updated_at, literal(_EARLIEST, UTCDateTime())),
    "due": func.coalesce(WorkItem.due_at, literal(_LATEST, UTCDateTime())),
    "start": func.coalesce(WorkItem.start_at, literal(_LATEST, UTCDateTime())),
}
#: What a list shows of an item. Lists select these columns rather than WorkItem
#: entities: building 51 ORM objects (and decoding their `extra`) was a tenth of
#: serving a 360 view.
_LISTED = (WorkItem.id, WorkItem.kind, WorkItem.title, WorkItem.status_raw,
           WorkItem.status_category, WorkItem.url, WorkItem.container, WorkItem.priority,
           WorkItem.start_at, WorkItem.end_at, WorkItem.all_day, WorkItem.due_at,
           WorkItem.updated_at, WorkItem.private)
#: Accepted sort orders; a leading "-" sorts descending. Ties break on the item id.
SORTS = tuple(sorted([*_SORT_KEYS, *(f"-{k}" for k in _SORT_KEYS)]))


class CursorError(ValueError):
    """A pagination cursor this API did not hand out, or one for another sort."""


@dataclass(frozen=True)
class ItemFilter:
    """What to narrow a list to; empty means no narrowing."""

    kinds: Sequence[ItemKind] = ()
    statuses: Sequence[StatusCategory] = ()
    sources: Sequence[str] = ()
    roles: Sequence[Role] = ()
    due_from: datetime | None = None
    due_to: datetime | None = None
    updated_since: datetime | None = None
    text: str | None = None


@dataclass(frozen=True)
class VisibleItem:
    """An item as this viewer may see it (`redacted`: shown only as busy time)."""

    id: int
    kind: ItemKind
    group: str
    title: str
    status: str | None
    status_category: StatusCategory
    url: str | None
    source: str
    container: str | None
    priority: int | None
    start: datetime | None
    end: datetime | None
    all_day: bool
    due: datetime | None
    updated: datetime | None
    private: bool
    redacted: bool
    roles: list[str]


@dataclass(frozen=True)
class ItemPage:
    """A page of items, the next cursor, and counts per group over the whole list."""

    items: list[VisibleItem]
    next_cursor: str | None
    groups: dict[str, int]


def _encode(sort: str, value: Any, item_id: int) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(UTC).isoformat()
    raw = json.dumps({"s": sort, "v": value, "id": item_id}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        value, item_id = data["v"], data["id"]
        if data["s"] != sort or not isinstance(item_id, int):
            raise ValueError("cursor of another sort")
        if sort.lstrip("-") != "id":
            value = datetime.fromisoformat(value)
        elif not isinstance(value, int):
            raise TypeError(value)
        return value, item_id
    except (ValueError, KeyError, TypeError) as exc:
        raise CursorError(f"not a cursor this API handed out for sort={sort}: {cursor!r}"
                          ) from exc


def _filtered(viewer: Viewer, people: Sequence[int] | None, filt: ItemFilter
              ) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [WorkItem.deleted_at.is_(None), viewer.may_see_item()]
    if people is not None or filt.roles:
        # IN (subquery) rather than a correlated EXISTS: the database starts from the
        # people's involvements (indexed) instead of scanning every item.
        involvement: list[ColumnElement[bool]] = []
        if people is not None:
            involvement.append(Involvement.person_id.in_(list(people)))
        if filt.roles:
            involvement.append(Involvement.role.in_(list(filt.roles)))
        where.append(WorkItem.id.in_(select(Involvement.item_id).where(*involvement)))
    if filt.kinds:
        where.append(WorkItem.kind.in_(list(filt.kinds)))
    if filt.statuses:
        where.append(WorkItem.status_category.in_(list(filt.statuses)))
    if filt.sources:
        where.append(WorkItem.source_id.in_(select(Source.id).where(Source.slug.in_(
            list(filt.sources)))))
    if filt.due_from:
        where.append(WorkItem.due_at >= filt.due_from)
    if filt.due_to:
        where.append(WorkItem.due_at < filt.due_to)
    if filt.updated_since:
        where.append(WorkItem.updated_at >= filt.updated_since)
    if filt.text:
        # Text never matches what the viewer may not read.
        pattern = "%" + filt.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") \
            + "%"
        where.append(and_(viewer.may_read_details(),
                          WorkItem.title.ilike(pattern, escape="\\")))
    return where


def search_items(session: Session, viewer: Viewer, *, people: Sequence[int] | None = None,
                 filt: ItemFilter = ItemFilter(), sort: str = "-updated",
                 cursor: str | None = None, limit: int = 50) -> ItemPage:
    """Items in scope (involving `people`, or all) that the viewer may see, one page."""
    if sort not in SORTS:
        raise CursorError(f"unknown sort {sort!r}")
    descending = sort.startswith("-")
    key = _SORT_KEYS[sort.lstrip("-")]
    where = _filtered(viewer, people, filt)
    query = (
        select(*_LISTED, Source.slug.label("source"), key.label("sort_key"),
               viewer.may_read_details().label("readable"))
        .join(Source, Source.id == WorkItem.source_id).where(*where))
    if cursor:
        value, after = _decode(cursor, sort)
        bound = literal(value, UTCDateTime()) if isinstance(value, datetime) else value
        query = query.where(or_(key < bound, and_(key == bound, WorkItem.id < after))
                            if descending else
                            or_(key > bound, and_(key == bound, WorkItem.id > after)))
    order = [key.desc(), WorkItem.id.desc()] if descending else [key.asc(), WorkItem.id.asc()]
    found = session.execute(query.order_by(*order).limit(limit + 1)).all()
    page, more = found[:limit], len(found) > limit
    roles = _roles(session, [row.id for row in page],
                   people if people is not None else [viewer.person_id])
    items = [_visible(row, row.source, bool(row.readable), roles.get(row.id, []))
             for row in page]
    groups: dict[str, int] = {}
    for kind, count in session.execute(select(WorkItem.kind, func.count())
                                       .where(*where).group_by(WorkItem.kind)):
        groups[GROUPS[kind]] = groups.get(GROUPS[kind], 0) + count
    next_cursor = _encode(sort, page[-1].sort_key, page[-1].id) if more else None
    return ItemPage(items, next_cursor, groups)


def _roles(session: Session, item_ids: list[int], people: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, set[str]] = {}
    if item_ids:
        for item_id, role in session.execute(
                select(Involvement.item_id, Involvement.role)
                # As arrays on PostgreSQL: one statement text, prepared once, whatever
                # the page's and the team's sizes.
                .where(one_of(session, Involvement.item_id, item_ids),
                       one_of(session, Involvement.person_id, list(people)))):
            out.setdefault(item_id, set()).add(str(role))
    return {k: sorted(v) for k, v in out.items()}


def _visible(item: Any, source: str, readable: bool, roles: list[str]) -> VisibleItem:
    """An item as the viewer may see it (`item`: a WorkItem or a row of `_LISTED`)."""
    return VisibleItem(
        id=item.id, kind=item.kind, group=GROUPS[item.kind],
        title=item.title if readable else "Busy",
        status=item.status_raw if readable else None,
        status_category=item.status_category,
        url=item.url if readable else None, source=source,
        container=item.container if readable else None,
        priority=item.priority, start=item.start_at, end=item.end_at, all_day=item.all_day,
        due=item.due_at, updated=item.updated_at if readable else None,
        private=item.private, redacted=not readable, roles=roles)


@dataclass(frozen=True)
class ItemDetail:
    """One item with its people, provenance and (for admins) raw payloads."""

    item: VisibleItem
    people: list[dict[str, Any]] = field(default_factory=list)
    provenance: list[dict[str, Any]] = field(default_factory=list)
    raw: list[dict[str, Any]] | None = None
    links: list[dict[str, Any]] = field(default_factory=list)


def item_detail(session: Session, viewer: Viewer, item_id: int) -> ItemDetail | None:
    """The item as the viewer may see it; None if it does not exist for them."""
    row = session.execute(
        select(WorkItem, Source.slug, viewer.may_read_details())
        .join(Source, Source.id == WorkItem.source_id)
        .where(WorkItem.id == item_id, viewer.may_see_item())).first()
    if row is None:
        return None
    item, slug, readable = row
    roles = _roles(session, [item.id], [viewer.person_id]).get(item.id, [])
    visible = _visible(item, slug, bool(readable), roles)
    if not readable:
        return ItemDetail(visible)
    people = [
        {"person": person, "identity": f"{ident.namespace}:{ident.value}",
         "display_name": ident.display_name, "role": str(inv.role),
         "response": str(inv.response) if inv.response else None}
        for inv, ident, person in session.execute(
            select(Involvement, Identity, Person.slug)
            .join(Identity, Identity.id == Involvement.identity_id)
            .outerjoin(Person, Person.id == Involvement.person_id)
            .where(Involvement.item_id == item.id)
            .order_by(Involvement.role, Identity.value))
    ]
    records = session.execute(
        select(RawRecord, Source.slug).join(Source, Source.id == RawRecord.source_id)
        .where(RawRecord.item_key == item.key).order_by(RawRecord.id)).all()
    provenance = [{"source": s, "stream": r.stream, "external_id": r.external_id,
                   "fetched_at": r.fetched_at, "deleted_at": r.deleted_at}
                  for r, s in records]
    raw = [{"source": s, "external_id": r.external_id, "payload": r.payload}
           for r, s in records] if viewer.is_admin else None
    return ItemDetail(visible, people, provenance, raw, _links(session, viewer, item.id))


def _links(session: Session, viewer: Viewer, item_id: int) -> list[dict[str, Any]]:
    """Links from and to the item, with the other end as the viewer may see it."""
    other = aliased(WorkItem)
    out: list[dict[str, Any]] = []
    for direction, mine, theirs in (("out", Link.from_item_id, Link.to_item_id),
                                    ("in", Link.to_item_id, Link.from_item_id)):
        rows = session.execute(
            select(Link, other.id, other.title, other.kind, viewer.may_see_item(other),
                   viewer.may_read_details(other))
            .outerjoin(other, and_(other.id == theirs, other.deleted_at.is_(None)))
            .where(mine == item_id).order_by(Link.type, Link.to_ref)).all()
        for link, other_id, title, kind, visible, readable in rows:
            if other_id is not None and not visible:
                continue
            out.append({"direction": direction, "type": link.type, "ref": link.to_ref,
                        "item": other_id, "kind": str(kind) if kind else None,
                        "title": (title if readable else "Busy") if other_id else None,
                        "evidence": link.evidence})
    return out


@dataclass(frozen=True)
class ItemGraph:
    """An item's neighbourhood: items within `depth` links, and the links between them."""

    nodes: list[VisibleItem]
    edges: list[dict[str, Any]]


def item_graph(session: Session, viewer: Viewer, item_id: int, depth: int
               ) -> ItemGraph | None:
    """Breadth-first over resolved links in both directions, as the viewer may see it."""
    if item_detail(session, viewer, item_id) is None:
        return None
    seen, frontier = {item_id}, {item_id}
    edges: dict[tuple[int, int, str], dict[str, Any]] = {}
    for _ in range(depth):
        if not frontier:
            break
        hops = session.execute(
            select(Link.from_item_id, Link.to_item_id, Link.type)
            .where(Link.to_item_id.is_not(None),
                   or_(Link.from_item_id.in_(frontier), Link.to_item_id.in_(frontier)))).all()
        reachable = {n for hop in hops for n in (hop[0], hop[1])}
        visible = set(session.scalars(select(WorkItem.id).where(
            WorkItem.id.in_(reachable), WorkItem.deleted_at.is_(None),
            viewer.may_see_item())))
        nxt = set()
        for source, target, kind in hops:
            if source in visible and target in visible and target is not None:
                edges[(source, target, kind)] = {"from": source, "to": target, "type": kind}
                nxt |= {source, target} - seen
        seen |= nxt
        frontier = nxt
    rows = session.execute(
        select(WorkItem, Source.slug, viewer.may_read_details())
        .join(Source, Source.id == WorkItem.source_id)
        .where(WorkItem.id.in_(seen)).order_by(WorkItem.id)).all()
    nodes = [_visible(item, slug, bool(readable), []) for item, slug, readable in rows]
    return ItemGraph(nodes, list(edges.values()))
