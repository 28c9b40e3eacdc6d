"""The floor for ingest: fetch the same pages with plain httpx and parse them, nothing else.

Whatever the sync does beyond this (client libraries, hashing, storing, normalizing) is
its overhead; the benchmark reports the sync's time as a multiple of this floor.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import httpx

__all__ = ["Floor", "measure_floor"]

AUTH = ("sync@example.com", "sandbox")


@dataclass
class Floor:
    """Records fetched, requests made and seconds taken by plain fetching and parsing."""

    records: int = 0
    requests: int = 0
    seconds: float = 0.0


def _jira(client: httpx.Client, base: str, floor: Floor) -> None:
    token: str | None = None
    for _ in range(1_000_000):
        params: dict[str, str | int] = {
            "jql": "ORDER BY updated ASC",
            "maxResults": 100,
            "fields": "*all",
        }
        if token:
            params["nextPageToken"] = token
        body = json.loads(
            client.get(f"{base}/rest/api/2/search/jql", params=params, auth=AUTH).content
        )
        floor.requests += 1
        floor.records += len(body.get("issues", []))
        token = body.get("nextPageToken")
        if body.get("isLast") or not token:
            return


def _linked(
    client: httpx.Client, url: str | None, floor: Floor, headers: dict[str, str]
) -> list[dict[str, object]]:
    """Every row of a GitHub listing paged by its Link header."""
    rows: list[dict[str, object]] = []
    while url:  # the floor is deliberately the plainest loop there is
        response = client.get(url, headers=headers)
        floor.requests += 1
        rows += json.loads(response.content)
        url = response.links.get("next", {}).get("url")
    return rows


def _github(client: httpx.Client, base: str, org: str, floor: Floor) -> None:
    headers = {"Authorization": "token sandbox"}
    repos = _linked(client, f"{base}/orgs/{org}/repos?per_page=100", floor, headers)
    for repo in repos:
        prefix = f"{base}/repos/{org}/{repo['name']}"
        floor.records += len(
            _linked(client, f"{prefix}/issues?state=all&per_page=100", floor, headers)
        )
        # A pull request's reviewers and branches are only in the pulls listing, which the
        # sync reads beside the issues; its rows are parts of the issues counted above.
        _linked(client, f"{prefix}/pulls?state=all&per_page=100", floor, headers)
        floor.records += len(
            _linked(client, f"{prefix}/milestones?state=all&per_page=100", floor, headers)
        )
        floor.records += len(_linked(client, f"{prefix}/commits?per_page=100", floor, headers))


def _confluence(client: httpx.Client, base: str, floor: Floor) -> None:
    for kind in ("pages", "tasks"):
        url: str | None = f"{base}/wiki/api/v2/{kind}?limit=100"
        while url:
            body = json.loads(client.get(url, auth=AUTH).content)
            floor.requests += 1
            floor.records += len(body.get("results", []))
            nxt = body.get("_links", {}).get("next")
            url = base + nxt if nxt else None


def measure_floor(urls: dict[str, str], org: str) -> Floor:
    """Fetch and parse every Jira issue, GitHub issue, pull request, milestone and commit,
    and Confluence page and task once: the resources the sync reads, a page at a time."""
    floor = Floor()
    started = time.perf_counter()
    with httpx.Client(timeout=60) as client:
        _jira(client, urls["jira_base"], floor)
        _github(client, urls["github"], org, floor)
        _confluence(client, urls["confluence_base"], floor)
    floor.seconds = time.perf_counter() - started
    return floor
