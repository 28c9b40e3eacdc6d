"""Pull request details (draft, head branch, requested reviewers) read from the listing.

The issues listing names a pull request but not its reviewers or branch. Asking
`GET /pulls/{n}` for each costs one request per pull request; `GET /pulls?state=all&
sort=updated&direction=desc` answers a hundred at a time. `PullDetails` walks that listing
lazily, newest first, only as far as the pull requests a sync asks for: once the listing
is older than the one wanted, that one is not in it (it changed since), and only then is
it asked for by number.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from connectors.github.client import GitHubClient

__all__ = ["PullDetails"]


class PullDetails:
    """The pull requests of one repository, by number, from its listing then singly."""

    def __init__(self, client: GitHubClient, repo: str) -> None:
        self.client = client
        self.repo = repo
        self._known: dict[int, dict[str, Any]] = {}
        self._listing: Iterator[dict[str, Any]] | None = None
        #: `updated_at` of the last listed row (the listing is newest first)
        self._reached: str | None = None
        self._exhausted = False

    def _rows(self) -> Iterator[dict[str, Any]]:
        params = {"state": "all", "sort": "updated", "direction": "desc"}
        for page in self.client.pages(f"/repos/{self.repo}/pulls", params, None):
            yield from (r for r in page.rows or [] if isinstance(r, dict))

    def get(self, number: int, updated_at: str | None) -> httpx.Response | dict[str, Any]:
        """The pull request's details: a listed row, else the single endpoint's response
        (which may be a 404 or 410 for one deleted meanwhile)."""
        if self._listing is None:
            self._listing = self._rows()
        while number not in self._known and not self._exhausted and (
                updated_at is None or self._reached is None or self._reached >= updated_at):
            row = next(self._listing, None)
            if row is None:
                self._exhausted = True
                break
            if isinstance(row.get("number"), int):
                self._known[row["number"]] = row
            self._reached = str(row.get("updated_at") or "")
        found = self._known.get(number)
        if found is not None:
            return found
        return self.client.get(f"/repos/{self.repo}/pulls/{number}", accept=(200, 404, 410))
