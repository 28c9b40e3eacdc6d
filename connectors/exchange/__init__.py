"""Exchange / Microsoft 365 mail and calendars through `exchangelib` (EWS, no autodiscover)."""

from __future__ import annotations

from connectors.exchange.settings import ExchangeSourceConfig
from connectors.exchange.source import CalendarStream, ExchangeSource, MessagesStream

__all__ = [
    "STREAMS",
    "CalendarStream",
    "ExchangeSource",
    "ExchangeSourceConfig",
    "MessagesStream",
    "build_source",
]

#: The streams this kind of source offers, known without connecting.
STREAMS = ["messages", "calendar"]


def build_source(cfg: ExchangeSourceConfig) -> ExchangeSource:
    """The connector for a configured Exchange source."""
    return ExchangeSource(cfg)
