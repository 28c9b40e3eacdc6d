"""Jira Cloud and Server/Data Center issues through the `jira` library."""

from __future__ import annotations

from connectors.jira.settings import JiraSourceConfig
from connectors.jira.source import IssuesStream, JiraSource

__all__ = ["STREAMS", "IssuesStream", "JiraSource", "build_source"]

#: The streams this kind of source offers, known without connecting.
STREAMS = ["issues"]


def build_source(cfg: JiraSourceConfig) -> JiraSource:
    """The connector for a configured Jira site."""
    return JiraSource(cfg)
