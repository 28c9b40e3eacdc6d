"""GitHub and GitHub Enterprise through PyGithub: issues, pull requests, milestones, and
commits (evidence of who is who)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from connectors.github.settings import GitHubSourceConfig
from connectors.lazy import lazy_exports

if TYPE_CHECKING:
    from connectors.github.commits import CommitsStream
    from connectors.github.milestones import MilestonesStream
    from connectors.github.source import GitHubSource, IssuesStream

# The client library loads when a source is built, not when the config is read.
__getattr__ = lazy_exports(__name__, commits=("CommitsStream",),
                           milestones=("MilestonesStream",),
                           source=("GitHubSource", "IssuesStream"))

__all__ = ["STREAMS", "CommitsStream", "GitHubSource", "IssuesStream", "MilestonesStream",
           "build_source"]

#: The streams this kind of source offers, known without connecting.
STREAMS = ["issues", "milestones", "commits"]


def build_source(cfg: GitHubSourceConfig) -> GitHubSource:
    """The connector for a configured GitHub source."""
    from connectors.github.source import GitHubSource

    return GitHubSource(cfg)
