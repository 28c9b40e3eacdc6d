"""Config of a Confluence Cloud source."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from workhub.source_config import SourceBase

__all__ = ["ConfluenceSourceConfig"]


class ConfluenceSourceConfig(SourceBase):
    """Pages and inline tasks of some spaces of a Confluence Cloud site."""

    kind: Literal["confluence"]
    #: the site, e.g. https://acme.atlassian.net (the API is under /wiki/api/v2)
    url: str
    username: str | None = None
    token: SecretStr | None = None
    spaces: list[str] = Field(default_factory=list)
    page_size: int = Field(default=100, ge=1, le=250)
    #: tasks per listing request: the most Confluence allows by default, since every
    #: sync lists every task and a task is small (a re-sync's cost is its requests)
    task_page_size: int = Field(default=250, ge=1, le=250)
    lookback_minutes: int = Field(default=10, ge=0)
    #: a listing that would tombstone more than this share of a stream at once is refused
    #: (the mass-deletion guard); null turns the guard off
    max_delete_share: float | None = Field(default=0.5, gt=0, le=1)
