"""Items: search across the graph, and one item with its people and provenance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import Clock, CurrentViewer, DbSession
from api.freshness import freshness
from api.problems import V1_RESPONSES, Problem
from api.routes.listing import Params, list_items
from api.schemas import EdgeOut, ItemDetailOut, ItemGraphOut, ItemListOut, ItemOut
from model.queries.items import item_detail, item_graph

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
    stated = freshness(session, now)
    detail = item_detail(session, viewer, item_id)
    if detail is None:
        raise Problem(404, "No such item", f"no item {item_id} that you may see")
    return ItemDetailOut(links=detail.links,
                         item=ItemOut.model_validate(detail.item),
                         people=detail.people,
                         provenance=detail.provenance,
                         raw=detail.raw, as_of=stated)


@router.get("/{item_id}/graph")
def get_item_graph(
    item_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    session: DbSession,
    viewer: CurrentViewer,
    now: Clock,
    depth: Annotated[int, Query(ge=1, le=4, description="How many links away.")] = 1,
) -> ItemGraphOut:
    """The item's neighbourhood: items up to `depth` links away (both directions)."""
    stated = freshness(session, now)
    graph = item_graph(session, viewer, item_id, depth)
    if graph is None:
        raise Problem(404, "No such item", f"no item {item_id} that you may see")
    return ItemGraphOut(root=item_id, depth=depth,
                        nodes=[ItemOut.model_validate(n) for n in graph.nodes],
                        edges=[EdgeOut.model_validate(e) for e in graph.edges],
                        as_of=stated)
