"""Exchange / Microsoft 365 mail and calendars through `exchangelib` (EWS, no autodiscover)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.exchange.settings import ExchangeSourceConfig
from connectors.lazy import lazy_exports

if TYPE_CHECKING:
    from connectors.exchange.source import CalendarStream, ExchangeSource, MessagesStream

# The client library loads when a source is built, not when the config is read.
__getattr__ = lazy_exports(__name__, source=("CalendarStream", "ExchangeSource", "MessagesStream"))

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
    from connectors.exchange.source import ExchangeSource

    return ExchangeSource(cfg)
