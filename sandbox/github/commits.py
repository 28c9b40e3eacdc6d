"""Commits of the GitHub stand-in: what ``GET /repos/{o}/{r}/commits`` lists.

There is no git behind the stand-in: a commit is its list JSON, kept per repository by
sha. As on GitHub, `commit.author.email` is the address the commit was made with, and
the top-level `author` is the account that address belongs to (null when it belongs to
nobody); people who keep their address private commit with the
``<id>+<login>@users.noreply.github.com`` address GitHub gives them. An empty repository
answers 409 "Git Repository is empty.".
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sandbox.github.payloads import API_PATH, iso, node_id, parse_iso, sha_for, simple_user
from sandbox.github.queries import NotFoundError
from workhub.jsonio import copied

__all__ = ["CommitsMixin", "EmptyRepositoryError", "commit_json", "noreply_address"]


class EmptyRepositoryError(LookupError):
    """The repository has no commits yet (GitHub answers 409)."""


def noreply_address(uid: int, login: str) -> str:
    """The private commit address GitHub gives an account."""
    return f"{uid}+{login}@users.noreply.github.com"


def commit_json(origin: str, repo: str, sha: str, *, name: str, email: str, date: str,
                message: str, account: dict[str, Any] | None,
                parents: list[str]) -> dict[str, Any]:
    """A commit as the commits listing shows it."""
    api = f"{origin}{API_PATH}/repos/{repo}"
    who = {"name": name, "email": email, "date": date}
    return {
        "sha": sha, "node_id": node_id("Commit", int(sha[:8], 16)),
        "commit": {
            "author": dict(who), "committer": dict(who), "message": message,
            "tree": {"sha": sha_for(repo, sha, "tree"),
                     "url": f"{api}/git/trees/{sha_for(repo, sha, 'tree')}"},
            "url": f"{api}/git/commits/{sha}", "comment_count": 0,
            "verification": {"verified": False, "reason": "unsigned", "signature": None,
                             "payload": None, "verified_at": None},
        },
        "url": f"{api}/commits/{sha}", "html_url": f"{origin}/{repo}/commit/{sha}",
        "comments_url": f"{api}/commits/{sha}/comments",
        "author": copy.deepcopy(account), "committer": copy.deepcopy(account),
        "parents": [{"sha": p, "url": f"{api}/commits/{p}",
                     "html_url": f"{origin}/{repo}/commit/{p}"} for p in parents],
    }


class CommitsMixin:
    """Adding and listing commits (mixed into GitHubStore)."""

    lock: threading.RLock
    clock: Callable[[], datetime]
    origin: str
    users: dict[str, dict[str, Any]]
    repos: dict[str, dict[str, Any]]
    #: repo -> sha -> commit JSON, in the order they were made
    commits: dict[str, dict[str, dict[str, Any]]]

    def add_commit(self, repo: str, message: str, *, email: str, when: datetime,
                   login: str | None = None, name: str | None = None) -> dict[str, Any]:
        """Record a commit made with `email`; it belongs to `login`'s account, if given
        (its owner's private noreply address when `email` is "noreply")."""
        with self.lock:
            if repo not in self.repos:
                raise NotFoundError(f"no repository {repo}")
            account = None
            if login is not None:
                user = self.users.get(login)
                if user is None:
                    raise NotFoundError(f"no user {login}")
                account = simple_user(self.origin, login, user["id"],
                                      site_admin=user["site_admin"])
                if email == "noreply":
                    email = noreply_address(user["id"], login)
                name = name or user.get("name") or login
            table = self.commits.setdefault(repo, {})
            parents = list(table)[-1:]
            sha = sha_for(repo, len(table), email, iso(when), message)
            table[sha] = commit_json(self.origin, repo, sha, name=name or email,
                                     email=email, date=iso(when), message=message,
                                     account=account, parents=parents)
            # A commit reaches GitHub by a push, which is what `pushed_at` tells.
            self.repos[repo]["pushed_at"] = iso(self.clock())
            return copy.deepcopy(table[sha])

    def list_commits(self, repo: str, *, since: datetime | None = None,
                     until: datetime | None = None,
                     author: str | None = None) -> list[dict[str, Any]]:
        """Commits of a repository, newest first, filtered like ``GET .../commits``
        (`author` is a login or an address)."""
        with self.lock:
            if repo not in self.repos:
                raise NotFoundError(f"no repository {repo}")
            rows = copied(list(self.commits.get(repo, {}).values()))
            order = {sha: n for n, sha in enumerate(self.commits.get(repo, {}))}
        if not rows:
            raise EmptyRepositoryError(repo)

        def when(row: dict[str, Any]) -> datetime:
            return parse_iso(row["commit"]["committer"]["date"])

        if since is not None:
            rows = [r for r in rows if when(r) >= since]
        if until is not None:
            rows = [r for r in rows if when(r) <= until]
        if author:
            wanted = author.lower()
            rows = [r for r in rows if wanted in (
                str((r["author"] or {}).get("login", "")).lower(),
                r["commit"]["author"]["email"].lower())]
        # Newest first; ties keep the later-made commit first, as git log does.
        return sorted(rows, key=lambda r: (when(r), order[r["sha"]]), reverse=True)
