"""Config of an Exchange (EWS) source: mail and calendars of one or many mailboxes."""

from __future__ import annotations

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
    store_bodies: bool = False
    #: direct, unanswered mail from these domains becomes a request (a work item)
    internal_domains: list[str] = Field(default_factory=list)
    direct_requests: bool = True
