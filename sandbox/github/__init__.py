"""A GitHub REST v3 stand-in that PyGithub cannot tell from GitHub Enterprise Server.

`GitHubStore` holds the world as GitHub's JSON, `create_app` serves it under ``/api/v3``
behind the shared fault model, and `populate` seeds it from a synthetic organisation.
"""

from sandbox.github.app import create_app
from sandbox.github.queries import GoneError, MovedError, NotFoundError
from sandbox.github.seed import populate
from sandbox.github.store import GitHubStore

__all__ = ["GitHubStore", "GoneError", "MovedError", "NotFoundError", "create_app", "populate"]
