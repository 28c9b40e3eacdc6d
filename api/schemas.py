"""Response bodies of the read API (Pydantic lives here, at the boundary, only)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CapacityOut",
    "ForecastOut",
    "Freshness",
    "HealthOut",
    "IdentitiesOut",
    "IdentityOut",
    "ItemDetailOut",
    "ItemGraphOut",
    "ItemListOut",
    "ItemOut",
    "MeOut",
    "MemberCapacityOut",
    "OverAllocationOut",
    "PeopleOut",
    "PersonOut",
    "SourcesOut",
    "StreamOut",
    "TeamAtRiskOut",
    "TeamOut",
    "TeamWeekOut",
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
    """How fresh one source's data is, and how much of it waits in quarantine."""

    source: str
    stream: str
    last_success: datetime | None
    lag_seconds: float | None
    quarantined: int = Field(default=0, description="Records that could not be read.")


class ItemOut(BaseModel):
    """One work item as the viewer may see it; `redacted` items are busy time only."""

    # Read straight from the query layer's VisibleItem (dataclasses.asdict deep-copied
    # every field of every row: a sixth of a 360 view's time).
    model_config = ConfigDict(from_attributes=True)

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


class LinkOut(BaseModel):
    """A link from (`out`) or to (`in`) the item."""

    direction: str = Field(description="out: this item links to the other; in: the other "
                                       "links to this one.")
    type: str = Field(description="parent, blocks, relates, duplicates, implements, "
                                  "references.")
    ref: str = Field(description="The reference the link names (e.g. PLAT-12).")
    item: int | None = Field(description="The other item, once synced.")
    kind: str | None
    title: str | None
    evidence: str | None


class ItemDetailOut(BaseModel):
    """One item with its people, links and where it came from; raw payloads for admins."""

    item: ItemOut
    people: list[InvolvementOut]
    links: list[LinkOut]
    provenance: list[ProvenanceOut]
    raw: list[dict[str, Any]] | None
    as_of: list[Freshness]


class EdgeOut(BaseModel):
    """A resolved link between two items of the neighbourhood."""

    model_config = {"populate_by_name": True}

    source: int = Field(alias="from")
    target: int = Field(alias="to")
    type: str


class ItemGraphOut(BaseModel):
    """An item's neighbourhood."""

    root: int
    depth: int
    nodes: list[ItemOut]
    edges: list[EdgeOut]
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
    at_risk: list[AtRiskOut]
    email_received: int = Field(description="Messages received that week (email load).")
    email_sent: int = Field(description="Messages sent that week.")


class AtRiskOut(BaseModel):
    """An item projected to finish after its due date."""

    id: int
    title: str
    kind: str
    url: str
    due: datetime | None
    projected_finish: datetime | None = Field(description="None: not within a year.")
    hours: float


class ForecastItemOut(BaseModel):
    """An open item of the person's, with its effort and projection."""

    id: int
    kind: str
    title: str
    url: str
    source: str
    due: datetime | None
    priority: int | None
    effort_hours: float
    share: float
    hours: float = Field(description="This person's part: effort x share.")
    estimate_source: str = Field(description="remaining, original, points or default.")
    unestimated: bool
    projected_start: datetime | None
    projected_finish: datetime | None = Field(description="None: not within a year.")
    at_risk: bool


class ForecastOut(BaseModel):
    """Every open item of a person's in scheduling order."""

    person: str
    timezone: str
    items: list[ForecastItemOut]
    as_of: list[Freshness]


class TeamWeekOut(BaseModel):
    """A team's week: members' hours weighted by membership share."""

    week: str
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


class MemberCapacityOut(BaseModel):
    """One member's weeks."""

    person: str
    name: str
    share: float
    weeks: list[WeekOut]


class OverAllocationOut(BaseModel):
    """A member whose committed work exceeds their available time in a week."""

    person: str
    week: str
    utilization: float | None
    committed_hours: float
    available_hours: float


class TeamAtRiskOut(AtRiskOut):
    """An at-risk item and whose it is."""

    person: str


class CapacityOut(BaseModel):
    """A team's capacity report."""

    team: str
    name: str
    members: list[MemberCapacityOut]
    totals: list[TeamWeekOut]
    at_risk: list[TeamAtRiskOut]
    over_allocated: list[OverAllocationOut]
    hidden_members: int = Field(description="Members whose load the caller may not see.")
    as_of: list[Freshness]


class WorkloadOut(BaseModel):
    """A person's weeks."""

    person: str
    timezone: str
    weeks: list[WeekOut]
    as_of: list[Freshness]


class IdentityOut(BaseModel):
    """What one tool calls a person, and how (or whether) it resolved."""

    id: int
    namespace: str
    value: str
    display_name: str | None
    status: str = Field(description="resolved, unresolved or suggested.")
    person: str | None
    suggested_person: str | None = Field(description="A unique display-name match, "
                                                     "never applied until confirmed.")
    resolution: str | None = Field(description="alias, email, evidence or manual.")
    evidence: str | None
    involvements: int


class IdentitiesOut(BaseModel):
    """Identities."""

    identities: list[IdentityOut]


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
