"""The GitHub stand-in's world: an organisation, its people, repositories, labels,
milestones, issues, pull requests and commits, held as GitHub's own JSON objects.

Issues and pull requests share one number sequence per repository, as on GitHub. A pull
request lives twice, like in the API: as an issue (with a ``pull_request`` key, listed by
``/issues``) and as a pull object (``/pulls``); every mutation keeps the shared fields of
the two in step and stamps ``updated_at`` from the injected clock. Deleted issues leave a
tombstone (410 Gone) and transferred issues a forwarding address (301 Moved Permanently).
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox.compact import read_jsonl
from sandbox.github.commits import CommitsMixin
from sandbox.github.payloads import (
    API_PATH,
    iso,
    label_json,
    milestone_json,
    node_id,
    org_json,
    pull_extra_json,
    repo_json,
    sha_for,
    simple_user,
    user_json,
)
from sandbox.github.queries import GoneError, MovedError, NotFoundError, QueriesMixin

__all__ = ["DEFAULT_ORIGIN", "GitHubStore", "GoneError", "MovedError", "NotFoundError"]

#: Where the stored URLs point until the app rewrites them to the address it serves on.
DEFAULT_ORIGIN = "https://github.acme.test"

#: Fields a pull request shares with its issue; copied from the issue on every change.
SHARED = ("number", "state", "locked", "title", "user", "body", "labels", "milestone",
          "active_lock_reason", "created_at", "updated_at", "closed_at", "assignee",
          "assignees", "author_association")

# Label colours GitHub uses for its default labels, reused for labels made on the fly.
_COLOURS = ("d73a4a", "a2eeef", "0075ca", "7057ff", "008672", "e4e669", "d876e3", "b60205")


class GitHubStore(QueriesMixin, CommitsMixin):
    """Organisation, users, repos, labels, milestones, issues, pulls and commits, with
    mutations."""

    def __init__(self, org: str = "acme", *, clock: Callable[[], datetime] | None = None,
                 origin: str = DEFAULT_ORIGIN) -> None:
        self.origin = origin
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        # The app serves from a thread while tests mutate from theirs.
        self.lock = threading.RLock()
        self._first_user: tuple[int, str] = (-1, "")  # (users counted, login of the first)
        self.ids: dict[str, int] = {"user": 0, "repo": 1000, "issue": 0, "pull": 0,
                                    "label": 0, "milestone": 0}
        self.org: dict[str, Any] = org_json(origin, org, 100000, created_at=self._now(),
                                            public_repos=0)
        self.users: dict[str, dict[str, Any]] = {}
        self.members: list[str] = []
        #: token -> login; while empty, any token is accepted as the first user
        self.tokens: dict[str, str] = {}
        self.repos: dict[str, dict[str, Any]] = {}
        self.labels: dict[str, dict[str, dict[str, Any]]] = {}
        self.milestones: dict[str, dict[int, dict[str, Any]]] = {}
        self.issues: dict[str, dict[int, dict[str, Any]]] = {}
        self.pulls: dict[str, dict[int, dict[str, Any]]] = {}
        self.commits: dict[str, dict[str, dict[str, Any]]] = {}
        #: repo -> number -> {"deleted_at"} or {"moved_to": {repo_id, repo, number}}
        self.gone: dict[str, dict[int, dict[str, Any]]] = {}
        self.next_number: dict[str, int] = {}

    # ------------------------------------------------------------ helpers

    def _now(self) -> str:
        return iso(self.clock())

    def _next(self, kind: str) -> int:
        self.ids[kind] += 1
        return self.ids[kind]

    @property
    def api(self) -> str:
        """The stored API root, ``{origin}/api/v3``."""
        return self.origin + API_PATH

    def _label(self, repo: str, name: str) -> dict[str, Any]:
        labels = self.labels[repo]
        if name not in labels:
            # GitHub creates a label that an issue is given but the repository lacks.
            self.create_label(repo, name, color=_COLOURS[len(labels) % len(_COLOURS)])
        return copy.deepcopy(labels[name])

    def _milestone_of(self, repo: str, number: int | None) -> dict[str, Any] | None:
        if number is None:
            return None
        if number not in self.milestones[repo]:
            raise NotFoundError(f"no milestone {repo}/{number}")
        return copy.deepcopy(self.milestones[repo][number])

    def _touch(self, repo: str, number: int) -> dict[str, Any]:
        """Stamp updated_at, copy the shared fields into the pull, recount milestones."""
        issue = self.issues[repo][number]
        issue["updated_at"] = self._now()
        self._recount(repo)
        return copy.deepcopy(issue)

    def _sync_pull(self, repo: str, number: int) -> None:
        pull = self.pulls[repo].get(number)
        if pull is not None:
            issue = self.issues[repo][number]
            pull.update(copy.deepcopy({k: issue[k] for k in SHARED}))
            issue["pull_request"]["merged_at"] = pull["merged_at"]
            issue["draft"] = pull["draft"]

    def _recount(self, repo: str) -> None:
        """Milestone counts and the repo's open_issues_count follow every change."""
        counts = {n: [0, 0] for n in self.milestones[repo]}
        open_count = 0
        for issue in self.issues[repo].values():
            is_open = issue["state"] == "open"
            open_count += is_open
            if issue["milestone"] is not None:
                counts[issue["milestone"]["number"]][0 if is_open else 1] += 1
        for n, (opened, closed) in counts.items():
            self.milestones[repo][n].update(open_issues=opened, closed_issues=closed)
        for number, issue in self.issues[repo].items():
            if issue["milestone"] is not None:
                issue["milestone"] = copy.deepcopy(self.milestones[repo][issue["milestone"]
                                                                        ["number"]])
            self._sync_pull(repo, number)
        self.repos[repo].update(open_issues_count=open_count, open_issues=open_count)

    # ------------------------------------------------------------ people and places

    def add_user(self, login: str, *, name: str | None = None, email: str | None = None,
                 member: bool = True, site_admin: bool = False) -> dict[str, Any]:
        """Add a user (email is their public one, or None) and make them an org member."""
        with self.lock:
            uid = self._next("user")
            self.users[login] = user_json(self.origin, login, uid, name=name, email=email,
                                          created_at=self._now(), site_admin=site_admin)
            if member:
                self.members.append(login)
            return copy.deepcopy(self.users[login])

    def add_token(self, token: str, login: str) -> None:
        """Let `token` authenticate as `login` (once any token is added, others get 401)."""
        with self.lock:
            self._user(login)
            self.tokens[token] = login

    def user_for_token(self, token: str) -> str | None:
        """The login a token authenticates as; None for a bad token."""
        with self.lock:
            if self.tokens:
                return self.tokens.get(token)
            # Asked on every request: found once per number of users, not by a scan of
            # tens of thousands each time.
            if self._first_user[0] != len(self.users):
                first = min(self.users.values(), key=lambda u: u["id"], default=None)
                self._first_user = (len(self.users), first["login"] if first else "")
            return self._first_user[1]

    def create_repo(self, name: str, *, description: str | None = None,
                    private: bool = False, default_branch: str = "main") -> dict[str, Any]:
        """A repository owned by the organisation."""
        with self.lock:
            owner = simple_user(self.origin, self.org["login"], self.org["id"],
                                kind="Organization")
            full = f"{owner['login']}/{name}"
            self.repos[full] = repo_json(self.origin, owner, name, self._next("repo"),
                                         description=description, private=private,
                                         default_branch=default_branch,
                                         created_at=self._now())
            for table in (self.labels, self.milestones, self.issues, self.pulls, self.gone,
                          self.commits):
                table[full] = {}
            self.next_number[full] = 1
            self.org["public_repos"] = len(self.repos)
            return copy.deepcopy(self.repos[full])

    def create_label(self, repo: str, name: str, *, color: str = "ededed",
                     description: str | None = None) -> dict[str, Any]:
        """A label in a repository."""
        with self.lock:
            self._repo(repo)
            self.labels[repo][name] = label_json(self.origin, repo, self._next("label"),
                                                 name, color, description)
            return copy.deepcopy(self.labels[repo][name])

    def create_milestone(self, repo: str, title: str, *, due_on: datetime | None = None,
                         description: str | None = None, state: str = "open",
                         creator: str | None = None) -> dict[str, Any]:
        """A milestone; its number counts from 1 in each repository."""
        with self.lock:
            self._repo(repo)
            number = len(self.milestones[repo]) + 1
            maker = self._user(creator) if creator else self.repos[repo]["owner"]
            self.milestones[repo][number] = milestone_json(
                self.origin, repo, self._next("milestone"), number, title, creator=maker,
                description=description, state=state,
                due_on=iso(due_on) if due_on else None, created_at=self._now())
            return copy.deepcopy(self.milestones[repo][number])

    # ------------------------------------------------------------ issues and pulls

    def create_issue(self, repo: str, title: str, *, user: str, body: str | None = None,
                     assignees: Sequence[str] = (), labels: Sequence[str] = (),
                     milestone: int | None = None) -> dict[str, Any]:
        """Open an issue; returns its JSON."""
        with self.lock:
            return copy.deepcopy(self._new_issue(repo, title, user, body, assignees, labels,
                                                 milestone))

    def _new_issue(self, repo: str, title: str, user: str, body: str | None,
                   assignees: Sequence[str], labels: Sequence[str],
                   milestone: int | None) -> dict[str, Any]:
        self._repo(repo)
        number = self.next_number[repo]
        self.next_number[repo] += 1
        iid, now = self._next("issue"), self._now()
        api = f"{self.api}/repos/{repo}"
        people = [self._user(login) for login in assignees]
        issue = {
            "id": iid, "node_id": node_id("Issue", iid), "url": f"{api}/issues/{number}",
            "repository_url": api, "labels_url": f"{api}/issues/{number}/labels{{/name}}",
            "comments_url": f"{api}/issues/{number}/comments",
            "events_url": f"{api}/issues/{number}/events",
            "timeline_url": f"{api}/issues/{number}/timeline",
            "html_url": f"{self.origin}/{repo}/issues/{number}", "number": number,
            "state": "open", "title": title, "body": body, "user": self._user(user),
            "pinned_comment": None, "labels": [self._label(repo, n) for n in labels],
            "assignee": people[0] if people else None, "assignees": people,
            "milestone": self._milestone_of(repo, milestone), "locked": False,
            "active_lock_reason": None, "comments": 0, "closed_at": None,
            "created_at": now, "updated_at": now, "closed_by": None,
            "author_association": "MEMBER", "state_reason": None,
            "performed_via_github_app": None,
            "reactions": {"url": f"{api}/issues/{number}/reactions", "total_count": 0,
                          "+1": 0, "-1": 0, "laugh": 0, "hooray": 0, "confused": 0,
                          "heart": 0, "rocket": 0, "eyes": 0},
        }
        self.issues[repo][number] = issue
        self._recount(repo)
        return issue

    def create_pull(self, repo: str, title: str, *, user: str, head: str,
                    base: str | None = None, body: str | None = None, draft: bool = False,
                    assignees: Sequence[str] = (), labels: Sequence[str] = (),
                    milestone: int | None = None,
                    reviewers: Sequence[str] = ()) -> dict[str, Any]:
        """Open a pull request from branch `head` into `base` (the default branch)."""
        with self.lock:
            issue = self._new_issue(repo, title, user, body, assignees, labels, milestone)
            number = issue["number"]
            html = f"{self.origin}/{repo}/pull/{number}"
            issue["html_url"] = html
            issue["pull_request"] = {"url": f"{self.api}/repos/{repo}/pulls/{number}",
                                     "html_url": html, "diff_url": f"{html}.diff",
                                     "patch_url": f"{html}.patch", "merged_at": None}
            issue["draft"] = draft
            pull = pull_extra_json(self.origin, self._repo(repo), number, self._next("pull"),
                                   head_ref=head,
                                   base_ref=base or self.repos[repo]["default_branch"],
                                   draft=draft)
            pull["requested_reviewers"] = [self._user(r) for r in reviewers]
            self.pulls[repo][number] = pull
            self._sync_pull(repo, number)
            return copy.deepcopy(self.pulls[repo][number])

    def edit(self, repo: str, number: int, *, title: str | None = None,
             body: str | None = None, labels: Sequence[str] | None = None) -> dict[str, Any]:
        """Change title, body or labels (None leaves a field as it is); returns the issue."""
        with self.lock:
            issue = self._issue(repo, number)
            if title is not None:
                issue["title"] = title
            if body is not None:
                issue["body"] = body
            if labels is not None:
                issue["labels"] = [self._label(repo, n) for n in labels]
            return self._touch(repo, number)

    def reassign(self, repo: str, number: int, assignees: Sequence[str]) -> dict[str, Any]:
        """Replace the assignees (the first one is also `assignee`)."""
        with self.lock:
            issue = self._issue(repo, number)
            people = [self._user(login) for login in assignees]
            issue["assignees"], issue["assignee"] = people, (people[0] if people else None)
            return self._touch(repo, number)

    def close(self, repo: str, number: int, *, state_reason: str = "completed",
              by: str | None = None) -> dict[str, Any]:
        """Close as "completed" or "not_planned" (pull requests close without a reason)."""
        if state_reason not in ("completed", "not_planned"):
            raise ValueError(f"state_reason must be completed or not_planned: {state_reason}")
        with self.lock:
            issue = self._issue(repo, number)
            now = self._now()
            issue.update(state="closed", closed_at=now,
                         closed_by=self._user(by or issue["user"]["login"]),
                         state_reason=None if "pull_request" in issue else state_reason)
            return self._touch(repo, number)

    def reopen(self, repo: str, number: int) -> dict[str, Any]:
        """Reopen; GitHub then reports state_reason "reopened"."""
        with self.lock:
            issue = self._issue(repo, number)
            pull = self.pulls[repo].get(number)
            if pull is not None and pull["merged_at"]:
                raise ValueError("a merged pull request cannot be reopened")
            issue.update(state="open", closed_at=None, closed_by=None,
                         state_reason=None if pull else "reopened")
            return self._touch(repo, number)

    def merge(self, repo: str, number: int, *, by: str | None = None) -> dict[str, Any]:
        """Merge an open pull request (it closes, with merged_at and a merge commit)."""
        with self.lock:
            pull = self.pulls[repo].get(number) if repo in self.pulls else None
            if pull is None or pull["state"] != "open":
                raise NotFoundError(f"no open pull request {repo}#{number}")
            issue = self.issues[repo][number]
            now = self._now()
            merger = self._user(by or issue["user"]["login"])
            pull.update(merged_at=now, merged=True, merged_by=merger, mergeable=None,
                        mergeable_state="unknown",
                        merge_commit_sha=sha_for(repo, number, "merge"))
            issue.update(state="closed", closed_at=now, closed_by=merger)
            self._touch(repo, number)
            return copy.deepcopy(pull)

    def delete(self, repo: str, number: int) -> None:
        """Delete an issue (an admin-only act on GitHub); it then answers 410 GoneError."""
        with self.lock:
            self._issue(repo, number)
            if number in self.pulls[repo]:
                raise ValueError("pull requests cannot be deleted")
            del self.issues[repo][number]
            self.gone[repo][number] = {"deleted_at": self._now()}
            self._recount(repo)

    def transfer(self, repo: str, number: int, to_repo: str) -> dict[str, Any]:
        """Move an issue to another repository; the old number answers 301 from then on."""
        with self.lock:
            issue = self._issue(repo, number)
            target = self._repo(to_repo)
            if number in self.pulls[repo]:
                raise ValueError("pull requests cannot be transferred")
            titles = {m["title"]: n for n, m in self.milestones[to_repo].items()}
            old_milestone = issue["milestone"]
            moved = self._new_issue(
                to_repo, issue["title"], issue["user"]["login"], issue["body"],
                [a["login"] for a in issue["assignees"]], [lb["name"] for lb in issue["labels"]],
                titles.get(old_milestone["title"]) if old_milestone else None)
            # The issue keeps its identity (id, node_id, history) under a new number.
            for key in ("id", "node_id", "created_at", "comments", "state", "closed_at",
                        "closed_by", "state_reason", "locked", "active_lock_reason"):
                moved[key] = issue[key]
            del self.issues[repo][number]
            self.gone[repo][number] = {"moved_to": {"repo_id": target["id"], "repo": to_repo,
                                                    "number": moved["number"]}}
            self._recount(repo)
            return self._touch(to_repo, moved["number"])

    def request_reviewers(self, repo: str, number: int, reviewers: Sequence[str], *,
                          remove: bool = False) -> dict[str, Any]:
        """Add (or with remove=True withdraw) review requests on a pull request."""
        with self.lock:
            pull = self.pulls.get(repo, {}).get(number)
            if pull is None:
                raise NotFoundError(f"no pull request {repo}#{number}")
            current = [r["login"] for r in pull["requested_reviewers"]]
            wanted = ([r for r in current if r not in reviewers] if remove
                      else current + [r for r in reviewers if r not in current])
            pull["requested_reviewers"] = [self._user(r) for r in wanted]
            self._touch(repo, number)
            return copy.deepcopy(pull)

    def set_draft(self, repo: str, number: int, draft: bool) -> dict[str, Any]:
        """Mark a pull request as draft or ready for review."""
        with self.lock:
            pull = self.pulls.get(repo, {}).get(number)
            if pull is None:
                raise NotFoundError(f"no pull request {repo}#{number}")
            pull["draft"] = draft
            self._touch(repo, number)
            return copy.deepcopy(pull)

    def set_milestone(self, repo: str, number: int, milestone: int | None) -> dict[str, Any]:
        """Put an issue or pull request on a milestone (by number), or None to clear it."""
        with self.lock:
            issue = self._issue(repo, number)
            issue["milestone"] = self._milestone_of(repo, milestone)
            return self._touch(repo, number)

    # ------------------------------------------------------------ persistence

    _TABLES = ("labels", "milestones", "issues", "pulls", "gone", "commits")

    def dump(self, folder: Path) -> None:
        """Write the world as JSON Lines files (``github-*.jsonl``) under `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        with self.lock:
            meta = {"origin": self.origin, "org": self.org, "members": self.members,
                    "tokens": self.tokens, "ids": self.ids, "next_number": self.next_number}
            _write(folder / "github-meta.jsonl", [meta])
            _write(folder / "github-users.jsonl", self.users.values())
            _write(folder / "github-repos.jsonl", self.repos.values())
            for table in self._TABLES:
                rows = getattr(self, table)
                _write(folder / f"github-{table}.jsonl",
                       ({"repo": repo, "key": key, "data": data}
                        for repo, items in rows.items() for key, data in items.items()))

    @classmethod
    def load(cls, folder: Path, *, clock: Callable[[], datetime] | None = None) -> GitHubStore:
        """Read what `dump` wrote."""
        meta = _read(folder / "github-meta.jsonl")[0]
        store = cls(meta["org"]["login"], clock=clock, origin=meta["origin"])
        store.org, store.members, store.tokens = meta["org"], meta["members"], meta["tokens"]
        store.ids, store.next_number = meta["ids"], meta["next_number"]
        store.users = {u["login"]: u for u in _read(folder / "github-users.jsonl")}
        store.repos = {r["full_name"]: r for r in _read(folder / "github-repos.jsonl")}
        for table in cls._TABLES:
            rows: dict[str, dict[Any, Any]] = {repo: {} for repo in store.repos}
            path = folder / f"github-{table}.jsonl"
            # Worlds generated before commits existed have no commits file.
            for row in _read(path) if path.exists() or table != "commits" else []:
                # Labels are keyed by name, commits by sha; the rest by number (JSON made
                # it a str).
                key = row["key"] if table in ("labels", "commits") else int(row["key"])
                rows[row["repo"]][key] = row["data"]
            setattr(store, table, rows)
        return store


def _write(path: Path, rows: Iterable[Any]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, sort_keys=True) + "\n")


def _read(path: Path) -> list[Any]:
    return read_jsonl(path)
