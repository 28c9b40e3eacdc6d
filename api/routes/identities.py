"""Identities: what each tool calls people, and the ones that need a human (admins)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import CurrentViewer, DbSession
from api.problems import V1_RESPONSES, Problem, ProblemOut
from api.schemas import IdentitiesOut, IdentityOut
from model.queries.identities import list_identities

router = APIRouter(prefix="/v1/identities", tags=["identities"], responses=V1_RESPONSES)


@router.get("", responses={403: {"model": ProblemOut, "description": "Admins only."}})
def identities(
    session: DbSession,
    viewer: CurrentViewer,
    status: Annotated[Literal["resolved", "unresolved", "suggested"] | None,
                      Query(description="Only identities of this status.")] = None,
) -> IdentitiesOut:
    """Identities with their resolution: `unresolved` and `suggested` need a human
    (`workhub identities link IDENTITY PERSON`)."""
    if not viewer.is_admin:
        raise Problem(403, "Not allowed", "identities are listed for admins")
    return IdentitiesOut(identities=[IdentityOut(**asdict(row))
                                     for row in list_identities(session, status)])
