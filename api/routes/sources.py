"""Sources: how fresh each stream is, with its counts and last error."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Clock, CurrentViewer, DbSession
from api.problems import V1_RESPONSES
from api.schemas import SourcesOut, StreamOut
from model.queries.sources import source_freshness

router = APIRouter(prefix="/v1/sources", tags=["sources"], responses=V1_RESPONSES)


@router.get("")
def list_sources(session: DbSession, viewer: CurrentViewer, now: Clock) -> SourcesOut:
    """Every stream of every source: last successful sync, lag, cursor, counts, last error."""
    return SourcesOut(sources=[StreamOut(**vars(f)) for f in source_freshness(session, now)])
