"""A Confluence Cloud REST v2 stand-in: spaces, pages with their version history and
inline tasks, served under `/wiki/api/v2` with Confluence's cursor pagination, Basic
auth and error shape; see sandbox/README.md for the contract every stand-in keeps."""

from sandbox.confluence.app import create_app
from sandbox.confluence.seed import populate
from sandbox.confluence.store import ConfluenceError, ConfluenceStore, NewTask

__all__ = ["ConfluenceError", "ConfluenceStore", "NewTask", "create_app", "populate"]
