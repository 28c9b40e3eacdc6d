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


def _jira(client: httpx.Client, base: str, projects: list[str], floor: Floor) -> None:
    token: str | None = None
    jql = f"project in ({', '.join(projects)}) ORDER BY updated ASC"
    for _ in range(1_000_000):
        params: dict[str, str | int] = {"jql": jql, "maxResults": 100, "fields": "*all"}
        if token:
            params["nextPageToken"] = token
        body = json.loads(client.get(f"{base}/rest/api/2/search/jql", params=params,
                                     auth=AUTH).content)
        floor.requests += 1
        floor.records += len(body.get("issues", []))
        token = body.get("nextPageToken")
        if body.get("isLast") or not token:
            return


def _github(client: httpx.Client, base: str, org: str, floor: Floor) -> None:
    headers = {"Authorization": "token sandbox"}
    repos = json.loads(client.get(f"{base}/orgs/{org}/repos", params={"per_page": 100},
                                  headers=headers).content)
    floor.requests += 1
    for repo in repos:
        url: str | None = f"{base}/repos/{org}/{repo['name']}/issues?state=all&per_page=100"
        while url:  # the floor is deliberately the plainest loop there is
            response = client.get(url, headers=headers)
            floor.requests += 1
            floor.records += len(json.loads(response.content))
            url = response.links.get("next", {}).get("url")


def _confluence(client: httpx.Client, base: str, floor: Floor) -> None:
    url: str | None = f"{base}/wiki/api/v2/pages?limit=250"
    while url:
        body = json.loads(client.get(url, auth=AUTH).content)
        floor.requests += 1
        floor.records += len(body.get("results", []))
        nxt = body.get("_links", {}).get("next")
        url = base + nxt if nxt else None


def measure_floor(urls: dict[str, str], projects: list[str], org: str) -> Floor:
    """Fetch and parse every Jira issue, GitHub issue and Confluence page once."""
    floor = Floor()
    started = time.perf_counter()
    with httpx.Client(timeout=60) as client:
        _jira(client, urls["jira_base"], projects, floor)
        _github(client, urls["github"], org, floor)
        _confluence(client, urls["confluence_base"], floor)
    floor.seconds = time.perf_counter() - started
    return floor
