"""iCalendar feeds (any .ics URL) through httpx, with conditional requests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.ics.settings import IcsSourceConfig
from connectors.lazy import lazy_exports
from workhub.source_config import secret

if TYPE_CHECKING:
    from connectors.ics.source import EventsStream, IcsSource, split_feed

# The client library loads when a source is built, not when the config is read.
__getattr__ = lazy_exports(__name__, source=("EventsStream", "IcsSource", "split_feed"))

__all__ = ["STREAMS", "EventsStream", "IcsSource", "build_source", "split_feed"]

#: The streams this kind of source offers, known without connecting.
STREAMS = ["events"]


def build_source(cfg: IcsSourceConfig) -> IcsSource:
    """The connector for a configured iCalendar feed."""
    from connectors.ics.source import IcsSource

    return IcsSource(cfg.name, cfg.url, token=secret(cfg.token),
                     max_delete_share=cfg.max_delete_share)
