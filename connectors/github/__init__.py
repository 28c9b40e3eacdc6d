"""GitHub and GitHub Enterprise through PyGithub: issues, pull requests, milestones, and
commits (evidence of who is who)."""

from __future__ import annotations

from connectors.github.commits import CommitsStream
from connectors.github.milestones import MilestonesStream
from connectors.github.settings import GitHubSourceConfig
from connectors.github.source import GitHubSource, IssuesStream

__all__ = ["STREAMS", "CommitsStream", "GitHubSource", "IssuesStream", "MilestonesStream",
           "build_source"]

#: The streams this kind of source offers, known without connecting.
STREAMS = ["issues", "milestones", "commits"]


def build_source(cfg: GitHubSourceConfig) -> GitHubSource:
    """The connector for a configured GitHub source."""
    return GitHubSource(cfg)
