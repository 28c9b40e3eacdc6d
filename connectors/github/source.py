"""The GitHub source: issues and pull requests, and milestones, of some repos or an org.

`issues` lists `GET /repos/{o}/{r}/issues?state=all&sort=updated&direction=asc&since=`
from the cursor's watermark minus the lookback, every page asked with the ETag it had
last time. When a page changed, the details of its pull requests (draft, head branch,
requested reviewers) come from the pulls listing, newest first, read only as far as
needed (`connectors.github.pulls`); nothing is fetched per item. After the changes
the listing is read once more from the new watermark, so the cursor holds that URL's
ETags and the next run of an unchanged repository is answered by free 304s only.
An incremental run reads only the repositories that one issue search names as changed
(`connectors.github.search`), those never read and those due for their sweep.

Deletions: an id sweep (every `sweep_hours`, and on a full sync) lists every issue; each
number that vanished since is asked for once: 410 means deleted, a 301 (followed by
PyGithub) means transferred to the repository it lands in, 404 means gone from sight.
Each is tombstoned with that reason, and a Snapshot with the mass-deletion guard covers
the rest. `milestones` lists every milestone conditionally and snapshots the listing.

Raw record ids are "<repo id>/<number>": stable across repository renames.

`commits` reads only the repositories pushed to since (the org listing's `pushed_at`);
`milestones` those the search names, and each at least every `sweep_hours`.

Listings name people by login only, so each issue record also carries `author_emails`
(login -> the address their commits, else their public profile, state: see
`connectors.github.evidence`). `commits` lands every commit (by sha) incrementally and
conditionally like `issues`; a commit is evidence, not work.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from connectors.base import Cursor, Page, RawItem, Snapshot, Source, Stream
from connectors.errors import FatalError
from connectors.github.client import GitHubClient, budget_for
from connectors.github.commits import CommitsStream
from connectors.github.evidence import AuthorEmails
from connectors.github.milestones import MilestonesStream
from connectors.github.pulls import PullDetails
from connectors.github.repo_stream import PASSES, RepoStream, since_param
from connectors.github.search import repo_of
from connectors.github.settings import GitHubSourceConfig
from connectors.http import RequestBudget, json_body
from workhub.jsonio import copied
from workhub.source_config import secret

__all__ = ["GitHubSource", "IssuesStream", "format_ranges", "parse_ranges"]


def parse_ranges(text: str) -> set[int]:
    """Numbers from a compact "3,5-7" list (how the cursor remembers vanished issues)."""
    out: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, _, high = part.partition("-")
        out.update(range(int(low), int(high or low) + 1))
    return out


def format_ranges(numbers: set[int]) -> str:
    """The compact "3,5-7" form of a set of numbers."""
    parts: list[tuple[int, int]] = []
    for number in sorted(numbers):
        if parts and parts[-1][1] == number - 1:
            parts[-1] = (parts[-1][0], number)
        else:
            parts.append((number, number))
    return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in parts)


def _people(issue: dict[str, Any], pull: Any) -> list[dict[str, Any]]:
    """The user objects of an issue's author, assignees and requested reviewers."""
    users = [issue.get("user"), *(issue.get("assignees") or [])]
    if isinstance(pull, dict):
        users += pull.get("requested_reviewers") or []
    return [u for u in users if isinstance(u, dict) and u.get("login")]


class IssuesStream(RepoStream):
    """Issues and pull requests (with their pull details) of every repository."""

    name = "issues"
    primary_key = "id"
    cursor_field = "updated_at"

    def read(self, cursor: Cursor | None) -> Iterator[Page]:
        full = not cursor
        mark = self.client.requests
        repos, state = self._start(cursor)
        visit, last = self._searched(repos, state, cursor, self._due_for_sweep)
        yield from self._checkpointed(
            visit, state, lambda repo_id, name, repo: self._read_repo(repo_id, name, repo, full),
            spent=self.client.requests - mark, last=last)

    def _read_repo(
        self, repo_id: int, name: str, repo: dict[str, Any], full: bool
    ) -> Iterator[Page]:
        client, cfg = self.client, self.source.cfg
        mark = client.requests
        seen: set[tuple[Any, Any]] = set()
        newest: str | None = None
        since: str | None = None if full else repo.get("since")
        known = None if full else repo.get("list")
        pulls = PullDetails(client, name)
        listed: set[int] = set()
        for _ in range(PASSES):
            params = {"state": "all", "sort": "updated", "direction": "asc"}
            if since:
                params["since"] = since
            changed = False
            for page in client.pages(f"/repos/{name}/issues", params, known):
                repo.update(since=since, list=page.state)
                if page.rows is None:
                    continue
                changed = True
                records: list[RawItem] = []
                deleted: dict[str, str] = {}
                for row in page.rows:
                    if not isinstance(row, dict):
                        continue
                    if isinstance(row.get("number"), int):
                        listed.add(row["number"])
                    stamp = row.get("updated_at")
                    if isinstance(stamp, str) and (newest is None or stamp > newest):
                        newest = stamp
                    item = self._item(repo_id, name, row, seen, deleted, pulls, since)
                    if item is not None:
                        records.append(item)
                yield Page(records, deleted, requests=client.requests - mark)
                mark = client.requests
            following = since_param(newest, timedelta(minutes=cfg.lookback_minutes))
            if not changed or following is None or following == since:
                break
            since, known = following, None
        # A full run listed every issue already: that listing is the sweep.
        yield self._sweep(repo_id, name, repo, full, mark, listed if full else None)

    def _item(
        self,
        repo_id: int,
        name: str,
        row: dict[str, Any],
        seen: set[tuple[Any, Any]],
        deleted: dict[str, str],
        pulls: PullDetails,
        since: str | None = None,
    ) -> RawItem | None:
        """The raw record of one listed issue or pull request (None: already read).

        The payload is the issue as listed, the pull request's details, and
        `author_emails`: the address each person on it is known by (from the
        repository's commits since `since`, else their public profile).
        """
        number = row.get("number")
        external_id = f"{repo_id}/{number}"
        marker = (row.get("id"), row.get("updated_at"))
        if marker in seen:  # the settling pass re-lists what this run already read
            return None
        seen.add(marker)
        payload: dict[str, Any] = {"repo": name, "repo_id": repo_id, "issue": row}
        if isinstance(row.get("pull_request"), dict) and isinstance(number, int):
            answer = pulls.get(number, row.get("updated_at"))
            if isinstance(answer, dict):
                payload["pull"] = answer
            elif answer.status_code in (404, 410):
                deleted[external_id] = (
                    f"GitHub answered {answer.status_code} for pull request {name}#{number}")
                return None
            else:
                payload["pull"] = json_body(answer)
        logins = [u["login"] for u in _people(row, payload.get("pull"))]
        emails = self.source.emails.of(name, logins, since)
        if emails:
            payload["author_emails"] = emails
        return RawItem(external_id, payload)

    def _sweep(
        self,
        repo_id: int,
        name: str,
        repo: dict[str, Any],
        full: bool,
        mark: int,
        listed: set[int] | None = None,
    ) -> Page:
        """The last page of a repository: the id sweep when it is due (over `listed`, the
        numbers a whole listing just named, when given)."""
        client, cfg = self.client, self.source.cfg
        now = client.budget.clock()
        swept = repo.get("swept")
        page = Page()
        if full or swept is None or now - float(swept) >= cfg.sweep_hours * 3600:
            present: set[int] | None = listed
            if present is None:
                rows, repo["sweep"] = client.listing(
                    f"/repos/{name}/issues",
                    {"state": "all", "sort": "created", "direction": "asc"},
                    None if full else repo.get("sweep"))
                present = None if rows is None else {
                    int(r["number"]) for r in rows
                    if isinstance(r, dict) and isinstance(r.get("number"), int)}
            repo["swept"] = now
            if present is not None:
                page.deleted = self._vanished(repo_id, name, repo, present, full)
                page.snapshot = Snapshot(
                    scope=f"{repo_id}/",
                    present_ids=frozenset(f"{repo_id}/{n}" for n in present),
                    reason="no longer listed by GitHub",
                    max_delete_share=cfg.max_delete_share,
                )
        page.requests = client.requests - mark
        return page

    def _vanished(
        self, repo_id: int, name: str, repo: dict[str, Any], present: set[int], full: bool
    ) -> dict[str, str]:
        """Ask once after each number no longer listed: deleted, transferred or hidden."""
        top = max([int(repo.get("top") or 0), *present])
        gone = set() if full else parse_ranges(str(repo.get("gone") or ""))
        reasons: dict[str, str] = {}
        for number in range(1, top + 1):
            if number in present or number in gone:
                continue
            answer = self.client.get(f"/repos/{name}/issues/{number}", accept=(200, 404, 410))
            if answer.status_code == 200:
                body = json_body(answer)
                where, moved = repo_of(body), body.get("number")
                if where.lower() == name.lower() and moved == number:
                    continue  # listed by the next run: it appeared while we swept
                reason = f"transferred to {where}#{moved}"
            elif answer.status_code == 410:
                reason = "deleted on GitHub"
            else:
                reason = "no longer visible on GitHub (404)"
            reasons[f"{repo_id}/{number}"] = reason
            gone.add(number)
        repo.update(top=top, gone=format_ranges(gone))
        return reasons


class GitHubSource(Source):
    """One GitHub (or GitHub Enterprise) account: some repositories, or a whole org."""

    kind = "github"
    # Issues, milestones and commits read at once: each thread has its own PyGithub
    # requester, the repository listing is made once under a lock, and the author
    # addresses are the issues stream's alone. Each stream mostly waits on round trips:
    # in a no-change re-sync of 100,000 items the three took 0.4-0.5 s each, 1.2-1.3 s
    # one after another.
    parallel_streams = True

    def __init__(self, cfg: GitHubSourceConfig, budget: RequestBudget | None = None) -> None:
        super().__init__(cfg.name)
        self.cfg = cfg
        token = secret(cfg.token)
        self.client = GitHubClient(
            source=cfg.name,
            base_url=cfg.base_url,
            token=token,
            per_page=cfg.per_page,
            budget=budget or budget_for(cfg.base_url, token),
        )
        #: addresses of logins (commits, public profiles), learned once per run
        self.emails = AuthorEmails(self.client)
        #: the repositories and their index, listed once per run (a source lives for one)
        self._listed: tuple[list[tuple[int, str]], dict[str, Any]] | None = None
        self._listing = threading.Lock()

    def repositories(self, index: dict[str, Any]) -> tuple[list[tuple[int, str]], dict[str, Any]]:
        """(id, "owner/name") of every repository to read, and the index state to keep.

        Both lookups are conditional: an unchanged repository or org answers 304. The
        first stream of a run lists them; the streams after it take the same answer,
        whatever index they kept (an organisation of 17,000 repositories is 172
        requests a listing, even when every one is a 304).
        """
        with self._listing:  # the streams start at once: the first lists, the rest wait
            if self._listed is None:
                self._listed = self._list_repositories(index)
            repos, kept = self._listed
        return list(repos), copied(kept)

    def _list_repositories(
        self, index: dict[str, Any]
    ) -> tuple[list[tuple[int, str]], dict[str, Any]]:
        if self.cfg.repos:
            known: dict[str, list[Any]] = index.get("repos") or {}
            kept: dict[str, list[Any]] = {}
            for wanted in self.cfg.repos:
                before = known.get(wanted)
                answer = self.client.get(f"/repos/{wanted}", accept=(200, 404),
                                         etag=before[2] if before else None)
                if answer.status_code == 404:
                    raise FatalError(f"{self.name}: repository {wanted} was not found "
                                     "(or the token cannot see it)")
                if answer.status_code == 304 and before:
                    kept[wanted] = before
                else:
                    body = json_body(answer)
                    kept[wanted] = [int(body["id"]), str(body["full_name"]),
                                    answer.headers.get("etag", ""), body.get("pushed_at")]
            return [(v[0], v[1]) for v in kept.values()], {"repos": kept}
        if self.cfg.org:
            rows, listing = self.client.listing(
                f"/orgs/{self.cfg.org}/repos", {"type": "all", "sort": "full_name"},
                index.get("list"))
            names: dict[str, str] = (
                index.get("known") or {} if rows is None
                else {str(r["id"]): str(r["full_name"]) for r in rows})
            pushed: dict[str, Any] = (
                index.get("pushed") or {} if rows is None
                else {str(r["id"]): r.get("pushed_at") for r in rows})
            return sorted((int(i), n) for i, n in names.items()), {
                "list": listing, "known": names, "pushed": pushed}
        raise FatalError(f"{self.name}: configure `repos` or `org`")

    def pushed_at(self, index: dict[str, Any]) -> dict[int, str | None]:
        """When each repository was last pushed to, from the index `repositories` kept."""
        if "repos" in index:
            return {int(v[0]): (v[3] if len(v) > 3 else None) for v in index["repos"].values()}
        return {int(i): stamp for i, stamp in (index.get("pushed") or {}).items()}

    def streams(self) -> list[Stream]:
        return [IssuesStream(self), MilestonesStream(self), CommitsStream(self)]

    def close(self) -> None:
        self.client.close()
