"""Who a GitHub login is: the addresses its commits and its public profile state.

GitHub's issue and pull request listings name people by login only. Two places state an
address for a login: a commit (`commit.author.email`, made with an address GitHub
verified as that account's, which is why the listing names the account as `author`),
and the public profile (`GET /users/{login}`, `email` when the user made it public).
`AuthorEmails` learns both, each at most once per login and repository per run, so the
issues stream can put `{login: address}` beside each issue it lands. GitHub's private
``<id>+<login>@users.noreply.github.com`` addresses say nothing about a person and are
ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from connectors.http import json_body

if TYPE_CHECKING:
    # Only a type here: the normalizer imports `is_noreply` from this module, and the
    # client would load PyGithub into every normalization worker (0.2 s each).
    from connectors.github.client import GitHubClient

__all__ = ["AuthorEmails", "commit_author", "is_noreply"]

#: The status GitHub answers a listing of an empty repository's commits with.
EMPTY_REPOSITORY = 409


def is_noreply(address: str) -> bool:
    """True for GitHub's private commit addresses (and the web-flow committer)."""
    address = address.strip().lower()
    domain = address.rpartition("@")[2]
    return domain.startswith("users.noreply.") or address == "noreply@github.com"


def commit_author(row: Any) -> tuple[str, str] | None:
    """(login, address) of a listed commit whose address belongs to an account; None for
    commits by an address of nobody's, or by a private noreply address."""
    if not isinstance(row, dict):
        return None
    account = row.get("author")
    who = (row.get("commit") or {}).get("author") if isinstance(row.get("commit"), dict) else None
    if not isinstance(account, dict) or not account.get("login") or not isinstance(who, dict):
        return None
    address = str(who.get("email") or "").strip()
    if "@" not in address or is_noreply(address):
        return None
    return str(account["login"]), address


class AuthorEmails:
    """login -> address, from commits and public profiles, learned once per run."""

    def __init__(self, client: GitHubClient) -> None:
        self.client = client
        # Keyed by lower-cased login (GitHub logins ignore case); None: asked, no address.
        # Repositories are read in several threads (`repos_at_once`): two may ask after
        # the same profile once each, which costs a request and changes no answer.
        self._known: dict[str, str | None] = {}
        self._repos: set[str] = set()

    def learn(self, rows: Iterable[Any]) -> None:
        """Take the addresses of listed commits (the newest stated address wins)."""
        for row in rows:
            found = commit_author(row)
            if found is not None and self._known.get(found[0].lower()) is None:
                self._known[found[0].lower()] = found[1]

    def of(self, repo: str, logins: Iterable[str], since: str | None) -> dict[str, str]:
        """The known address of each login on an item of `repo`: from the repository's
        commits since `since` (listed once per run), else the public profile."""
        if repo not in self._repos:
            self._repos.add(repo)
            params = {"since": since} if since else {}
            rows, _ = self.client.listing(f"/repos/{repo}/commits", params, None,
                                          empty=(EMPTY_REPOSITORY,))
            self.learn(rows or [])
        out: dict[str, str] = {}
        for login in dict.fromkeys(logins):
            key = login.lower()
            if key not in self._known:
                self._known[key] = self._public(login)
            address = self._known[key]
            if address:
                out[login] = address
        return out

    def _public(self, login: str) -> str | None:
        answer = self.client.get(f"/users/{login}", accept=(200, 404))
        if answer.status_code != 200:
            return None
        body = json_body(answer)
        address = str(body.get("email") or "").strip() if isinstance(body, dict) else ""
        return address if "@" in address and not is_noreply(address) else None
