"""Config of a Jira source (Cloud or Server/Data Center)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

from workhub.source_config import SourceBase

__all__ = ["STATUS_CATEGORIES", "JiraSourceConfig"]

#: What a status may be mapped to (the work graph's status categories).
STATUS_CATEGORIES = ("todo", "in_progress", "blocked", "done", "cancelled")


class JiraSourceConfig(SourceBase):
    """A Jira site: the issues of some projects, or of a JQL filter."""

    kind: Literal["jira"]
    url: str
    #: the account's email (Cloud) or user name (Server); with `token` as its password
    username: str | None = None
    token: SecretStr | None = None
    #: "basic" sends username:token; "bearer" sends the token alone (Server PATs)
    auth: Literal["basic", "bearer"] = "basic"
    projects: list[str] = Field(default_factory=list)
    jql: str | None = None
    #: the story points field's id; found by name through /field when not given
    story_points_field: str | None = None
    hours_per_point: float | None = Field(default=None, gt=0)
    #: status name -> todo | in_progress | blocked | done | cancelled (else statusCategory)
    status_map: dict[str, str] = Field(default_factory=lambda: {"Blocked": "blocked"})
    #: resolutions that mean the work was dropped rather than done
    cancelled_resolutions: list[str] = Field(default_factory=lambda: [
        "Won't Do", "Won't Fix", "Duplicate", "Cannot Reproduce", "Declined"])
    #: priority name -> 0 (highest) .. 4
    priority_map: dict[str, int] = Field(default_factory=lambda: {
        "Highest": 0, "High": 1, "Medium": 2, "Low": 3, "Lowest": 4})
    lookback_minutes: int = Field(default=10, ge=0)
    page_size: int = Field(default=100, ge=1, le=1000)
    worklogs: bool = False
    #: ask Cloud's bulk "Get user email" API for the addresses the search hides (needs
    #: an app granted the email permission; without it the lookup yields nothing)
    lookup_hidden_emails: bool = True
    #: how often the id-only sweep for deleted issues runs
    sweep_hours: float = Field(default=24, gt=0)
    #: the mass-deletion guard: a sweep that would delete more than this share stops
    max_delete_share: float = Field(default=0.2, gt=0, le=1)
    #: requests per hour this credential may spend (shared by every source using it)
    requests_per_hour: int | None = Field(default=None, gt=0)
    #: the longest wait before a retry; a server asking for longer is cut to this
    retry_max_wait_seconds: float = Field(default=300, ge=0)

    @field_validator("status_map")
    @classmethod
    def _categories(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(v for v in value.values() if v not in STATUS_CATEGORIES)
        if bad:
            raise ValueError(f"{bad[0]!r} is not one of {', '.join(STATUS_CATEGORIES)}")
        return value

    @field_validator("priority_map")
    @classmethod
    def _priorities(cls, value: dict[str, int]) -> dict[str, int]:
        if any(not 0 <= v <= 4 for v in value.values()):
            raise ValueError("priorities run from 0 (highest) to 4")
        return value
