"""``GET /search/issues``: the few qualifiers a sync uses, with GitHub's limits.

Supported: ``org:``, ``repo:`` (several are OR'd), ``is:issue``/``is:pr`` (also
``type:``), ``updated:>=T``/``>T``/``T..*``, sorted by ``updated`` (or ``created``).
Anything else is a 422, as GitHub answers a query it cannot parse. Results stop at
1,000 (GitHub's cap) and each item carries a ``score``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.github.payloads import iso, parse_iso

__all__ = ["MAX_RESULTS", "SearchQuery", "parse_query"]

#: GitHub serves at most this many results of one search, however it is paged.
MAX_RESULTS = 1000


@dataclass
class SearchQuery:
    """A parsed ``q``."""

    orgs: set[str] = field(default_factory=set)
    repos: set[str] = field(default_factory=set)
    kind: str | None = None  # "issue" or "pr"
    updated_from: str | None = None  # ISO text, "Z" form, compared as text
    inclusive: bool = True

    def in_scope(self, repo: str) -> bool:
        """Whether the repository ("owner/name") is searched at all."""
        owner = repo.split("/", 1)[0].lower()
        if self.orgs and owner not in self.orgs and repo.lower() not in self.repos:
            return False
        return not (self.repos and not self.orgs and repo.lower() not in self.repos)

    def matches_issue(self, issue: dict[str, Any]) -> bool:
        """Whether an issue of a repository in scope is a hit."""
        if self.kind is not None and (self.kind == "pr") != ("pull_request" in issue):
            return False
        if self.updated_from is not None:
            stamp = str(issue["updated_at"])
            return stamp >= self.updated_from if self.inclusive else stamp > self.updated_from
        return True

    def hits(self, issues: dict[str, dict[int, dict[str, Any]]]) -> list[dict[str, Any]]:
        """The matching issues of every repository, as stored (the caller copies what it
        serves: a search that matches 200,000 issues serves 1,000 of them)."""
        return [issue for repo, table in issues.items() if self.in_scope(repo)
                for issue in table.values() if self.matches_issue(issue)]


def _moment(text: str) -> str:
    """An ISO date or time as the store writes its stamps (UTC, seconds, "Z")."""
    return iso(parse_iso(text))


def parse_query(q: str) -> SearchQuery:
    """Parse `q`; ValueError names the part GitHub would not understand."""
    query = SearchQuery()
    for term in q.split():
        name, colon, value = term.partition(":")
        name = name.lower()
        if not colon or not value:
            raise ValueError(f"free text is not searched by this stand-in: {term!r}")
        if name == "org":
            query.orgs.add(value.lower())
        elif name == "repo":
            query.repos.add(value.lower())
        elif name in ("is", "type") and value.lower() in ("issue", "pr", "pull-request"):
            query.kind = "issue" if value.lower() == "issue" else "pr"
        elif name == "updated":
            if value.endswith("..*"):
                query.updated_from = _moment(value[:-3])
            elif value.startswith(">="):
                query.updated_from = _moment(value[2:])
            elif value.startswith(">"):
                query.updated_from, query.inclusive = _moment(value[1:]), False
            else:
                raise ValueError(f"unsupported updated: range {value!r}")
        else:
            raise ValueError(f"unsupported qualifier {name}:")
    if not query.orgs and not query.repos:
        raise ValueError("a search needs org: or repo:")
    return query
