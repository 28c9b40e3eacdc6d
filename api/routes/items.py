"""Items: search across the graph, and one item with its people and provenance."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import Clock, CurrentViewer, DbSession
from api.problems import V1_RESPONSES, Problem
from api.routes.listing import Params, freshness, list_items
from api.schemas import ItemDetailOut, ItemListOut, ItemOut
from model.queries.items import item_detail

router = APIRouter(prefix="/v1/items", tags=["items"], responses=V1_RESPONSES)


@router.get("")
def search(session: DbSession, viewer: CurrentViewer, now: Clock, params: Params
           ) -> ItemListOut:
    """Every item the viewer may see, filtered (`q` searches titles)."""
    return list_items(session, viewer, now, params, None)


@router.get("/{item_id}")
def get_item(
    item_id: Annotated[int, Path(ge=1, le=2**63 - 1)],  # a database integer, at most
    session: DbSession,
    viewer: CurrentViewer,
    now: Clock,
) -> ItemDetailOut:
    """One item: its people, the raw records it was built from, raw payloads for admins."""
    detail = item_detail(session, viewer, item_id)
    if detail is None:
        raise Problem(404, "No such item", f"no item {item_id} that you may see")
    return ItemDetailOut(item=ItemOut(**asdict(detail.item)),
                         people=detail.people,
                         provenance=detail.provenance,
                         raw=detail.raw, as_of=freshness(session, now))
