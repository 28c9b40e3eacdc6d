"""Config of an Exchange (EWS) source: mail and calendars of one or many mailboxes."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, SecretStr

from workhub.source_config import SourceBase, Window

__all__ = ["ExchangeSourceConfig"]


class ExchangeSourceConfig(SourceBase):
    """Mailboxes reached through one EWS endpoint (no autodiscover)."""

    kind: Literal["exchange"]
    #: e.g. https://outlook.office365.com/EWS/Exchange.asmx
    endpoint: str
    username: str
    password: SecretStr | None = None
    auth_type: Literal["basic", "ntlm"] = "basic"
    #: the mailboxes to read; empty: the account's own
    mailboxes: list[str] = Field(default_factory=list)
    #: "impersonation" for a service account reading many mailboxes
    access: Literal["delegate", "impersonation"] = "delegate"
    window: Window = Field(default_factory=Window)
    #: the day the calendar window is read around; empty: today (UTC). Pin it for a
    #: reproducible backfill of a fixed span.
    window_anchor: date | None = None
    store_bodies: bool = False
    #: direct, unanswered mail from these domains becomes a request (a work item)
    internal_domains: list[str] = Field(default_factory=list)
    direct_requests: bool = True
    #: changes per SyncFolderItems page (EWS allows 1..512)
    page_size: int = Field(default=100, ge=1, le=512)
    #: back-off in seconds after ErrorServerBusy without BackOffMilliseconds (doubles
    #: on every retry of the same request)
    retry_wait_seconds: float = Field(default=10.0, gt=0, le=600)
    #: the longest back-off the server may ask for before the sync gives up
    max_wait_seconds: float = Field(default=600.0, gt=0, le=7200)
    #: the mass-deletion guard for full listings (first sync, re-sync, calendar view)
    max_delete_share: float = Field(default=0.5, gt=0, le=1)
