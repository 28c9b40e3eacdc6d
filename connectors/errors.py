"""The typed errors a connector raises, so the sync knows whether to retry, stop or go on."""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConnectorError",
    "FatalError",
    "MassDeletionError",
    "PaginationLoopError",
    "RetriableError",
]


class ConnectorError(Exception):
    """Base of every connector error."""


class RetriableError(ConnectorError):
    """A passing failure (5xx, 429, dropped connection); `retry_after` in seconds if known."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FatalError(ConnectorError):
    """A failure that retrying will not fix (bad request, unexpected answer)."""


class AuthError(FatalError):
    """The source refused our credentials; the source stops, the others go on."""


class PaginationLoopError(FatalError):
    """A paginator was handed a page token it had already seen."""


class MassDeletionError(FatalError):
    """A sweep would tombstone more of a source at once than the config allows."""
