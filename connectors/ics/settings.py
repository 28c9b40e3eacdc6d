"""Config of an iCalendar feed source."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from workhub.source_config import SourceBase, Window

__all__ = ["IcsSourceConfig"]


class IcsSourceConfig(SourceBase):
    """A published calendar (.ics URL): a person's, a team's, or a holiday calendar."""

    kind: Literal["ics"]
    url: str
    #: sent as `Authorization: Bearer ...` when the feed is private
    token: SecretStr | None = None
    #: the team whose members every event concerns (a shared team calendar)
    team: str | None = None
    #: every event of the feed is an absence (e.g. a holiday calendar)
    absences: bool = False
    window: Window = Field(default_factory=Window)
    #: a feed that would drop more than this share of its events at once is refused
    #: (the mass-deletion guard); null (the default) trusts the feed
    max_delete_share: float | None = Field(default=None, gt=0, le=1)
