"""iCalendar feeds (any .ics URL) through httpx, with conditional requests."""

from __future__ import annotations

from connectors.ics.settings import IcsSourceConfig
from connectors.ics.source import EventsStream, IcsSource, split_feed
from workhub.source_config import secret

__all__ = ["STREAMS", "EventsStream", "IcsSource", "build_source", "split_feed"]

#: The streams this kind of source offers, known without connecting.
STREAMS = ["events"]


def build_source(cfg: IcsSourceConfig) -> IcsSource:
    """The connector for a configured iCalendar feed."""
    return IcsSource(cfg.name, cfg.url, token=secret(cfg.token),
                     max_delete_share=cfg.max_delete_share)
