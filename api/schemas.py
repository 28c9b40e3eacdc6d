"""Response bodies of the read API (Pydantic lives here, at the boundary, only)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "Freshness",
    "HealthOut",
    "ItemOut",
    "PeopleOut",
    "PersonOut",
    "SourcesOut",
    "StreamOut",
    "WeekOut",
    "WorkOut",
    "WorkloadOut",
]


class HealthOut(BaseModel):
    """Liveness."""

    status: str = "ok"


class PersonOut(BaseModel):
    """A person of the organisation."""

    id: str
    name: str
    email: str | None
    timezone: str
    manager: str | None


class PeopleOut(BaseModel):
    """Every person."""

    people: list[PersonOut]


class Freshness(BaseModel):
    """How fresh one source's data is."""

    source: str
    stream: str
    last_success: datetime | None
    lag_seconds: float | None


class ItemOut(BaseModel):
    """One work item as the 360 view shows it."""

    id: int
    kind: str
    title: str
    status: str | None = Field(description="The status as the source names it.")
    status_category: str
    url: str
    source: str
    container: str | None
    priority: int | None
    start: datetime | None
    end: datetime | None
    all_day: bool
    due: datetime | None
    updated: datetime | None
    private: bool
    roles: list[str]


class WorkOut(BaseModel):
    """A page of a person's 360 view."""

    person: str
    items: list[ItemOut]
    next_cursor: str | None
    as_of: list[Freshness]


class WeekOut(BaseModel):
    """One ISO week of a person's load, in hours."""

    week: str = Field(examples=["2026-W49"])
    start: date
    working_hours: float
    time_off_hours: float
    meeting_hours: float
    duty_hours: float
    available_hours: float
    committed_hours: float
    utilization: float | None
    focus_hours: float
    unestimated_items: int
    at_risk: list[dict[str, Any]]


class WorkloadOut(BaseModel):
    """A person's weeks."""

    person: str
    timezone: str
    weeks: list[WeekOut]
    as_of: list[Freshness]


class StreamOut(BaseModel):
    """The state of one stream of one source."""

    source: str
    kind: str
    stream: str
    last_success: datetime | None
    lag_seconds: float | None
    last_status: str | None
    last_error: str | None
    cursor: dict[str, Any] | None
    records: int
    deleted: int
    quarantined: int


class SourcesOut(BaseModel):
    """Every stream of every source."""

    sources: list[StreamOut]
