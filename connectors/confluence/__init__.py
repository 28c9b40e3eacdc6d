"""Confluence Cloud pages and inline tasks through httpx on REST v2."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from connectors.confluence.settings import ConfluenceSourceConfig
from connectors.lazy import lazy_exports
from workhub.source_config import secret

if TYPE_CHECKING:
    from connectors.confluence.source import ConfluenceSource, PagesStream, TasksStream

# The client library loads when a source is built, not when the config is read.
__getattr__ = lazy_exports(__name__, source=("ConfluenceSource", "PagesStream", "TasksStream"))

__all__ = ["STREAMS", "ConfluenceSource", "PagesStream", "TasksStream", "build_source"]

#: The streams this kind of source offers, known without connecting.
STREAMS = ["pages", "tasks"]


def build_source(cfg: ConfluenceSourceConfig) -> ConfluenceSource:
    """The connector for a configured Confluence source."""
    from connectors.confluence.source import ConfluenceSource

    return ConfluenceSource(
        cfg.name,
        cfg.url,
        username=cfg.username,
        token=secret(cfg.token),
        spaces=list(cfg.spaces),
        page_size=cfg.page_size,
        task_page_size=cfg.task_page_size,
        lookback=timedelta(minutes=cfg.lookback_minutes),
        max_delete_share=cfg.max_delete_share,
    )
