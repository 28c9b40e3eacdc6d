"""A Jira (Server / Data Center and Cloud) stand-in that `jira.JIRA` cannot tell from Jira.

`JiraStore` holds the world as REST v2 JSON, `create_app` serves it over HTTP (with the
shared fault model), `populate` seeds it from the synthetic organisation, and `jql`
evaluates the JQL subset a sync connector sends.
"""

from sandbox.jira.app import create_app
from sandbox.jira.catalog import FIELD_EPIC_LINK, FIELD_SPRINT, FIELD_STORY_POINTS
from sandbox.jira.jql import JqlError
from sandbox.jira.seed import populate
from sandbox.jira.store import JiraStore

__all__ = [
    "FIELD_EPIC_LINK",
    "FIELD_SPRINT",
    "FIELD_STORY_POINTS",
    "JiraStore",
    "JqlError",
    "create_app",
    "populate",
]
