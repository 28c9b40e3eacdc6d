"""The Confluence Cloud v2 stand-in, driven with httpx (what workhub's Confluence
connector uses) over a real loopback server, and checked against Atlassian's OpenAPI
description of the v2 pages, spaces, versions and tasks endpoints."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from conftest import FIXTURES, NOW
from sandbox.confluence import ConfluenceStore, create_app, populate
from sandbox.confluence.store import format_time
from sandbox.faults import FaultPlan, RateBudget
from sandbox.org import Organisation, generate_org
from sandbox.serve import serving
from shapes import assert_same_shape

SPEC_PATH = FIXTURES / "confluence" / "openapi-v2" / "confluence-v2-pages-tasks.openapi.json"
API = "/wiki/api/v2"
AUTH = ("dev@example.com", "api-token-0001")


class Clock:
    """A settable clock: tests move time on explicitly, never read the wall clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def tick(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class Swap:
    """One loopback server for the module whose app each test replaces (fast)."""

    app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


@dataclass
class World:
    """What a test gets: the seeded store, its clock, the org and a client on the app."""

    store: ConfluenceStore
    clock: Clock
    org: Organisation
    client: httpx.Client
    swap: Swap

    def get(self, path: str, **params: Any) -> httpx.Response:
        """GET an API path (relative to /wiki/api/v2) with query parameters."""
        return self.client.get(f"{API}{path}", params=params)

    def sandbox(self, path: str, **data: Any) -> httpx.Response:
        """POST a mutation to the stand-in's /_sandbox/confluence API; must succeed."""
        response = self.client.post(f"/_sandbox/confluence{path}", json=data)
        assert response.status_code == 200, response.text
        return response


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Swap, str]]:
    """A loopback server for the whole module, serving whatever `Swap.app` is."""
    swap = Swap()
    with serving(swap) as url:
        yield swap, url


@pytest.fixture(scope="module")
def org() -> Organisation:
    """A small organisation (fewer people keep the seeded world quick to build)."""
    return generate_org(people=40, seed=7)


def seeded(org: Organisation, seed: int = 11) -> tuple[ConfluenceStore, Clock]:
    """A store populated for `org` at NOW, with its settable clock."""
    clock = Clock(NOW)
    store = ConfluenceStore(clock=clock)
    populate(store, org, random.Random(seed), NOW)
    return store, clock


@pytest.fixture
def world(server: tuple[Swap, str], org: Organisation) -> Iterator[World]:
    """A freshly seeded world served on the module's server."""
    swap, url = server
    store, clock = seeded(org)
    swap.app = create_app(store)
    with httpx.Client(base_url=url, auth=AUTH, timeout=10) as client:
        yield World(store, clock, org, client, swap)


def walk(world: World, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every result of a listing, following `_links.next` like a connector would."""
    results: list[dict[str, Any]] = []
    response = world.get(path, **params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        results += body["results"]
        next_url = body["_links"].get("next")
        # The Link header and the body agree on the next page.
        assert response.links.get("next", {}).get("url") == next_url
        if not next_url:
            return results
        assert next_url.startswith(f"{API}/")
        response = world.client.get(next_url)


def biggest_space(world: World) -> str:
    """The id of the space with the most pages."""
    counts = {s: sum(1 for p in world.store.pages.values() if p["spaceId"] == s)
              for s in world.store.spaces}
    return max(counts, key=lambda s: (counts[s], s))


def ms(moment: datetime) -> int:
    """Epoch milliseconds, the unit of the /tasks date filters."""
    return int(moment.timestamp() * 1000)


# ---------------------------------------------------------------- paging and sorting


def test_paging_through_a_space_ends_exactly_without_duplicates(world: World) -> None:
    space = biggest_space(world)
    expected = sorted((p["id"] for p in world.store.pages.values() if p["spaceId"] == space),
                      key=int)
    total = len(expected)
    divisor = next((d for d in range(5, 1, -1) if total % d == 0), 1)
    for limit in (1, 3, divisor, total - 1, total, 250):
        ids = [p["id"] for p in walk(world, f"/spaces/{space}/pages", limit=limit)]
        assert ids == expected, limit
    # When the last page is full there is no trailing empty page: the last response
    # carrying results has no next link.
    last = world.get(f"/spaces/{space}/pages", limit=total).json()
    assert len(last["results"]) == total and "next" not in last["_links"]
    assert last["_links"]["base"].endswith("/wiki")
    # The /pages listing with space-id gives the same set.
    assert [p["id"] for p in walk(world, "/pages", **{"space-id": space, "limit": 4})] == expected


def test_minus_modified_date_is_stable_and_ties_go_by_id(world: World) -> None:
    # Three pages saved in the same millisecond: the tie must not split or repeat them.
    clock = world.clock.tick(hours=1)
    picked = sorted(list(world.store.pages)[5:8], key=int)
    for page_id in picked:
        world.sandbox(f"/pages/{page_id}/edit", authorId=world.org.people[1].jira_account_id,
                      body="<p>same instant</p>")
    first = walk(world, "/pages", sort="-modified-date", limit=1)
    second = walk(world, "/pages", sort="-modified-date", limit=7)
    assert [p["id"] for p in first] == [p["id"] for p in second]
    assert len({p["id"] for p in first}) == len(first)
    current = [p for p in world.store.pages.values() if p["status"] == "current"]
    assert len(first) == len(current)
    keys = [(p["version"]["createdAt"], int(p["id"])) for p in first]
    assert keys == sorted(keys, reverse=True)
    assert [p["id"] for p in first[:3]] == sorted(picked, key=int, reverse=True)
    assert {p["version"]["createdAt"] for p in first[:3]} == {format_time(clock)}
    # Ascending is the exact reverse.
    ascending = walk(world, "/pages", sort="modified-date", limit=50)
    assert [p["id"] for p in ascending] == [p["id"] for p in reversed(first)]


def test_other_sorts_and_filters(world: World) -> None:
    titles = [p["title"] for p in walk(world, "/pages", sort="title", limit=30)]
    assert titles == sorted(titles)
    ids = [int(p["id"]) for p in walk(world, "/pages", sort="-id", limit=40)]
    assert ids == sorted(ids, reverse=True)
    some = next(iter(world.store.pages.values()))
    by_title = world.get("/pages", title=some["title"]).json()["results"]
    assert [p["id"] for p in by_title] == [some["id"]]
    spaces = world.get("/spaces", keys="PLAT,PAYM").json()["results"]
    assert sorted(s["key"] for s in spaces) == ["PAYM", "PLAT"]
    roots = world.get(f"/spaces/{some['spaceId']}/pages", depth="root").json()["results"]
    assert [p["id"] for p in roots] == [world.store.spaces[some["spaceId"]]["homepageId"]]


def test_tasks_filter_by_assignee_status_and_due_date(world: World) -> None:
    tasks = list(world.store.tasks.values())
    now = format_time(NOW)
    overdue = [t for t in tasks if t["status"] == "incomplete" and t["dueAt"] < now]
    assert overdue, "the seed has overdue tasks"
    person = max({t["assignedTo"] for t in overdue},
                 key=lambda a: sum(1 for t in tasks if t["assignedTo"] == a))
    params = {"assigned-to": person, "status": "incomplete", "due-at-to": ms(NOW),
              "limit": 2}
    got = walk(world, "/tasks", **params)
    expected = sorted((t["id"] for t in overdue if t["assignedTo"] == person), key=int)
    assert [t["id"] for t in got] == expected
    for task in got:
        assert task["assignedTo"] == person and task["status"] == "incomplete"
        assert task["dueAt"] <= now and task["completedAt"] is None
    # Bounds are inclusive, in epoch milliseconds; lists take commas.
    due = datetime.fromisoformat(got[0]["dueAt"].replace("Z", "+00:00"))
    exact = walk(world, "/tasks", **{"due-at-from": ms(due), "due-at-to": ms(due),
                                     "assigned-to": f"{person},nobody"})
    assert got[0]["id"] in {t["id"] for t in exact}
    assert all(t["dueAt"] == got[0]["dueAt"] for t in exact)
    done = walk(world, "/tasks", status="complete", **{"completed-at-to": ms(NOW)})
    assert done and all(t["completedBy"] and t["completedAt"] <= now for t in done)
    page_id = got[0]["pageId"]
    on_page = walk(world, "/tasks", **{"page-id": page_id, "body-format": "storage"})
    assert {t["pageId"] for t in on_page} == {page_id}
    assert all("<ac:link>" in t["body"]["storage"]["value"] for t in on_page)


def test_versions_list(world: World) -> None:
    page = max(world.store.pages.values(), key=lambda p: (p["version"]["number"], p["id"]))
    count = page["version"]["number"]
    assert count >= 3
    newest_first = walk(world, f"/pages/{page['id']}/versions", limit=2)
    assert [v["number"] for v in newest_first] == list(range(count, 0, -1))
    oldest_first = walk(world, f"/pages/{page['id']}/versions", sort="modified-date")
    assert [v["number"] for v in oldest_first] == list(range(1, count + 1))
    assert [v["authorId"] for v in oldest_first] == [
        v["authorId"] for v in world.store.versions[page["id"]]]
    assert len({v["authorId"] for v in oldest_first}) > 1
    with_body = world.get(f"/pages/{page['id']}/versions", **{"body-format": "storage"})
    assert with_body.json()["results"][0]["page"]["body"]["storage"]["value"]
    first = world.get(f"/pages/{page['id']}", version=1).json()
    assert first["version"]["number"] == 1


# ---------------------------------------------------------------- mutations


def test_edit_page_bumps_version_and_moves_to_the_front(world: World) -> None:
    listing = walk(world, "/pages", sort="-modified-date", limit=100)
    oldest = listing[-1]
    editor = world.org.people[3].jira_account_id
    world.clock.tick(minutes=5)
    world.sandbox(f"/pages/{oldest['id']}/edit", authorId=editor,
                  body="<p>Updated for PLAT-42</p>", message="Refresh")
    front = world.get("/pages", sort="-modified-date", limit=1).json()["results"][0]
    assert front["id"] == oldest["id"]
    assert front["version"]["number"] == oldest["version"]["number"] + 1
    assert front["version"]["authorId"] == editor
    assert front["version"]["createdAt"] == format_time(world.clock.now)
    page = world.get(f"/pages/{oldest['id']}", **{"body-format": "storage"}).json()
    assert page["body"]["storage"]["value"].startswith("<p>Updated for PLAT-42</p>")
    versions = world.get(f"/pages/{oldest['id']}/versions").json()["results"]
    assert versions[0]["number"] == front["version"]["number"]
    assert versions[0]["message"] == "Refresh"


def test_complete_task_shows_up_without_a_new_version(world: World) -> None:
    task = next(t for t in world.store.tasks.values() if t["status"] == "incomplete")
    version = world.store.pages[task["pageId"]]["version"]["number"]
    world.clock.tick(minutes=1)
    world.sandbox(f"/tasks/{task['id']}/complete", by=task["assignedTo"])
    got = world.get("/tasks", **{"task-id": task["id"]}).json()["results"][0]
    assert got["status"] == "complete"
    assert got["completedBy"] == task["assignedTo"]
    assert got["completedAt"] == got["updatedAt"] == format_time(world.clock.now)
    page = world.get(f"/pages/{task['pageId']}", **{"body-format": "storage"}).json()
    assert page["version"]["number"] == version
    body = page["body"]["storage"]["value"]
    assert (f"<ac:task-id>{task['localId']}</ac:task-id>"
            "<ac:task-status>complete</ac:task-status>") in body
    world.sandbox(f"/tasks/{task['id']}/reopen")
    assert world.get(f"/tasks/{task['id']}").json()["completedAt"] is None


def test_create_reassign_and_reschedule_tasks_edit_the_page(world: World) -> None:
    page = next(p for p in world.store.pages.values() if p["title"].endswith(" sync"))
    number = page["version"]["number"]
    people = [p.jira_account_id for p in world.org.people[:3]]
    created = world.sandbox("/tasks", pageId=page["id"], text="Ship it",
                            createdBy=people[0], assignedTo=people[1],
                            dueAt="2026-12-09T00:00:00.000Z").json()
    assert created["status"] == "incomplete" and created["dueAt"] == "2026-12-09T00:00:00.000Z"
    world.sandbox(f"/tasks/{created['id']}/assign", assignedTo=people[2], by=people[0])
    world.sandbox(f"/tasks/{created['id']}/due", dueAt="2026-12-16T00:00:00.000Z",
                  by=people[0])
    got = world.get(f"/tasks/{created['id']}", **{"body-format": "storage"}).json()
    assert got["assignedTo"] == people[2] and got["dueAt"] == "2026-12-16T00:00:00.000Z"
    assert people[2] in got["body"]["storage"]["value"]
    assert world.get(f"/pages/{page['id']}").json()["version"]["number"] == number + 3


def test_move_page(world: World) -> None:
    space = biggest_space(world)
    pages = [p for p in world.store.pages.values()
             if p["spaceId"] == space and p["parentId"] is not None]
    page, target = pages[-1], pages[0]
    world.sandbox(f"/pages/{page['id']}/move", parentId=target["id"],
                  authorId=world.org.people[2].jira_account_id)
    got = world.get(f"/pages/{page['id']}").json()
    assert got["parentId"] == target["id"]
    assert got["version"]["message"] == "Moved page"
    other = next(s for s in world.store.spaces if s != space)
    world.sandbox(f"/pages/{page['id']}/move", spaceId=other,
                  authorId=world.org.people[2].jira_account_id)
    assert page["id"] in {p["id"] for p in walk(world, f"/spaces/{other}/pages", limit=50)}
    assert world.get(f"/pages/{page['id']}").json()["_links"]["webui"].startswith(
        f"/spaces/{world.store.spaces[other]['key']}/pages/")


def test_delete_page_is_404_and_leaves_the_listing(world: World) -> None:
    task = next(iter(world.store.tasks.values()))
    page_id = task["pageId"]
    space = world.store.pages[page_id]["spaceId"]
    world.sandbox(f"/pages/{page_id}/delete")
    missing = world.get(f"/pages/{page_id}")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "NOT_FOUND"
    assert page_id not in {p["id"] for p in walk(world, f"/spaces/{space}/pages", limit=50)}
    trashed = walk(world, f"/spaces/{space}/pages", status="trashed")
    assert [p["id"] for p in trashed] == [page_id]
    assert trashed[0]["status"] == "trashed"
    assert world.get(f"/pages/{page_id}", status="trashed").status_code == 200
    assert world.get("/tasks", **{"page-id": page_id}).json()["results"] == []
    # Purged for good: only a `deleted` status filter still names it.
    assert world.client.delete(f"{API}/pages/{page_id}", params={"purge": "true"}
                               ).status_code == 204
    assert world.get(f"/pages/{page_id}", status="trashed").status_code == 404
    assert [p["id"] for p in walk(world, "/pages", status="deleted")] == [page_id]


# ---------------------------------------------------------------- auth, errors, faults


def test_basic_auth_is_required(world: World, server: tuple[Swap, str]) -> None:
    url = server[1]
    anonymous = httpx.get(f"{url}{API}/pages")
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0] == {"status": 401, "code": "UNAUTHORIZED",
                                             "title": "Unauthorized",
                                             "detail": anonymous.json()["errors"][0]["detail"]}
    assert httpx.get(f"{url}{API}/pages", headers={"Authorization": "Bearer x"}
                     ).status_code == 401
    world.store.api_tokens = {"dev@example.com": "right"}
    assert httpx.get(f"{url}{API}/spaces", auth=("dev@example.com", "wrong")).status_code == 401
    assert httpx.get(f"{url}{API}/spaces", auth=("dev@example.com", "right")).status_code == 200


def test_bad_requests_use_confluence_errors(world: World) -> None:
    for params in ({"sort": "colour"}, {"limit": "0"}, {"status": "gone"},
                   {"cursor": "not-a-cursor"}, {"space-id": "abc"}):
        response = world.get("/pages", **params)
        assert response.status_code == 400, params
        error = response.json()["errors"][0]
        assert error["status"] == 400 and error["code"] and error["title"]
    # A cursor only works with the order it was made for.
    next_url = world.get("/pages", sort="title", limit=1).json()["_links"]["next"]
    cursor = httpx.URL(next_url).params["cursor"]
    assert world.get("/pages", sort="-id", cursor=cursor).status_code == 400
    assert len(world.get("/pages", limit=1000).json()["results"]) <= 250
    assert world.get("/nowhere").json()["errors"][0]["status"] == 404


def test_faults_are_deterministic_for_a_seed(world: World) -> None:
    def run(seed: int) -> list[tuple[int, str | None]]:
        store, _ = seeded(world.org)
        world.swap.app = create_app(store, FaultPlan(seed=seed, server_errors=0.25,
                                                     rate_limits=0.25, retry_after_seconds=3))
        seen = []
        for n in range(30):
            response = world.get("/pages", limit=1 + n % 3)
            seen.append((response.status_code, response.headers.get("retry-after")))
            if response.status_code >= 400:
                error = response.json()["errors"][0]
                assert error["status"] == response.status_code
        # The sandbox's own mutation API never faults.
        for _ in range(5):
            world.sandbox(f"/pages/{next(iter(store.pages))}/owner",
                          ownerId=world.org.people[0].jira_account_id)
        return seen

    first, again, other = run(5), run(5), run(6)
    assert first == again
    assert first != other
    codes = {code for code, _ in first}
    assert {200, 429, 500} <= codes
    assert all(retry == "3" for code, retry in first if code == 429)


def test_rate_budget_gives_429_with_atlassian_headers(world: World) -> None:
    budget = RateBudget(limit=3, window_seconds=60, clock=lambda: NOW.timestamp())
    world.swap.app = create_app(world.store, FaultPlan(budget=budget))
    answers = [world.get("/spaces") for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in answers] == ["2", "1", "0", "0"]
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert answers[-1].json()["errors"][0]["code"] == "TOO_MANY_REQUESTS"


# ---------------------------------------------------------------- store and seed


def test_dump_and_load_round_trip(world: World, tmp_path: Path) -> None:
    world.store.dump(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "pages.jsonl", "spaces.jsonl", "tasks.jsonl", "versions.jsonl"]
    loaded = ConfluenceStore.load(tmp_path, clock=world.clock)
    for name in ("spaces", "pages", "versions", "tasks"):
        assert getattr(loaded, name) == getattr(world.store, name), name
    # New ids carry on after the loaded ones.
    space = next(iter(loaded.spaces))
    page = loaded.create_page(space, "After load", "<p>x</p>", "someone")
    assert int(page["id"]) > max(int(i) for i in world.store.pages)


def test_seed_is_deterministic_and_realistic(world: World) -> None:
    again, _ = seeded(world.org)
    assert again.pages == world.store.pages and again.tasks == world.store.tasks
    store, org = world.store, world.org
    assert sorted(s["key"] for s in store.spaces.values()) == sorted(
        t.jira_project for t in org.teams)
    for space in store.spaces.values():
        team = next(t for t in org.teams if t.jira_project == space["key"])
        members = {org.person(m).jira_account_id for m in team.members}
        pages = [p for p in store.pages.values()
                 if p["spaceId"] == space["id"] and p["id"] != space["homepageId"]]
        assert 10 <= len(pages) <= 20
        assert {v["authorId"] for p in pages for v in store.versions[p["id"]]} <= members
        mentions = re.compile(rf"\b{space['key']}-\d+\b")
        assert any(mentions.search(p["title"]) for p in pages)
        assert all(mentions.search(p["body"]["storage"]["value"]) for p in pages
                   if not p["title"].startswith(space["name"]))
        assert any(p["version"]["number"] > 2 for p in pages)
    tasks = list(store.tasks.values())
    now = format_time(NOW)
    assert any(t["status"] == "complete" for t in tasks)
    assert any(t["status"] == "incomplete" and t["dueAt"] < now for t in tasks)
    assert any(t["status"] == "incomplete" and t["dueAt"] > now for t in tasks)
    assert all(t["updatedAt"] <= now and t["createdAt"] <= now for t in tasks)
    assert any(p["ownerId"] != p["authorId"] for p in store.pages.values())


# ---------------------------------------------------------------- conformance


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    """Atlassian's OpenAPI description of the endpoints the stand-in serves."""
    return json.loads(SPEC_PATH.read_text())


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow `$ref`s and merge `allOf` parts (properties merged recursively)."""
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if "allOf" not in schema:
        return schema
    merged: dict[str, Any] = {"type": "object", "properties": {}}
    for part in schema["allOf"]:
        part = resolve(spec, part)
        for name, prop in part.get("properties", {}).items():
            if name in merged["properties"]:
                prop = resolve(spec, {"allOf": [merged["properties"][name], prop]})
            merged["properties"][name] = prop
    return merged


JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list,
    "object": dict}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def schema_differences(spec: dict[str, Any], value: Any, schema: dict[str, Any],
                       path: str = "$") -> list[str]:
    """Where `value` has a key the schema does not declare, or another type or enum.

    Nulls pass (as in tests/shapes.py: Confluence sends null for absent optionals).
    """
    schema = resolve(spec, schema)
    if value is None:
        return []
    kind = schema.get("type") or ("object" if "properties" in schema else None)
    if kind is not None:
        expected = JSON_TYPES[kind]
        if not isinstance(value, expected) or (kind != "boolean" and isinstance(value, bool)):
            return [f"{path}: {type(value).__name__} where the schema has {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} not in {schema['enum']}"]
    if schema.get("format") == "date-time" and not TIMESTAMP.match(value):
        return [f"{path}: {value!r} is not YYYY-MM-DDTHH:mm:ss.sssZ"]
    out: list[str] = []
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            if key not in schema["properties"]:
                out.append(f"{path}.{key}: not in the schema")
            else:
                out += schema_differences(spec, item, schema["properties"][key],
                                          f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for n, item in enumerate(value):
            out += schema_differences(spec, item, schema["items"], f"{path}[{n}]")
    return out


def examples(content: dict[str, Any]) -> list[Any]:
    """The published examples of a response body, if the description has any."""
    found = [content["example"]] if "example" in content else []
    return found + [e["value"] for e in content.get("examples", {}).values() if "value" in e]


#: The fields the brief (and workhub's connector) relies on, per result kind.
REQUIRED = {
    "page": {"id", "status", "title", "spaceId", "parentId", "authorId", "ownerId",
             "lastOwnerId", "createdAt", "version", "body", "_links"},
    "space": {"id", "key", "name", "type", "status", "homepageId", "_links"},
    "version": {"number", "message", "minorEdit", "authorId", "createdAt"},
    "task": {"id", "localId", "spaceId", "pageId", "blogPostId", "status", "body",
             "createdBy", "assignedTo", "completedBy", "createdAt", "updatedAt", "dueAt",
             "completedAt"},
}


@pytest.mark.parametrize(("route", "kind", "params"), [
    ("/pages", "page", {"body-format": "storage", "limit": 3}),
    ("/pages/{page}", "page", {"body-format": "storage"}),
    ("/pages/{page}/versions", "version", {"body-format": "storage", "limit": 3}),
    ("/spaces", "space", {"limit": 2, "description-format": "plain"}),
    ("/spaces/{space}/pages", "page", {"limit": 3}),
    ("/tasks", "task", {"limit": 3, "body-format": "storage"}),
    ("/tasks/{task}", "task", {}),
])
def test_conformance_with_the_openapi_description(
        world: World, spec: dict[str, Any], route: str, kind: str,
        params: dict[str, Any]) -> None:
    task = next(t for t in world.store.tasks.values() if t["status"] == "complete")
    ids = {"page": task["pageId"], "space": task["spaceId"], "task": task["id"]}
    path = re.sub(r"\{(\w+)\}", lambda m: ids[m[1]], route)
    response = world.get(path, **params)
    assert response.status_code == 200, response.text
    body = response.json()
    operation = spec["paths"][re.sub(r"\{\w+\}", "{id}", route)]["get"]
    content = operation["responses"]["200"]["content"]["application/json"]
    published = examples(content)
    if published:
        for example in published:
            assert_same_shape(body, example)
    # The description carries schemas but no examples (fixtures/SOURCES.md): check
    # our keys and types against the schema, recursively.
    differences = schema_differences(spec, body, content["schema"])
    assert not differences, "\n".join(differences)
    items = body.get("results", [body])
    assert items
    for item in items:
        assert REQUIRED[kind] <= item.keys(), REQUIRED[kind] - item.keys()
    if "results" in body:
        assert set(body["_links"]) <= {"next", "base"} and body["_links"]["base"]
    elif kind == "page":
        # A single page's links add the site base (the allOf in the description).
        assert body["_links"]["base"].endswith("/wiki")
