"""Config of a GitHub source (github.com or GitHub Enterprise)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from workhub.source_config import SourceBase

__all__ = ["GitHubSourceConfig"]


class GitHubSourceConfig(SourceBase):
    """Issues, pull requests and milestones of some repositories or of a whole org."""

    kind: Literal["github"]
    #: https://api.github.com, or https://HOST/api/v3 for Enterprise
    base_url: str = "https://api.github.com"
    token: SecretStr | None = None
    org: str | None = None
    #: "owner/name" each; with `org` and no repos, every repository of the org
    repos: list[str] = Field(default_factory=list)
    blocked_labels: list[str] = Field(default_factory=lambda: ["blocked"])
    #: label -> priority 0 (highest) .. 4
    priority_labels: dict[str, int] = Field(default_factory=lambda: {
        "priority: critical": 0, "priority: high": 1, "priority: medium": 2,
        "priority: low": 3})
    lookback_minutes: int = Field(default=10, ge=0)
    per_page: int = Field(default=100, ge=1, le=100)
    #: repositories each stream reads at once; the three streams read at once too, so a
    #: sync has at most three times this many requests in flight (GitHub's secondary
    #: rate limit allows 100 concurrent requests)
    repos_at_once: int = Field(default=4, ge=1, le=16)
    #: how often the id sweep for deleted and transferred issues runs (0: every sync)
    sweep_hours: float = Field(default=6, ge=0)
    #: the mass-deletion guard: a sweep that would delete more than this share stops
    max_delete_share: float = Field(default=0.2, gt=0, le=1)
    #: Jira project keys a pull request may name ("PLAT"); empty: any KEY-123 counts
    jira_projects: list[str] = Field(default_factory=list)
