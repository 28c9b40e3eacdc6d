"""The base of every GitHub stream: the repositories a run reads, and checkpoints."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from connectors.base import Cursor, Page, Stream
from connectors.github.search import changed_repositories, newest_update, search_scope
from connectors.readahead import read_in_order
from workhub.jsonio import copied

if TYPE_CHECKING:
    from connectors.github.source import GitHubSource

__all__ = ["CHECKPOINT_REPOS", "PASSES", "RepoStream", "since_param"]

#: Repositories between two writes of a stream's cursor (see `_checkpointed`).
CHECKPOINT_REPOS = 50
#: Passes over the change listing per run: the changes, then the settled window; a third
#: only when something changed while we read.
PASSES = 3


def since_param(newest: str | None, lookback: timedelta) -> str | None:
    """The `since` parameter for a watermark: the lookback before it, GitHub's format."""
    if newest is None:
        return None
    moment = datetime.fromisoformat(newest.replace("Z", "+00:00")) - lookback
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RepoStream(Stream):
    """What every stream of a GitHub source shares: the source, its client, the
    repositories, which of them a run reads, and cursor checkpoints."""

    def __init__(self, source: GitHubSource) -> None:
        self.source = source
        self.client = source.client

    def _checkpointed(
        self, repos: list[tuple[int, str]], state: dict[str, Any],
        pages_of: Callable[[int, str, dict[str, Any]], Iterator[Page]], *, spent: int = 0,
        last: dict[str, Any] | None = None,
    ) -> Iterator[Page]:
        """Every repository's pages, with the cursor (which holds every repository's
        state) on the last page of every `CHECKPOINT_REPOS`-th repository and of the last.

        Writing it with each page would cost O(repositories) a page, O(n²) a sync in a
        large organisation; a sync cut short re-reads at most that many repositories,
        and content hashes make the re-reading write nothing.

        `pages_of(repo_id, name, repo)` reads one repository and keeps what it learns in
        `repo`, a copy of that repository's state. The source's `repos_at_once` are read
        at once, each in a thread, and handed over in order. A repository read alone is a
        chain of round trips: against the 100,000-item world served with 50 ms a request,
        the issues stream read its first 5,000 records in 41-42 s one repository at a
        time and in 11.5-11.7 s four at once. A copy enters the state only once its pages
        are all handed over, so a checkpoint never names a repository whose pages were
        read ahead of landing.

        `spent` requests (finding the repositories) count on the first page; `last`
        enters the cursor only with the last repository (a search's watermark must not
        be kept by a run cut short before it read what the search found).
        """
        def finished() -> dict[str, Any]:
            return copied({**state, **(last or {})})

        copies = [copied(state["repos"][str(repo_id)]) for repo_id, _ in repos]
        readers = (pages_of(repo_id, name, mine)
                   for (repo_id, name), mine in zip(repos, copies, strict=True))
        at_once = self.source.cfg.repos_at_once
        for done, pages in enumerate(read_in_order(readers, at_once, depth=2), 1):
            held: Page | None = None
            for page in pages:
                page.requests += spent
                spent = 0
                if held is not None:
                    yield held
                held = page
            state["repos"][str(repos[done - 1][0])] = copies[done - 1]
            held = held or Page()
            if done == len(repos):
                held.cursor = finished()
            elif done % CHECKPOINT_REPOS == 0:
                held.cursor = copied(state)
            yield held
        if not repos:
            yield Page(cursor=finished(), requests=spent)

    def _searched(
        self, repos: list[tuple[int, str]], state: dict[str, Any], cursor: Cursor | None,
        due: Callable[[dict[str, Any]], bool],
    ) -> tuple[list[tuple[int, str]], dict[str, Any]]:
        """The repositories this run reads, and the search state for the cursor: every
        repository on a full run; else those with an issue or pull request updated since
        the last run's newest (one search, see `connectors.github.search`) and those
        `due` for their own reasons."""
        cfg = self.source.cfg
        scope = search_scope(cfg.org, cfg.repos)
        if scope is None:
            return repos, {}
        lookback = timedelta(minutes=cfg.lookback_minutes)
        old = (cursor or {}).get("search") or {}
        if old:
            # Checkpoints before the last repository keep the old search: a run cut short
            # searches from the same watermark again rather than reading every repository.
            state["search"] = old
        if cursor and old.get("newest"):
            since = since_param(old["newest"], lookback)
            found = changed_repositories(
                self.client, scope, str(since),
                old.get("etag") if old.get("since") == since else None)
            if found.names is not None:
                newest = max(old["newest"], found.newest or "")
                search = {"newest": newest, "since": since, "etag": found.etag}
                if since_param(newest, lookback) != since:
                    search = self._primed(scope, newest, lookback)
                return [(i, n) for i, n in repos if n.lower() in found.names
                        or due(state["repos"][str(i)])], {"search": search}
        # A full run, or more changes than a search answers: read every repository,
        # and leave the next run the watermark of now and its search's ETag.
        newest = newest_update(self.client, scope)
        return repos, {"search": self._primed(scope, newest, lookback) if newest else {}}

    def _primed(self, scope: str, newest: str, lookback: timedelta) -> dict[str, Any]:
        """The search state for a watermark, with the ETag of the search the next run
        will ask (so that, if nothing changes, it is answered by a free 304)."""
        since = str(since_param(newest, lookback))
        found = changed_repositories(self.client, scope, since, None)
        return {"newest": max(newest, found.newest or ""), "since": since,
                "etag": found.etag if found.names is not None else None}

    def _due_for_sweep(self, repo: dict[str, Any]) -> bool:
        """Never read yet, or its periodic re-read (`sweep_hours`) is due."""
        swept = repo.get("swept")
        return ("list" not in repo or swept is None
                or self.client.budget.clock() - float(swept)
                >= self.source.cfg.sweep_hours * 3600)

    def _start(self, cursor: Cursor | None) -> tuple[list[tuple[int, str]], dict[str, Any]]:
        """The repositories, and the new cursor carrying each one's old state."""
        old = copied(cursor or {})
        repos, index = self.source.repositories(old.get("index") or {})
        before = old.get("repos") or {}
        state = {"index": index,
                 "repos": {str(i): {**before.get(str(i), {}), "name": n} for i, n in repos}}
        return repos, state
