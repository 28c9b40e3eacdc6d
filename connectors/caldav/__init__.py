"""CalDAV calendars through the `caldav` library (any RFC 4791 server)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.caldav.settings import CalDAVSourceConfig
from connectors.lazy import lazy_exports
from workhub.source_config import secret

if TYPE_CHECKING:
    from connectors.caldav.source import CalDAVSource, EventsStream

# The client library loads when a source is built, not when the config is read.
__getattr__ = lazy_exports(__name__, source=("CalDAVSource", "EventsStream"))

__all__ = ["STREAMS", "CalDAVSource", "EventsStream", "build_source"]

#: The streams this kind of source offers, known without connecting.
STREAMS = ["events"]


def build_source(cfg: CalDAVSourceConfig) -> CalDAVSource:
    """The connector for a configured CalDAV source."""
    from connectors.caldav.source import CalDAVSource

    return CalDAVSource(cfg.name, cfg.url, username=cfg.username, password=secret(cfg.password),
                        page_size=cfg.page_size)
