"""The `milestones` stream: each repository's milestones (they become goals)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connectors.base import Cursor, Page, RawItem, Snapshot
from connectors.github.repo_stream import RepoStream

__all__ = ["MilestonesStream"]


class MilestonesStream(RepoStream):
    """Milestones (state=all) of every repository; each becomes a goal."""

    name = "milestones"
    primary_key = "id"
    cursor_field = None  # a conditional listing, whole each time it changed

    def read(self, cursor: Cursor | None) -> Iterator[Page]:
        mark = self.client.requests
        repos, state = self._start(cursor)
        # A milestone's counts change with its issues; an edit of the milestone alone
        # shows at the next periodic re-read (`sweep_hours`).
        visit, last = self._searched(repos, state, cursor, self._due_for_sweep)
        yield from self._checkpointed(
            visit, state, lambda repo_id, name, repo: self._read_repo(repo_id, name, repo,
                                                                     full=not cursor),
            spent=self.client.requests - mark, last=last)

    def _read_repo(
        self, repo_id: int, name: str, repo: dict[str, Any], full: bool
    ) -> Iterator[Page]:
        """The repository's milestones, as one page (a conditional listing)."""
        mark = self.client.requests
        repo["swept"] = self.client.budget.clock()
        rows, repo["list"] = self.client.listing(
            f"/repos/{name}/milestones",
            {"state": "all", "sort": "due_on", "direction": "asc"},
            None if full else repo.get("list"))
        page = Page()
        if rows is not None:
            page.records = [
                RawItem(f"{repo_id}/{row.get('number')}",
                        {"repo": name, "repo_id": repo_id, "milestone": row})
                for row in rows if isinstance(row, dict)]
            # A milestone listing is answered whole: what it lacks was deleted.
            page.snapshot = Snapshot(
                scope=f"{repo_id}/",
                present_ids=frozenset(r.external_id for r in page.records),
                reason="milestone deleted on GitHub")
        page.requests = self.client.requests - mark
        yield page
