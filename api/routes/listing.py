"""Query parameters shared by every item list, and the call that answers them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Query
from sqlalchemy.orm import Session

from api.deps import Clock
from api.freshness import freshness
from api.problems import Problem
from api.schemas import ItemListOut, ItemOut
from model import ItemKind, Role, StatusCategory
from model.queries.access import Viewer
from model.queries.items import CursorError, ItemFilter, search_items

__all__ = ["ListParams", "list_items"]

SortOrder = Literal["id", "-id", "updated", "-updated", "due", "-due", "start", "-start"]


@dataclass(frozen=True)
class ListParams:
    """Filters, sort and paging of an item list."""

    filter: ItemFilter
    sort: SortOrder
    cursor: str | None
    limit: int


# `async def` although it awaits nothing: FastAPI runs a plain `def` dependency (a class
# too) in its thread pool, a hop per request that costs more than parsing the parameters.
async def _list_params(
    kind: Annotated[list[ItemKind] | None, Query(description="Only these kinds.")] = None,
    status: Annotated[list[StatusCategory] | None,
                      Query(description="Only these status categories.")] = None,
    source: Annotated[list[str] | None, Query(description="Only from these sources.")
                      ] = None,
    role: Annotated[list[Role] | None, Query(description="Only where the people in "
                                                         "scope have these roles.")] = None,
    due_from: Annotated[datetime | None, Query(description="Due at or after.")] = None,
    due_to: Annotated[datetime | None, Query(description="Due before.")] = None,
    updated_since: Annotated[datetime | None, Query(description="Changed since.")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200,
                                   description="Text in the title.")] = None,
    sort: Annotated[SortOrder, Query(description="`-` for descending; ties by id.")
                    ] = "-updated",
    cursor: Annotated[str | None, Query(description="From a previous `next_cursor`.")
                      ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ListParams:
    """The list parameters of a request, validated."""
    for name, moment in (("due_from", due_from), ("due_to", due_to),
                         ("updated_since", updated_since)):
        if moment is not None and moment.tzinfo is None:
            raise Problem(422, "Invalid request parameters",
                          f"{name} needs a time zone offset, e.g. 2026-12-01T00:00:00Z",
                          errors=[{"parameter": name, "in": "query",
                                   "problem": "time zone offset required"}])
    filt = ItemFilter(kinds=kind or (), statuses=status or (), sources=source or (),
                      roles=role or (), due_from=due_from, due_to=due_to,
                      updated_since=updated_since, text=q)
    return ListParams(filt, sort, cursor, limit)


Params = Annotated[ListParams, Depends(_list_params)]


def list_items(session: Session, viewer: Viewer, now: Clock, params: ListParams,
               people: Sequence[int] | None) -> ItemListOut:
    """One page of items for the viewer, in scope of `people` (None: everything)."""
    stated = freshness(session, now)
    try:
        page = search_items(session, viewer, people=people, filt=params.filter,
                            sort=params.sort, cursor=params.cursor, limit=params.limit)
    except CursorError as exc:
        raise Problem(400, "Invalid cursor", str(exc), parameter="cursor") from exc
    return ItemListOut(items=[ItemOut.model_validate(item) for item in page.items],
                       next_cursor=page.next_cursor, groups=page.groups,
                       as_of=stated)
