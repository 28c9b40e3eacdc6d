"""From a source's config to its connector: the one place that knows every kind."""

from __future__ import annotations

from connectors.base import Source
from connectors.caldav import CalDAVSource
from workhub.config import CalDAVSourceConfig, SourceConfig

__all__ = ["STREAMS", "make_source"]

#: The streams each kind of source offers, known without connecting (for the asset graph).
STREAMS: dict[str, list[str]] = {"caldav": ["events"]}


def make_source(cfg: SourceConfig) -> Source:
    """The connector for a configured source."""
    if isinstance(cfg, CalDAVSourceConfig):
        return CalDAVSource(
            cfg.name,
            cfg.url,
            username=cfg.username,
            password=cfg.password.get_secret_value() if cfg.password else None,
            page_size=cfg.page_size,
        )
    raise ValueError(f"no connector for source kind {cfg.kind!r}")  # pragma: no cover
