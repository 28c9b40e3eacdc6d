"""Liveness: the one route that needs no token."""

from __future__ import annotations

from fastapi import APIRouter

from api.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> HealthOut:
    """The server is up."""
    return HealthOut()
