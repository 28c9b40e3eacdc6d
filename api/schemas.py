"""Response bodies of the read API (Pydantic lives here, at the boundary, only)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "Freshness",
    "HealthOut",
    "ItemDetailOut",
    "ItemListOut",
    "ItemOut",
    "MeOut",
    "PeopleOut",
    "PersonOut",
    "SourcesOut",
    "StreamOut",
    "TeamOut",
    "TeamsOut",
    "WeekOut",
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


class MemberOut(BaseModel):
    """A person's place in a team."""

    person: str
    share: float


class TeamOut(BaseModel):
    """A team with its manager and members."""

    id: str
    name: str
    manager: str | None
    members: list[MemberOut]


class TeamsOut(BaseModel):
    """Every team."""

    teams: list[TeamOut]


class MeOut(BaseModel):
    """The caller: their person, role, and who reports to them."""

    person: PersonOut
    role: str
    reports: list[str]


class Freshness(BaseModel):
    """How fresh one source's data is."""

    source: str
    stream: str
    last_success: datetime | None
    lag_seconds: float | None


class ItemOut(BaseModel):
    """One work item as the viewer may see it; `redacted` items are busy time only."""

    id: int
    kind: str
    group: str = Field(description="The 360 view's group of this kind of work.")
    title: str
    status: str | None = Field(description="The status as the source names it.")
    status_category: str
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
    roles: list[str] = Field(description="Roles of the people in scope on this item.")


class ItemListOut(BaseModel):
    """A page of items, with counts per group over the whole filtered list."""

    items: list[ItemOut]
    next_cursor: str | None
    groups: dict[str, int]
    as_of: list[Freshness]


class InvolvementOut(BaseModel):
    """Someone's part in an item."""

    person: str | None = Field(description="None while the identity is unresolved.")
    identity: str
    display_name: str | None
    role: str
    response: str | None


class ProvenanceOut(BaseModel):
    """A raw record the item was built from."""

    source: str
    stream: str
    external_id: str
    fetched_at: datetime
    deleted_at: datetime | None


class ItemDetailOut(BaseModel):
    """One item with its people and where it came from; raw payloads for admins."""

    item: ItemOut
    people: list[InvolvementOut]
    provenance: list[ProvenanceOut]
    raw: list[dict[str, Any]] | None
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
