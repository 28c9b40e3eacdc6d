"""The GitHub source: issues and pull requests, and milestones, of some repos or an org.

`issues` lists `GET /repos/{o}/{r}/issues?state=all&sort=updated&direction=asc&since=`
from the cursor's watermark minus the lookback, every page asked with the ETag it had
last time. When a page changed, the details of its pull requests (draft, head branch,
requested reviewers) come from the pulls listing, newest first, read only as far as
needed (`connectors.github.pulls`); nothing is fetched per item. After the changes
the listing is read once more from the new watermark, so the cursor holds that URL's
ETags and the next run of an unchanged repository is answered by free 304s only.

Deletions: an id sweep (every `sweep_hours`, and on a full sync) lists every issue; each
number that vanished since is asked for once: 410 means deleted, a 301 (followed by
PyGithub) means transferred to the repository it lands in, 404 means gone from sight.
Each is tombstoned with that reason, and a Snapshot with the mass-deletion guard covers
the rest. `milestones` lists every milestone conditionally and snapshots the listing.

Raw record ids are "<repo id>/<number>": stable across repository renames.

Listings name people by login only, so each issue record also carries `author_emails`
(login -> the address their commits, else their public profile, state: see
`connectors.github.evidence`). `commits` lands every commit (by sha) incrementally and
conditionally like `issues`; a commit is evidence, not work.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import Cursor, Page, RawItem, Snapshot, Source, Stream
from connectors.errors import FatalError
from connectors.github.client import GitHubClient, budget_for
from connectors.github.evidence import EMPTY_REPOSITORY, AuthorEmails
from connectors.github.pulls import PullDetails
from connectors.github.search import (
    changed_repositories,
    newest_update,
    repo_of,
    search_scope,
)
from connectors.github.settings import GitHubSourceConfig
from connectors.http import RequestBudget, json_body
from workhub.source_config import secret

__all__ = ["CommitsStream", "GitHubSource", "IssuesStream", "MilestonesStream",
           "format_ranges", "parse_ranges"]

#: Repositories between two writes of a stream's cursor (see `_checkpointed`).
CHECKPOINT_REPOS = 50
#: Passes over the change listing per run: the changes, then the settled window; a third
#: only when something changed while we read.
_PASSES = 3


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


def _since(newest: str | None, lookback: timedelta) -> str | None:
    """The `since` parameter for a watermark: the lookback before it, GitHub's format."""
    if newest is None:
        return None
    moment = datetime.fromisoformat(newest.replace("Z", "+00:00")) - lookback
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _people(issue: dict[str, Any], pull: Any) -> list[dict[str, Any]]:
    """The user objects of an issue's author, assignees and requested reviewers."""
    users = [issue.get("user"), *(issue.get("assignees") or [])]
    if isinstance(pull, dict):
        users += pull.get("requested_reviewers") or []
    return [u for u in users if isinstance(u, dict) and u.get("login")]


class _RepoStream(Stream):
    """What both streams share: the source, its client, and the repositories."""

    def __init__(self, source: GitHubSource) -> None:
        self.source = source
        self.client = source.client

    def _checkpointed(
        self, repos: list[tuple[int, str]], state: dict[str, Any],
        pages_of: Callable[[int, str], Iterator[Page]], *, spent: int = 0,
        last: dict[str, Any] | None = None,
    ) -> Iterator[Page]:
        """Every repository's pages, with the cursor (which holds every repository's
        state) on the last page of every `CHECKPOINT_REPOS`-th repository and of the last.

        Writing it with each page would cost O(repositories) a page, O(n²) a sync in a
        large organisation; a sync cut short re-reads at most that many repositories,
        and content hashes make the re-reading write nothing.

        `spent` requests (finding the repositories) count on the first page; `last`
        enters the cursor only with the last repository (a search's watermark must not
        be kept by a run cut short before it read what the search found).
        """
        def finished() -> dict[str, Any]:
            return copy.deepcopy({**state, **(last or {})})

        for done, (repo_id, name) in enumerate(repos, 1):
            held: Page | None = None
            for page in pages_of(repo_id, name):
                page.requests += spent
                spent = 0
                if held is not None:
                    yield held
                held = page
            held = held or Page()
            if done == len(repos):
                held.cursor = finished()
            elif done % CHECKPOINT_REPOS == 0:
                held.cursor = copy.deepcopy(state)
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
        if cursor and old.get("newest"):
            since = _since(old["newest"], lookback)
            found = changed_repositories(
                self.client, scope, str(since),
                old.get("etag") if old.get("since") == since else None)
            if found.names is not None:
                newest = max(old["newest"], found.newest or "")
                search = {"newest": newest, "since": since, "etag": found.etag}
                if _since(newest, lookback) != since:
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
        since = str(_since(newest, lookback))
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
        old = copy.deepcopy(cursor or {})
        repos, index = self.source.repositories(old.get("index") or {})
        before = old.get("repos") or {}
        state = {"index": index,
                 "repos": {str(i): {**before.get(str(i), {}), "name": n} for i, n in repos}}
        return repos, state


class IssuesStream(_RepoStream):
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
            visit, state, lambda repo_id, name: self._read_repo(repo_id, name, state, full),
            spent=self.client.requests - mark, last=last)

    def _read_repo(
        self, repo_id: int, name: str, state: dict[str, Any], full: bool
    ) -> Iterator[Page]:
        client, cfg = self.client, self.source.cfg
        repo = state["repos"][str(repo_id)]
        mark = client.requests
        seen: set[tuple[Any, Any]] = set()
        newest: str | None = None
        since: str | None = None if full else repo.get("since")
        known = None if full else repo.get("list")
        pulls = PullDetails(client, name)
        listed: set[int] = set()
        for _ in range(_PASSES):
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
            following = _since(newest, timedelta(minutes=cfg.lookback_minutes))
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


class CommitsStream(_RepoStream):
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

        def read_repo(repo_id: int, name: str) -> Iterator[Page]:
            # Noted as the repository is read, so a checkpoint before it leaves it due.
            state["repos"][str(repo_id)]["pushed"] = pushed.get(repo_id)
            return self._read_repo(repo_id, name, state, full=not cursor)

        yield from self._checkpointed(visit, state, read_repo,
                                      spent=self.client.requests - mark)

    def _read_repo(
        self, repo_id: int, name: str, state: dict[str, Any], full: bool
    ) -> Iterator[Page]:
        client, cfg = self.client, self.source.cfg
        repo = state["repos"][str(repo_id)]
        mark = client.requests
        seen: set[str] = set()
        newest: str | None = None
        since: str | None = None if full else repo.get("since")
        known = None if full else repo.get("list")
        for _ in range(_PASSES):
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
            following = _since(newest, timedelta(minutes=cfg.lookback_minutes))
            if not changed or following is None or following == since:
                break
            since, known = following, None
        yield Page(requests=client.requests - mark)


class MilestonesStream(_RepoStream):
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
            visit, state, lambda repo_id, name: self._read_repo(repo_id, name, state,
                                                               full=not cursor),
            spent=self.client.requests - mark, last=last)

    def _read_repo(
        self, repo_id: int, name: str, state: dict[str, Any], full: bool
    ) -> Iterator[Page]:
        """The repository's milestones, as one page (a conditional listing)."""
        mark = self.client.requests
        repo = state["repos"][str(repo_id)]
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


class GitHubSource(Source):
    """One GitHub (or GitHub Enterprise) account: some repositories, or a whole org."""

    kind = "github"

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

    def repositories(self, index: dict[str, Any]) -> tuple[list[tuple[int, str]], dict[str, Any]]:
        """(id, "owner/name") of every repository to read, and the index state to keep.

        Both lookups are conditional: an unchanged repository or org answers 304.
        """
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
