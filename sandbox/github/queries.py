"""Read-side of the GitHub store: lookups and the filtered, sorted lists the API serves.

Every answer is a deep copy, taken under the store's lock, so the app can serialise it
while a test mutates the world from another thread.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any, overload

from sandbox.github.payloads import parse_iso, simple_user
from sandbox.github.search import MAX_RESULTS, SearchQuery
from workhub.jsonio import copied

__all__ = ["PULL_SINGLE_ONLY", "CopiedRows", "GoneError", "MovedError", "NotFoundError",
           "QueriesMixin"]

#: Pull fields that only ``GET /pulls/{n}`` returns; lists leave them out, as GitHub does.
PULL_SINGLE_ONLY = ("merged", "mergeable", "rebaseable", "mergeable_state", "merged_by",
                    "comments", "review_comments", "maintainer_can_modify", "commits",
                    "additions", "deletions", "changed_files")


class NotFoundError(LookupError):
    """No such repository, issue, pull request, user or milestone (404)."""


class GoneError(NotFoundError):
    """The issue was deleted (410)."""


class MovedError(NotFoundError):
    """The issue was transferred; GitHub answers 301 with its new address."""

    def __init__(self, repo_id: int, repo: str, number: int) -> None:
        super().__init__(f"moved to {repo}#{number}")
        self.repo_id, self.repo, self.number = repo_id, repo, number


def _ordered(rows: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any],
             direction: str) -> list[dict[str, Any]]:
    # Ties break on the number/id so pages never reshuffle between requests.
    return sorted(rows, key=lambda r: (key(r), r.get("number", r.get("id"))),
                  reverse=direction == "desc")


class CopiedRows(Sequence[dict[str, Any]]):
    """Rows in their order, each copied (shallow, under the lock) only when it is read:
    the app serves one page of a long list, and copying every row for every page made
    listing a 17,000-repository organisation cost ~35 ms a page, 172 pages a listing."""

    def __init__(self, rows: list[dict[str, Any]], lock: threading.RLock) -> None:
        self._rows = rows
        self._lock = lock

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        with self._lock:
            if isinstance(index, slice):
                return [dict(row) for row in self._rows[index]]
            return dict(self._rows[index])


class QueriesMixin:
    """Lookups and list queries over the store's tables (mixed into GitHubStore)."""

    lock: threading.RLock
    origin: str
    org: dict[str, Any]
    users: dict[str, dict[str, Any]]
    members: list[str]
    repos: dict[str, dict[str, Any]]
    milestones: dict[str, dict[int, dict[str, Any]]]
    issues: dict[str, dict[int, dict[str, Any]]]
    pulls: dict[str, dict[int, dict[str, Any]]]
    gone: dict[str, dict[int, dict[str, Any]]]

    def _repo(self, repo: str) -> dict[str, Any]:
        if repo not in self.repos:
            raise NotFoundError(f"no repository {repo}")
        return self.repos[repo]

    def _issue(self, repo: str, number: int) -> dict[str, Any]:
        self._repo(repo)
        issue = self.issues[repo].get(number)
        if issue is not None:
            return issue
        tomb = self.gone[repo].get(number)
        if tomb is None:
            raise NotFoundError(f"no issue {repo}#{number}")
        if "moved_to" in tomb:
            to = tomb["moved_to"]
            raise MovedError(to["repo_id"], to["repo"], to["number"])
        raise GoneError(f"{repo}#{number} was deleted")

    def _user(self, login: str) -> dict[str, Any]:
        if login not in self.users:
            raise NotFoundError(f"no user {login}")
        user = self.users[login]
        return simple_user(self.origin, login, user["id"], site_admin=user["site_admin"])

    def repo(self, full_name: str) -> dict[str, Any]:
        """A repository with its organisation, as ``GET /repos/{o}/{r}`` returns it."""
        with self.lock:
            return {**copy.deepcopy(self._repo(full_name)), "organization":
                    simple_user(self.origin, self.org["login"], self.org["id"],
                                kind="Organization")}

    def repo_name(self, repo_id: int) -> str:
        """The full name of the repository with this id (for ``/repositories/{id}``)."""
        with self.lock:
            for name, repo in self.repos.items():
                if repo["id"] == repo_id:
                    return name
        raise NotFoundError(f"no repository with id {repo_id}")

    def org_json(self, login: str) -> dict[str, Any]:
        """The organisation, if `login` names it."""
        with self.lock:
            if login.lower() != self.org["login"].lower():
                raise NotFoundError(f"no organisation {login}")
            return copy.deepcopy(self.org)

    def org_repos(self, login: str, *, sort: str = "created",
                  direction: str | None = None) -> CopiedRows:
        """The organisation's repositories, sorted like ``GET /orgs/{org}/repos``."""
        self.org_json(login)
        field = {"full_name": "full_name", "updated": "updated_at",
                 "pushed": "pushed_at"}.get(sort, "created_at")
        direction = direction or ("asc" if sort == "full_name" else "desc")
        # Sorted as references (ties by id, as `_ordered` does); the page served is
        # copied as it is read. A deep copy of every repository on every page had made
        # listing a 7,000-repository organisation cost 0.3 s a page.
        with self.lock:
            rows = sorted(self.repos.values(), key=itemgetter(field, "id"),
                          reverse=direction == "desc")
        return CopiedRows(rows, self.lock)

    def member_list(self, login: str) -> list[dict[str, Any]]:
        """The organisation's members as short user objects, in id order."""
        self.org_json(login)
        with self.lock:
            return sorted((self._user(m) for m in self.members), key=lambda u: u["id"])

    def user(self, login: str, *, private: bool = False) -> dict[str, Any]:
        """A user's public profile; `private` adds what only the user themself sees."""
        with self.lock:
            match = next((u for name, u in self.users.items()
                          if name.lower() == login.lower()), None)
            if match is None:
                raise NotFoundError(f"no user {login}")
            user = copy.deepcopy(match)
        if private:
            user.update(private_gists=0, total_private_repos=0, owned_private_repos=0,
                        disk_usage=0, collaborators=0, two_factor_authentication=True,
                        plan={"name": "enterprise", "space": 976562499, "private_repos": 9999,
                              "collaborators": 0})
        return user

    def issue(self, repo: str, number: int) -> dict[str, Any]:
        """One issue (or a pull request's issue side); raises NotFoundError or a subclass."""
        with self.lock:
            return copy.deepcopy(self._issue(repo, number))

    def list_issues(self, repo: str, *, state: str = "open", since: datetime | None = None,
                    sort: str = "created", direction: str = "desc",
                    labels: list[str] | None = None, assignee: str | None = None,
                    creator: str | None = None,
                    milestone: str | None = None) -> list[dict[str, Any]]:
        """Issues and pull requests of a repository, filtered like ``GET .../issues``."""
        with self.lock:
            self._repo(repo)
            rows = copied(list(self.issues[repo].values()))
        if state != "all":
            rows = [r for r in rows if r["state"] == state]
        if since is not None:
            rows = [r for r in rows if parse_iso(r["updated_at"]) >= since]
        if labels:
            rows = [r for r in rows if set(labels) <= {lb["name"] for lb in r["labels"]}]
        if assignee == "none":
            rows = [r for r in rows if not r["assignees"]]
        elif assignee == "*":
            rows = [r for r in rows if r["assignees"]]
        elif assignee:
            rows = [r for r in rows if assignee in {a["login"] for a in r["assignees"]}]
        if creator:
            rows = [r for r in rows if r["user"]["login"] == creator]
        if milestone == "none":
            rows = [r for r in rows if r["milestone"] is None]
        elif milestone == "*":
            rows = [r for r in rows if r["milestone"] is not None]
        elif milestone:
            rows = [r for r in rows
                    if r["milestone"] and str(r["milestone"]["number"]) == milestone]
        field = {"updated": "updated_at", "comments": "comments"}.get(sort, "created_at")
        return _ordered(rows, lambda r: r[field], direction)

    def search_issues(self, query: SearchQuery, key: str = "updated_at", order: str = "desc",
                      most: int = MAX_RESULTS) -> tuple[int, list[dict[str, Any]]]:
        """How many issues and pull requests of any repository match a search, and copies
        of the first `most` of them, sorted, each with a score."""
        with self.lock:
            rows = query.hits(self.issues)
            first = _ordered(rows, lambda r: r[key], order)[:most]
            return len(rows), [{**row, "score": 1.0} for row in copied(first)]

    def pull(self, repo: str, number: int) -> dict[str, Any]:
        """One pull request with the fields only the single endpoint has."""
        with self.lock:
            self._repo(repo)
            pull = self.pulls[repo].get(number)
            if pull is None:
                raise NotFoundError(f"no pull request {repo}#{number}")
            out = copy.deepcopy(pull)
            out["comments"] = self.issues[repo][number]["comments"]
            return out

    def list_pulls(self, repo: str, *, state: str = "open", head: str | None = None,
                   base: str | None = None, sort: str = "created",
                   direction: str | None = None) -> list[dict[str, Any]]:
        """Pull requests of a repository, filtered and sorted like ``GET .../pulls``."""
        with self.lock:
            self._repo(repo)
            rows = copied([{k: v for k, v in p.items() if k not in PULL_SINGLE_ONLY}
                             for p in self.pulls[repo].values()])
        if state != "all":
            rows = [r for r in rows if r["state"] == state]
        if head:
            # "user:ref" as GitHub documents it; a bare ref is accepted too.
            rows = [r for r in rows if head in (r["head"]["label"], r["head"]["ref"])]
        if base:
            rows = [r for r in rows if r["base"]["ref"] == base]
        direction = direction or ("desc" if sort == "created" else "asc")
        if sort == "long-running":
            # Open the longest and still active: oldest first when descending.
            return _ordered(rows, lambda r: r["created_at"],
                            "asc" if direction == "desc" else "desc")
        field = {"updated": "updated_at"}.get(sort, "created_at")
        return _ordered(rows, lambda r: r[field], direction)

    def requested_reviewers(self, repo: str, number: int) -> dict[str, Any]:
        """``{"users": [...], "teams": [...]}`` for a pull request."""
        pull = self.pull(repo, number)
        return {"users": pull["requested_reviewers"], "teams": pull["requested_teams"]}

    def list_milestones(self, repo: str, *, state: str = "open", sort: str = "due_on",
                        direction: str = "asc") -> list[dict[str, Any]]:
        """Milestones of a repository, like ``GET .../milestones``."""
        with self.lock:
            self._repo(repo)
            rows = copied(list(self.milestones[repo].values()))
        if state != "all":
            rows = [m for m in rows if m["state"] == state]
        if sort == "completeness":
            return _ordered(rows, lambda m: m["closed_issues"] / max(
                1, m["open_issues"] + m["closed_issues"]), direction)
        # Milestones without a due date sort after those with one.
        return _ordered(rows, lambda m: (m["due_on"] is None, m["due_on"] or ""), direction)
