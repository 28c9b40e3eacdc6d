"""The `commits` stream: every commit of the repositories pushed to since the last run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from connectors.base import Cursor, Page, RawItem
from connectors.github.evidence import EMPTY_REPOSITORY
from connectors.github.repo_stream import PASSES, RepoStream, since_param

__all__ = ["CommitsStream"]


class CommitsStream(RepoStream):
    """Commits of every repository, newest first, from the watermark minus the lookback.

    A commit is no work item; it lands as evidence of who commits with which address.
    Like `issues`, the listing is asked with last run's ETags, and after changes it is
    read once more from the new watermark so the next unchanged run costs only 304s.
    The watermark is the committer date, which `since` filters on.
    """

    name = "commits"
    primary_key = "sha"
    cursor_field = "commit.committer.date"

    def read(self, cursor: Cursor | None) -> Iterator[Page]:
        mark = self.client.requests
        repos, state = self._start(cursor)
        # Commits arrive by push: a repository whose `pushed_at` is as it was when its
        # commits were last read has none to add (and costs no request).
        pushed = self.source.pushed_at(state["index"])
        visit = [(i, n) for i, n in repos
                 if not cursor or pushed.get(i) is None or "list" not in state["repos"][str(i)]
                 or state["repos"][str(i)].get("pushed") != pushed[i]]

        def read_repo(repo_id: int, name: str, repo: dict[str, Any]) -> Iterator[Page]:
            # Noted as the repository is read, so a checkpoint before it leaves it due.
            repo["pushed"] = pushed.get(repo_id)
            return self._read_repo(repo_id, name, repo, full=not cursor)

        yield from self._checkpointed(visit, state, read_repo,
                                      spent=self.client.requests - mark)

    def _read_repo(
        self, repo_id: int, name: str, repo: dict[str, Any], full: bool
    ) -> Iterator[Page]:
        client, cfg = self.client, self.source.cfg
        mark = client.requests
        seen: set[str] = set()
        newest: str | None = None
        since: str | None = None if full else repo.get("since")
        known = None if full else repo.get("list")
        for _ in range(PASSES):
            changed = False
            for page in client.pages(f"/repos/{name}/commits",
                                     {"since": since} if since else {}, known,
                                     empty=(EMPTY_REPOSITORY,)):
                repo.update(since=since, list=page.state)
                if page.rows is None:
                    continue
                changed = True
                records: list[RawItem] = []
                for row in page.rows:
                    sha = row.get("sha") if isinstance(row, dict) else None
                    if not sha or sha in seen:
                        continue
                    seen.add(sha)
                    stamp = ((row.get("commit") or {}).get("committer") or {}).get("date")
                    if isinstance(stamp, str) and (newest is None or stamp > newest):
                        newest = stamp
                    records.append(RawItem(str(sha), {"repo": name, "repo_id": repo_id,
                                                      "commit": row}))
                yield Page(records, requests=client.requests - mark)
                mark = client.requests
            following = since_param(newest, timedelta(minutes=cfg.lookback_minutes))
            if not changed or following is None or following == since:
                break
            since, known = following, None
        yield Page(requests=client.requests - mark)
