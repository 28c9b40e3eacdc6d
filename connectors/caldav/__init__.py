"""CalDAV calendars through the `caldav` library (any RFC 4791 server)."""

from __future__ import annotations

from connectors.caldav.settings import CalDAVSourceConfig
from connectors.caldav.source import CalDAVSource, EventsStream
from workhub.source_config import secret

__all__ = ["STREAMS", "CalDAVSource", "EventsStream", "build_source"]

#: The streams this kind of source offers, known without connecting.
STREAMS = ["events"]


def build_source(cfg: CalDAVSourceConfig) -> CalDAVSource:
    """The connector for a configured CalDAV source."""
    return CalDAVSource(cfg.name, cfg.url, username=cfg.username, password=secret(cfg.password),
                        page_size=cfg.page_size)
