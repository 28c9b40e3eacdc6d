"""Which repositories changed since a moment: one conditional search across them all.

An incremental sync of a large organisation would otherwise ask every repository's
listing (a 304 each when nothing changed: one request per repository and stream). The
issue search (`GET /search/issues?q=org:acme updated:>=T`) names every issue and pull
request updated since T in one request; only their repositories are then read.

Newest first, so any change puts an item at the top of page 1: a 304 to page 1 asked
with last run's ETag means nothing changed. GitHub serves at most 1,000 results of a
search; beyond that (or when it says `incomplete_results`) the answer is None and the
caller reads every repository, as it would without the search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from connectors.github.client import GitHubClient
from connectors.http import json_body
from connectors.paging import LinkHeaderPaginator, paginate

__all__ = ["SEARCH_CAP", "ChangedRepos", "changed_repositories", "newest_update", "repo_of",
           "search_scope"]

#: GitHub answers at most this many results of one search.
SEARCH_CAP = 1000
#: A search query longer than this is refused by GitHub.
_MAX_QUERY = 256


def repo_of(issue: dict[str, Any]) -> str:
    """"owner/name" of the repository an issue object belongs to."""
    return str(issue.get("repository_url", "")).rsplit("/repos/", 1)[-1]


def search_scope(org: str | None, repos: list[str]) -> str | None:
    """The qualifiers naming what a source syncs, or None when they cannot be searched."""
    scope = " ".join(f"repo:{r}" for r in repos) if repos else (f"org:{org}" if org else "")
    return scope if scope and len(scope) < _MAX_QUERY - 40 else None


@dataclass
class ChangedRepos:
    """What a search found: repositories ("owner/name", lower case) with changes."""

    #: None: too many results to rely on; read every repository
    names: set[str] | None = field(default_factory=set)
    #: the newest `updated_at` among the results
    newest: str | None = None
    #: ETag of page 1, for the next run's conditional ask of the same query
    etag: str | None = None


def changed_repositories(client: GitHubClient, scope: str, since: str,
                         etag: str | None) -> ChangedRepos:
    """The repositories with an issue or pull request updated at or after `since`."""
    query = {"q": f"{scope} updated:>={since}", "sort": "updated", "order": "desc",
             "per_page": client.per_page}
    found = ChangedRepos(etag=etag)

    def fetch(url: str | None) -> httpx.Response:
        if url is None:
            return client.get("/search/issues", query, etag=etag)
        return client.get(url)  # the Link header's next page carries the query

    for number, response in enumerate(paginate(fetch, LinkHeaderPaginator()), 1):
        if response.status_code == 304:
            return found  # page 1 as last time: nothing changed
        body = json_body(response)
        if number == 1:
            found.etag = response.headers.get("etag")
            if body.get("incomplete_results") or int(body.get("total_count") or 0) > SEARCH_CAP:
                return ChangedRepos(names=None)
        assert found.names is not None
        for item in body.get("items") or []:
            if isinstance(item, dict):
                found.names.add(repo_of(item).lower())
                stamp = item.get("updated_at")
                if isinstance(stamp, str) and (found.newest is None or stamp > found.newest):
                    found.newest = stamp
    return found


def newest_update(client: GitHubClient, scope: str) -> str | None:
    """The `updated_at` of the most recently changed issue or pull request in scope:
    the watermark a full run leaves for the next run's search (asked before reading)."""
    response = client.get("/search/issues", {"q": scope, "sort": "updated", "order": "desc",
                                             "per_page": 1})
    items = json_body(response).get("items") or []
    stamp = items[0].get("updated_at") if items and isinstance(items[0], dict) else None
    return stamp if isinstance(stamp, str) else None
