"""Config of a CalDAV source."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from workhub.source_config import SourceBase, Window

__all__ = ["CalDAVSourceConfig"]


class CalDAVSourceConfig(SourceBase):
    """A CalDAV account: every calendar it can read."""

    kind: Literal["caldav"]
    url: str
    username: str | None = None
    password: SecretStr | None = None
    window: Window = Field(default_factory=Window)
    page_size: int = Field(default=100, ge=1, le=1000)
