"""Jira Cloud and Server/Data Center issues through the `jira` library."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.jira.settings import JiraSourceConfig
from connectors.lazy import lazy_exports

if TYPE_CHECKING:
    from connectors.jira.source import IssuesStream, JiraSource

# The client library loads when a source is built, not when the config is read.
__getattr__ = lazy_exports(__name__, source=("IssuesStream", "JiraSource"))

__all__ = ["STREAMS", "IssuesStream", "JiraSource", "build_source"]

#: The streams this kind of source offers, known without connecting.
STREAMS = ["issues"]


def build_source(cfg: JiraSourceConfig) -> JiraSource:
    """The connector for a configured Jira site."""
    from connectors.jira.source import JiraSource

    return JiraSource(cfg)
