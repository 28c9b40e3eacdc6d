"""The Jira stand-in against the real `jira.JIRA` client (Server and Cloud), its fault
model, and conformance with Atlassian's published example payloads."""

from __future__ import annotations

import json
import math
import random
import types
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jira
import jira.resilientsession
import pytest
from jira.exceptions import JIRAError

from conftest import FIXTURES, NOW
from sandbox.faults import FaultPlan
from sandbox.jira import (
    FIELD_SPRINT,
    FIELD_STORY_POINTS,
    JiraStore,
    create_app,
    populate,
)
from sandbox.jira.catalog import format_time, parse_time
from sandbox.jira.jql import JqlError, run
from sandbox.jira.views import issue_view
from sandbox.org import Organisation, generate_org
from sandbox.serve import serving
from shapes import assert_same_shape

JIRA_FIXTURES = FIXTURES / "jira"
AUTH = ("sync-bot@example.com", "api-token")
ALL = "project in (PLAT, PAYM)"


class Clock:
    """A hand-moved clock: tests never read the wall clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Site:
    """A seeded store served on a loopback port, with a `jira.JIRA` client on it."""

    store: JiraStore
    clock: Clock
    url: str
    client: jira.JIRA
    app: Any


@pytest.fixture(scope="module")
def org() -> Organisation:
    """Two teams (five and seven people): PLAT and PAYM."""
    return generate_org(people=13, seed=7)


def seeded(org: Organisation, deployment: str, clock: Clock | None = None) -> JiraStore:
    """A store populated the same way every time."""
    store = JiraStore(deployment, clock=clock or Clock(NOW))
    populate(store, org, random.Random(3), NOW)
    return store


@pytest.fixture(params=["Server", "Cloud"])
def site(request: pytest.FixtureRequest, org: Organisation) -> Iterator[Site]:
    """A small page cap makes every full search take several pages."""
    clock = Clock(NOW)
    store = seeded(org, request.param, clock)
    app = create_app(store, page_cap=30)
    with serving(app) as url:
        client = jira.JIRA(server=url, basic_auth=AUTH)
        try:
            yield Site(store, clock, url, client, app)
        finally:
            client.close()


def load(name: str) -> Any:
    """A vendor example payload."""
    return json.loads((JIRA_FIXTURES / name).read_text())


# ---------------------------------------------------------------- the real client


def test_construction_reads_the_deployment_type(site: Site) -> None:
    assert site.client.deploymentType == site.store.deployment
    assert site.client.server_info()["versionNumbers"][0] in (9, 1001)


def test_search_pages_through_every_issue(site: Site) -> None:
    before = site.app.requests
    issues = site.client.search_issues(f"{ALL} ORDER BY key ASC", maxResults=0)
    assert len(issues) == len(site.store.issues) > 100
    assert len({i.key for i in issues}) == len(issues)
    # One request per page of 30 (plus the field list the client fetches on first search).
    assert site.app.requests - before >= math.ceil(len(issues) / 30)
    numbers = [int(i.key.split("-")[1]) for i in issues if i.key.startswith("PAYM-")]
    assert numbers == sorted(numbers)
    posted = site.client.search_issues(ALL, maxResults=0, use_post=True)
    assert len(posted) == len(issues)


def test_raw_json_pages(site: Site) -> None:
    total = len(site.store.issues)
    if site.store.deployment == "Server":
        page = site.client.search_issues(ALL, startAt=20, maxResults=10, json_result=True)
        assert (page["startAt"], page["maxResults"], page["total"]) == (20, 10, total)
        assert len(page["issues"]) == 10
        return
    seen: list[str] = []
    token = None
    while True:
        page = site.client.enhanced_search_issues(ALL, nextPageToken=token, maxResults=25,
                                                  json_result=True)
        assert "total" not in page
        seen += [i["key"] for i in page["issues"]]
        token = page.get("nextPageToken")
        assert page["isLast"] is (token is None)
        if token is None:
            break
    assert len(seen) == len(set(seen)) == total


def test_story_points_and_sprint_are_found_by_name(site: Site) -> None:
    by_name = {f["name"]: f for f in site.client.fields()}
    points_name = "Story point estimate" if site.store.deployment == "Cloud" else "Story Points"
    assert by_name[points_name]["id"] == FIELD_STORY_POINTS
    assert by_name[points_name]["schema"]["custom"].endswith(
        "jsw-story-points" if site.store.deployment == "Cloud" else "float")
    assert by_name["Sprint"]["id"] == FIELD_SPRINT
    assert by_name["Sprint"]["schema"]["customId"] == 10020
    # The client translates field names to ids and back.
    issues = site.client.search_issues(f"{ALL} ORDER BY key ASC", maxResults=0,
                                       fields=["summary", points_name])
    points = [i.raw["fields"].get(points_name) for i in issues]
    assert any(points) and None in points
    assert "status" not in issues[0].raw["fields"]


def test_issue_with_changelog(site: Site) -> None:
    done = next(i for i in site.store.issues.values()
                if i["fields"]["status"]["name"] == "Done")
    issue = site.client.issue(done["key"], expand="changelog")
    assert issue.fields.status.statusCategory.key == "done"
    assert issue.fields.resolutiondate == done["fields"]["resolutiondate"]
    items = [item for h in issue.changelog.histories for item in h.items]
    assert any(i.field == "status" and i.toString == "Done" for i in items)
    assert issue.fields.updated == done["fields"]["updated"]
    found = site.client.search_issues(f"key = {done['key']}", expand="changelog")
    assert len(found[0].changelog.histories) == len(issue.changelog.histories)


@pytest.mark.parametrize("literal", ["2026/11/25 12:00", "2026-11-25 12:00", "2026-11-25"])
def test_updated_filter(site: Site, literal: str) -> None:
    bound = datetime(2026, 11, 25, 12 if " " in literal else 0, tzinfo=UTC)
    expected = {i["key"] for i in site.store.issues.values()
                if parse_time(i["fields"]["updated"]) >= bound}
    found = site.client.search_issues(f'{ALL} AND updated >= "{literal}" ORDER BY updated',
                                      maxResults=0, fields=["updated"])
    assert {i.key for i in found} == expected
    assert 0 < len(expected) < len(site.store.issues)
    stamps = [parse_time(i.fields.updated) for i in found]
    assert stamps == sorted(stamps)


def test_mutations_show_up_in_the_next_search(site: Site) -> None:
    store, client = site.store, site.client
    mark = site.clock.advance(hours=1)
    parents = {(i["fields"].get("parent") or {}).get("id") for i in store.issues.values()}
    # Leaves only: moving or deleting a parent takes its sub-tasks along.
    open_issues = sorted((i for i in store.issues.values()
                          if i["fields"]["status"]["statusCategory"]["key"] != "done"
                          and i["fields"]["project"]["key"] == "PLAT"
                          and i["id"] not in parents),
                         key=lambda i: int(i["id"]))
    edited, reassigned, closed, deleted, moved = (i["key"] for i in open_issues[:5])
    newcomer = store.users[next(iter(store.users))]
    sandbox = httpx.Client(base_url=site.url)
    for path, body in [(f"{edited}/edit", {"fields": {"summary": "Renamed",
                                                      "story_points": 21}}),
                       (f"{reassigned}/reassign", {"account_id": newcomer["accountId"]}),
                       (f"{closed}/close", {}),
                       (f"{moved}/move", {"project": "PAYM"})]:
        response = sandbox.post(f"/_sandbox/jira/issues/{path}", json=body)
        assert response.status_code == 200, response.text
    new_key = response.json()["key"]
    created = sandbox.post("/_sandbox/jira/issues", json={
        "project": "PLAT", "summary": "Brand new", "assignee": newcomer["accountId"],
        "duedate": "2026-12-10", "original_estimate": "1d"})
    assert created.status_code == 200, created.text
    fresh = created.json()["key"]
    assert sandbox.delete(f"/_sandbox/jira/issues/{deleted}").status_code == 204
    since = mark.strftime("%Y/%m/%d %H:%M")
    changed = client.search_issues(f'{ALL} AND updated >= "{since}"', maxResults=0)
    by_key = {i.key: i for i in changed}
    assert set(by_key) == {edited, reassigned, closed, new_key, fresh}
    assert by_key[fresh].fields.timetracking.originalEstimateSeconds == 8 * 3600
    assert by_key[edited].fields.summary == "Renamed"
    assert getattr(by_key[edited].fields, FIELD_STORY_POINTS) == 21
    ident = "accountId" if store.deployment == "Cloud" else "name"
    assert by_key[reassigned].raw["fields"]["assignee"][ident] == newcomer[ident]
    assert by_key[closed].fields.status.statusCategory.key == "done"
    assert by_key[closed].fields.resolutiondate == format_time(mark)
    assert by_key[new_key].fields.project.key == "PAYM"
    with pytest.raises(JIRAError) as gone:
        client.issue(deleted)
    assert gone.value.status_code == 404
    assert client.issue(moved).key == new_key  # Jira follows a moved issue's old key
    assert len(client.search_issues(ALL, maxResults=0)) == len(store.issues)


@pytest.mark.parametrize("jql", ["foo = bar", "project = NOPE", "project in (PLAT",
                                 "updated >= 'yesterday'", "ORDER BY nonsense"])
def test_bad_jql_is_a_400(site: Site, jql: str) -> None:
    with pytest.raises(JIRAError) as error:
        site.client.search_issues(jql, maxResults=10)
    assert error.value.status_code == 400
    body = error.value.response.json()
    assert body["errors"] == {} and body["errorMessages"]


def test_authentication_is_required(site: Site) -> None:
    response = httpx.get(f"{site.url}/rest/api/2/myself")
    assert response.status_code == 401
    bearer = httpx.get(f"{site.url}/rest/api/2/myself",
                       headers={"Authorization": "Bearer pat-123"})
    assert bearer.status_code == 200


def test_users_hide_emails_on_cloud_only(site: Site, org: Organisation) -> None:
    hidden = next(p for p in org.people if not p.jira_email_visible)
    visible = next(p for p in org.people if p.jira_email_visible)
    cloud = site.store.deployment == "Cloud"
    for person in (hidden, visible):
        user = site.client.user(person.jira_account_id if cloud else person.id)
        assert user.displayName == person.name
        shown = person.jira_email_visible or not cloud
        assert getattr(user, "emailAddress", None) == (person.email if shown else None)
    found = site.client.search_users(query=hidden.name) if cloud else \
        site.client.search_users(user=hidden.name)
    assert [u.displayName for u in found] == [hidden.name]


# ---------------------------------------------------------------- store, JQL, seed


def test_seed_is_deterministic_and_varied(org: Organisation, tmp_path: Path) -> None:
    first, second = seeded(org, "Cloud"), seeded(org, "Cloud")
    first.dump(tmp_path / "a")
    second.dump(tmp_path / "b")
    for name in ("issues", "users", "changelog"):
        assert (tmp_path / "a" / f"{name}.jsonl").read_text() == \
            (tmp_path / "b" / f"{name}.jsonl").read_text()
    issues = list(first.issues.values())
    for team in org.teams:
        count = sum(i["fields"]["project"]["key"] == team.jira_project for i in issues)
        assert 10 * len(team.members) <= count <= 16 * len(team.members)
    fields = [i["fields"] for i in issues]
    assert {f["status"]["statusCategory"]["key"] for f in fields} == {
        "new", "indeterminate", "done"}
    assert any(f["status"]["name"] == "Blocked" for f in fields)
    assert any(f["assignee"] is None for f in fields)
    assert any(f["assignee"] and "emailAddress" not in f["assignee"] for f in fields)
    assert any(f["timetracking"].get("originalEstimateSeconds") for f in fields)
    assert any(f[FIELD_STORY_POINTS] for f in fields)
    assert any(not f["timetracking"] and f[FIELD_STORY_POINTS] is None for f in fields)
    assert any(f["issuelinks"] for f in fields) and any(f["duedate"] for f in fields)
    assert any(f.get("parent") for f in fields)


def test_dump_and_load_round_trip(org: Organisation, tmp_path: Path) -> None:
    store = seeded(org, "Server")
    store.dump(tmp_path)
    again = JiraStore.load(tmp_path, clock=store.clock)
    assert again.deployment == "Server"
    assert [i["key"] for i in run(again, f"{ALL} ORDER BY updated DESC")] == \
        [i["key"] for i in run(store, f"{ALL} ORDER BY updated DESC")]
    created = again.create_issue("PLAT", "After reload")
    assert created["key"] not in store.keys and created["id"] not in store.issues


def test_jql_subset(org: Organisation) -> None:
    store = seeded(org, "Cloud")
    someone = next(i["fields"]["assignee"]["accountId"] for i in store.issues.values()
                   if i["fields"]["assignee"])
    mine = run(store, f"assignee = {someone} ORDER BY key ASC")
    assert mine and all(i["fields"]["assignee"]["accountId"] == someone for i in mine)
    nobody = run(store, "project = PLAT AND assignee is EMPTY")
    assert nobody and all(i["fields"]["assignee"] is None for i in nobody)
    either = run(store, f"(assignee in ({someone}) OR assignee is EMPTY) AND project = PLAT")
    assert len(either) == len([i for i in mine if i["key"].startswith("PLAT-")]) + len(nobody)
    keys = run(store, "key in (PLAT-1, PAYM-2) ORDER BY key DESC")
    assert [i["key"] for i in keys] == ["PLAT-1", "PAYM-2"]
    assert run(store, "statusCategory = done AND NOT project = PAYM")
    with pytest.raises(JqlError, match="does not exist"):
        run(store, "sprint = 4")


def test_moves_and_deletes_keep_references_straight(org: Organisation) -> None:
    clock = Clock(NOW)
    store = seeded(org, "Cloud", clock)
    parent = store.create_issue("PLAT", "Parent", issuetype="Story")
    child = store.create_issue("PLAT", "Child", issuetype="Sub-task", parent=parent["key"])
    other = store.create_issue("PLAT", "Blocked one")
    store.link(parent["key"], other["key"], "Blocks")
    old_parent, old_child = parent["key"], child["key"]
    clock.advance(minutes=5)
    store.move(old_parent, "PAYM")
    assert parent["key"].startswith("PAYM-") and child["key"].startswith("PAYM-")
    assert store.get(old_child) is child
    assert store.changelogs[parent["id"]][-1]["items"][0]["fromString"] == old_parent
    link = store.get(other["key"])["fields"]["issuelinks"][0]
    assert link["type"]["inward"] == "is blocked by" and link["inwardIssue"]["id"] == parent["id"]
    store.add_worklog(other["key"], next(iter(store.users)), 5400)
    assert other["fields"]["timespent"] == 5400
    assert other["fields"]["worklog"]["worklogs"][0]["timeSpent"] == "1h 30m"
    store.delete(parent["key"])
    assert not other["fields"]["issuelinks"]
    for key in (old_parent, old_child, parent["key"], child["key"]):
        with pytest.raises(KeyError):
            store.get(key)
    assert not run(store, f"key in ({old_parent}, {child['key']})")


def test_sub_task_index_follows_creation_edits_and_deletion(org: Organisation) -> None:
    store = seeded(org, "Cloud", Clock(NOW))

    def subtasks(key: str) -> list[tuple[str, str]]:
        view = issue_view(store, store.get(key), fields=["subtasks"])
        return [(s["key"], s["fields"]["summary"]) for s in view["fields"]["subtasks"]]

    parent = store.create_issue("PLAT", "Parent", issuetype="Story")
    assert subtasks(parent["key"]) == []
    child = store.create_issue("PLAT", "Child", issuetype="Sub-task", parent=parent["key"])
    assert subtasks(parent["key"]) == [(child["key"], "Child")]
    # An edit keeps the index (it holds the issues themselves) and shows at once.
    store.edit(child["key"], {"summary": "Renamed child"})
    assert subtasks(parent["key"]) == [(child["key"], "Renamed child")]
    store.delete(child["key"])
    assert subtasks(parent["key"]) == []


# ---------------------------------------------------------------- faults


@pytest.mark.parametrize("deployment", ["Server", "Cloud"])
def test_client_retries_through_faults(org: Organisation, monkeypatch: pytest.MonkeyPatch,
                                       deployment: str) -> None:
    # The client sleeps 1-2 s per retry when told Retry-After: 1; record instead of wait.
    waits: list[float] = []
    monkeypatch.setattr(jira.resilientsession, "time", types.SimpleNamespace(sleep=waits.append))
    store = seeded(org, deployment)
    plan = FaultPlan(seed=1, server_errors=0.05, rate_limits=0.02)
    app = create_app(store, plan, page_cap=5)
    faults: list[int] = []
    render = app.render

    def counting(kind: str, request: Any, info: dict[str, Any]) -> Any:
        response = render(kind, request, info)
        faults.append(response.status_code)
        return response

    app.render = counting
    with serving(app) as url:
        client = jira.JIRA(server=url, basic_auth=AUTH, max_retries=5)
        try:
            issues = client.search_issues(f"{ALL} ORDER BY key", maxResults=0)
        finally:
            client.close()
    assert len(issues) == len({i.key for i in issues}) == len(store.issues)
    # Every 503 / 429 the app sent was waited out and retried by the client.
    assert faults and len(waits) == len(faults)
    assert set(faults) <= {429, 503}


def _statuses(seed: int) -> tuple[list[int], dict[int, httpx.Response]]:
    store = JiraStore("Cloud", clock=Clock(NOW))
    plan = FaultPlan(seed=seed, server_errors=0.05, rate_limits=0.02)
    examples: dict[int, httpx.Response] = {}
    codes = []
    with serving(create_app(store, plan)) as url, httpx.Client(auth=AUTH) as http:
        for _ in range(150):
            response = http.get(f"{url}/rest/api/2/search/jql", params={"jql": ""})
            codes.append(response.status_code)
            examples.setdefault(response.status_code, response)
    return codes, examples


def test_faults_are_jira_shaped_and_repeatable() -> None:
    codes, examples = _statuses(1)
    assert set(codes) == {200, 429, 503}
    limited = examples[429]
    assert limited.headers["Retry-After"] == "1"
    assert limited.headers["RateLimit-Reason"] == "jira-burst-based"
    assert limited.headers["X-RateLimit-Reset"].startswith("2026-12-02T12:00:01")
    assert limited.json()["errorMessages"]
    assert examples[503].headers["Retry-After"] and "errors" in examples[503].json()
    assert _statuses(1)[0] == codes  # the same seed meets the same faults
    assert _statuses(2)[0] != codes


# ---------------------------------------------------------------- conformance


@pytest.fixture
def cloud(org: Organisation) -> Iterator[tuple[JiraStore, httpx.Client]]:
    """A Cloud site and a raw HTTP client logged in as a person whose email is visible."""
    store = seeded(org, "Cloud")
    person = next(p for p in org.people if p.jira_email_visible)
    with serving(create_app(store)) as url, httpx.Client(
            base_url=url, auth=(person.email, "token")) as http:
        yield store, http


def _linked_and_logged(store: JiraStore) -> str:
    """An issue whose first link is outward and whose time tracking has time spent,
    so that the lists and objects the examples show are there to compare."""
    return next(i["key"] for i in store.issues.values()
                if i["fields"]["issuelinks"] and "outwardIssue" in i["fields"]["issuelinks"][0]
                and "timeSpent" in i["fields"]["timetracking"]
                and i["fields"]["reporter"].get("emailAddress"))


def test_reference_endpoints_match_the_examples(
        cloud: tuple[JiraStore, httpx.Client]) -> None:
    _, http = cloud
    info = load("openapi-v3/server_info.json")
    # Only sites that also run Confluence / Service Management list those URLs.
    del info["displayUrlConfluence"], info["displayUrlServicedeskHelpCenter"]
    assert_same_shape(http.get("/rest/api/2/serverInfo").json(), info)
    assert_same_shape(http.get("/rest/api/2/field").json(), load("openapi-v3/fields.json"))
    me = http.get("/rest/api/2/myself").json()
    for name, got in (("myself_get", me),
                      ("user_get", http.get("/rest/api/2/user",
                                            params={"accountId": me["accountId"]}).json())):
        example = load(f"openapi-v3/{name}.json")
        # Cloud dropped username and user key (GDPR); the example keeps them empty.
        del example["key"], example["name"]
        if name == "user_get":  # groups/applicationRoles are expand-only on /user
            del example["groups"], example["applicationRoles"]
        assert_same_shape(got, example)


def _search_example(name: str) -> dict[str, Any]:
    """The parts of an OpenAPI search example that describe real v2 responses: its issue
    is a v3 sketch (`updated: 1`, worklog/comment as bare lists, a `watcher` field, ADF
    descriptions), so compare the envelope, the issue's identity and the fields whose
    shapes the v2 API shares."""
    example = load(name)
    example.pop("warningMessages", None)  # only present when the JQL has warnings
    issue = example["issues"][0]
    fields = issue["fields"]
    project = {k: v for k, v in fields["project"].items()
               if k not in ("insight", "style")}  # insight is expand-only
    issue["fields"] = {"issuelinks": fields["issuelinks"],
                       "timetracking": fields["timetracking"],
                       "attachment": fields["attachment"], "project": project}
    return example


def test_search_jql_matches_the_example(cloud: tuple[JiraStore, httpx.Client]) -> None:
    store, http = cloud
    key = _linked_and_logged(store)
    got = http.get("/rest/api/2/search/jql",
                   params={"jql": f"key = {key}", "fields": "*all"}).json()
    assert got["isLast"] is True and len(got["issues"]) == 1
    assert_same_shape(got, _search_example("openapi-v3/search_jql_get.json"))
    posted = http.post("/rest/api/3/search/jql",
                       json={"jql": f"key = {key}", "fields": ["*all"]}).json()
    assert posted["issues"][0]["fields"]["description"] in (None, {
        "type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
            {"type": "text", "text": store.get(key)["fields"]["description"]}]}]})


def test_server_search_matches_the_example(org: Organisation) -> None:
    store = seeded(org, "Server")
    key = _linked_and_logged(store)
    with serving(create_app(store)) as url, httpx.Client(base_url=url, auth=AUTH) as http:
        got = http.get("/rest/api/2/search", params={"jql": f"key = {key}",
                                                     "fields": "*all"}).json()
        issue = http.get(f"/rest/api/2/issue/{key}").json()
    assert got["total"] == 1
    assert_same_shape(got, _search_example("openapi-v3/search_get_deprecated.json"))
    example = load("atlassian-python-api/api_2_issue_FOO-123_GET__fields-all.json")
    for role in ("creator", "reporter"):  # Server users have name/key, not accountId
        del example["fields"][role]["accountId"], example["fields"][role]["accountType"]
    assert_same_shape(issue, example)
    assert issue["fields"]["reporter"]["name"] and issue["fields"]["reporter"]["key"]


def test_cloud_issue_matches_the_example(cloud: tuple[JiraStore, httpx.Client]) -> None:
    store, http = cloud
    key = _linked_and_logged(store)
    issue = http.get(f"/rest/api/2/issue/{key}", params={"fields": "*all"}).json()
    assert_same_shape(issue, load("atlassian-python-api/api_2_issue_FOO-123_GET__fields-all"
                                  ".json"))
    assert issue["fields"]["timetracking"]["originalEstimateSeconds"] > 0
    wrong_door = http.get("/rest/api/2/search", params={"jql": ""})
    assert wrong_door.status_code == 410  # Cloud retired /search for /search/jql
