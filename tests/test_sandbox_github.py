"""The GitHub stand-in against the real PyGithub, and against GitHub's published examples.

Everything runs at the fixed NOW of conftest: the store, the rate budget and the seed
read injected clocks, never the wall clock.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import github
import httpx
import pytest

from conftest import FIXTURES, NOW
from sandbox.faults import FaultPlan, RateBudget
from sandbox.github import GitHubStore, create_app, populate
from sandbox.github.search import parse_query
from sandbox.org import generate_org
from sandbox.serve import serving
from shapes import assert_same_shape

GH = FIXTURES / "github"
REPO = "acme/platform-service"
TOKEN = {"Authorization": "token test-token"}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def fixture(*parts: str) -> Any:
    return json.loads(GH.joinpath(*parts).read_text())


def client(url: str, *, token: str = "test-token", per_page: int = 30,
           lazy: bool = False) -> github.Github:
    """PyGithub as workhub builds it, minus its politeness delay and retries (for speed)."""
    return github.Github(base_url=url + "/api/v3", auth=github.Auth.Token(token), retry=None,
                         seconds_between_requests=None, seconds_between_writes=None,
                         per_page=per_page, lazy=lazy)


def seeded(clock: Clock, seed: int = 1) -> GitHubStore:
    store = GitHubStore(clock=clock)
    populate(store, generate_org(people=30, seed=7), random.Random(seed), clock())
    return store


@dataclass
class World:
    """A seeded store behind a running app."""

    store: GitHubStore
    url: str
    clock: Clock
    app: Any

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**TOKEN, **kwargs.pop("headers", {})}
        return httpx.get(f"{self.url}/api/v3{path}", headers=headers, **kwargs)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One seeded organisation, read-only, shared by the module's reading tests."""
    clock = Clock(NOW)
    store = seeded(clock)
    app = create_app(store)
    with serving(app) as url:
        yield World(store, url, clock, app)


@pytest.fixture
def fresh() -> Iterator[World]:
    """A seeded world of its own, for tests that change it."""
    clock = Clock(NOW)
    store = seeded(clock, seed=2)
    app = create_app(store)
    with serving(app) as url:
        yield World(store, url, clock, app)


# ---------------------------------------------------------------- PyGithub reads


def test_get_repo_and_lazy_repo(world: World) -> None:
    gh = client(world.url)
    before = world.app.requests
    repo = gh.get_repo(REPO)
    assert (repo.full_name, repo.default_branch) == (REPO, "main")
    assert repo.organization.login == "acme"
    assert world.app.requests == before + 1
    lazy = client(world.url, lazy=True).get_repo(REPO)
    assert world.app.requests == before + 1  # a lazy repo sends nothing
    assert lazy.get_issues(state="all").totalCount == len(world.store.issues[REPO])
    gh.close()


def test_org_and_members(world: World) -> None:
    gh = client(world.url, per_page=7)
    org = gh.get_organization("acme")
    members = [m.login for m in org.get_members()]
    assert sorted(members) == sorted(p.github_login for p in generate_org(30, 7).people)
    assert org.public_repos == len(world.store.repos)
    assert {r.full_name for r in org.get_repos()} == set(world.store.repos)
    me = gh.get_user()
    assert me.login == members[0]
    person = next(p for p in generate_org(30, 7).people if p.github_email)
    assert gh.get_user(person.github_login).email == person.github_email
    gh.close()


def test_get_issues_since_pages_through_everything(world: World) -> None:
    since = NOW - timedelta(days=30)
    expected = [i for i in world.store.issues[REPO].values()
                if datetime.fromisoformat(i["updated_at"]) >= since]
    assert len(expected) > 8  # several pages
    gh = client(world.url, per_page=4)
    issues = list(gh.get_repo(REPO).get_issues(state="all", since=since, sort="updated",
                                               direction="asc"))
    assert len(issues) == len(expected)
    assert {i.number for i in issues} == {i["number"] for i in expected}
    stamps = [i.updated_at for i in issues]
    assert stamps == sorted(stamps) and stamps[0] >= since
    # /issues includes pull requests, as on GitHub.
    assert any(i.pull_request is not None for i in issues)
    gh.close()


def test_raw_data_and_per_page(world: World) -> None:
    gh = client(world.url, per_page=5)
    issues = gh.get_repo(REPO).get_issues(state="all")
    first_page = issues.get_page(0)
    assert len(first_page) == 5
    raw = first_page[0].raw_data
    stored = json.dumps(world.store.issue(REPO, raw["number"]))
    assert raw == json.loads(stored.replace(world.store.origin, world.url))
    total = issues.totalCount
    assert total == len(world.store.issues[REPO])
    assert len(issues.get_page((total - 1) // 5)) == total - 5 * ((total - 1) // 5)
    gh.close()


def test_pulls_and_requested_reviewers(world: World) -> None:
    gh = client(world.url)
    repo = gh.get_repo(REPO)
    pulls = list(repo.get_pulls(state="open"))
    assert pulls and len(pulls) == sum(
        p["state"] == "open" for p in world.store.pulls[REPO].values())
    for pull in pulls:
        users, teams = pull.get_review_requests()
        assert [u.login for u in users] == [u.login for u in pull.requested_reviewers]
        assert users.totalCount >= 1 and teams.totalCount == 0
    every = list(repo.get_pulls(state="all"))
    key = re.compile(r"\bPLAT-\d+\b")
    assert sum(bool(key.search(p.title)) for p in every) >= len(every) // 3
    assert all(key.search(p.head.ref) for p in every if key.match(p.title))
    assert any(p.merged_at for p in every)
    single = repo.get_pull(every[0].number)
    assert single.merged == (single.merged_at is not None)
    assert single.head.sha and single.base.ref == "main"
    gh.close()


def test_milestones(world: World) -> None:
    gh = client(world.url)
    milestones = list(gh.get_repo(REPO).get_milestones(state="all"))
    assert len(milestones) == 4
    due = [m.due_on for m in milestones if m.due_on is not None]
    assert len(due) == 4 and due == sorted(due)
    assert {m.state for m in milestones} == {"open", "closed"}
    counted = sum(m.open_issues + m.closed_issues for m in milestones)
    assert counted == sum(i["milestone"] is not None for i in world.store.issues[REPO].values())
    gh.close()


def test_seed_is_realistic_and_deterministic() -> None:
    first, second = seeded(Clock(NOW), seed=5), seeded(Clock(NOW), seed=5)
    assert first.issues == second.issues and first.pulls == second.pulls
    issues = [i for repo in first.issues.values() for i in repo.values()]
    pulls = [p for repo in first.pulls.values() for p in repo.values()]
    labels = {lb["name"] for i in issues for lb in i["labels"]}
    assert {"blocked", "priority: high"} <= labels
    assert any(i["state_reason"] == "not_planned" for i in issues)
    assert any(p["draft"] and p["state"] == "open" for p in pulls)
    assert any("Fixes #" in (p["body"] or "") for p in pulls)
    assert any(re.search(r"feature/[A-Z]+-\d+-", p["head"]["ref"]) for p in pulls)
    keys = [int(k) for p in pulls for k in re.findall(r"[A-Z]{4}-(\d+)", p["title"])]
    assert keys and max(keys) <= 80
    stamps = [datetime.fromisoformat(i["updated_at"]) for i in issues]
    assert max(stamps) <= NOW and min(stamps) < NOW - timedelta(days=28)


# ---------------------------------------------------------------- ETags and budgets


def test_etag_304_is_free(world: World) -> None:
    first = world.get(f"/repos/{REPO}/issues", params={"state": "all"})
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    remaining = int(first.headers["x-ratelimit-remaining"])
    again = world.get(f"/repos/{REPO}/issues", params={"state": "all"},
                      headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert int(again.headers["x-ratelimit-remaining"]) == remaining
    plain = world.get(f"/repos/{REPO}/issues", params={"state": "all"})
    assert int(plain.headers["x-ratelimit-remaining"]) == remaining - 1
    assert plain.headers["etag"] == etag  # same body, same tag


def test_etag_changes_with_the_issue(fresh: World) -> None:
    first = fresh.get(f"/repos/{REPO}/issues/1")
    fresh.clock.advance(minutes=5)
    fresh.store.edit(REPO, 1, title="Renamed")
    changed = fresh.get(f"/repos/{REPO}/issues/1",
                        headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and changed.json()["title"] == "Renamed"
    assert changed.headers["etag"] != first.headers["etag"]


@pytest.mark.parametrize("status", [403, 429])
def test_budget_runs_out_and_resets(status: int) -> None:
    clock = Clock(NOW)
    store = seeded(clock)
    budget = RateBudget(limit=3, window_seconds=3600, clock=lambda: clock().timestamp())
    with serving(create_app(store, FaultPlan(budget=budget), limit_status=status)) as url:
        get = lambda: httpx.get(f"{url}/api/v3/repos/{REPO}", headers=TOKEN)  # noqa: E731
        seen = [get() for _ in range(3)]
        assert [int(r.headers["x-ratelimit-remaining"]) for r in seen] == [2, 1, 0]
        assert [int(r.headers["x-ratelimit-used"]) for r in seen] == [1, 2, 3]
        spent = get()
        assert spent.status_code == status
        assert spent.json()["message"] == "API rate limit exceeded for user ID 1."
        assert spent.headers["x-ratelimit-remaining"] == "0"
        assert spent.headers["x-ratelimit-resource"] == "core"
        reset = int(spent.headers["x-ratelimit-reset"])
        assert reset == int(NOW.timestamp()) + 3600
        # Another token has a budget of its own; /rate_limit is free and tells the truth.
        other = httpx.get(f"{url}/api/v3/rate_limit", headers={"Authorization": "Bearer x"})
        assert other.json()["rate"]["remaining"] == 3
        with pytest.raises(github.GithubException) as refused:
            client(url).get_repo(REPO)
        # PyGithub names only a 403 RateLimitExceeded; a 429 stays a plain GithubException.
        assert refused.value.status == status
        assert isinstance(refused.value, github.RateLimitExceededException) == (status == 403)
        clock.advance(seconds=3600)
        again = get()
        assert again.status_code == 200 and again.headers["x-ratelimit-remaining"] == "2"
        assert int(again.headers["x-ratelimit-reset"]) == reset + 3600


def test_secondary_limit_has_retry_after() -> None:
    store = seeded(Clock(NOW))
    plan = FaultPlan(seed=1, rate_limits=1.0, retry_after_seconds=7)
    with serving(create_app(store, plan)) as url:
        answer = httpx.get(f"{url}/api/v3/repos/{REPO}", headers=TOKEN)
        assert answer.status_code == 403 and answer.headers["retry-after"] == "7"
        assert answer.json()["message"].startswith("You have exceeded a secondary rate limit")
        assert "x-ratelimit-remaining" in answer.headers
        # The sandbox's own API is exempt from faults.
        made = httpx.post(f"{url}/_sandbox/github/repos/{REPO}/issues",
                          json={"title": "From the side", "user": store.members[1]})
        assert made.status_code == 201


def test_faults_are_deterministic_by_seed() -> None:
    store = seeded(Clock(NOW))

    def statuses(seed: int) -> list[int]:
        plan = FaultPlan(seed=seed, server_errors=0.3, rate_limits=0.1)
        with serving(create_app(store, plan)) as url:
            return [httpx.get(f"{url}/api/v3/repos/{REPO}/issues/{n % 3 + 1}",
                              headers=TOKEN).status_code for n in range(24)]

    first = statuses(11)
    assert first == statuses(11)
    assert {500, 200} <= set(first)
    assert first != statuses(12)


def test_auth_is_required(fresh: World) -> None:
    bare = httpx.get(f"{fresh.url}/api/v3/repos/{REPO}")
    assert bare.status_code == 401 and bare.json()["message"] == "Requires authentication"
    fresh.store.add_token("good", fresh.store.members[2])
    wrong = fresh.get(f"/repos/{REPO}")
    assert wrong.status_code == 401 and wrong.json()["message"] == "Bad credentials"
    with pytest.raises(github.BadCredentialsException):
        client(fresh.url).get_repo(REPO)
    assert client(fresh.url, token="good").get_user().login == fresh.store.members[2]


# ---------------------------------------------------------------- mutations


def test_mutations_show_on_the_next_since_listing(fresh: World) -> None:
    store, clock = fresh.store, fresh.clock
    gh = client(fresh.url, per_page=10)
    repo = gh.get_repo(REPO)
    last_sync = NOW
    assert list(repo.get_issues(state="all", since=last_sync + timedelta(seconds=1))) == []
    open_issues = [i["number"] for i in store.list_issues(REPO) if "pull_request" not in i]
    edited, reassigned, dropped, moved, deleted = open_issues[:5]
    clock.advance(hours=1)
    store.edit(REPO, edited, title="Clearer title", labels=["blocked"])
    store.reassign(REPO, reassigned, [store.members[3]])
    store.close(REPO, dropped, state_reason="not_planned")
    target = "acme/payments-service"
    moved_to = store.transfer(REPO, moved, target)["number"]
    store.delete(REPO, deleted)

    since = last_sync + timedelta(minutes=1)
    changed = {i.number: i for i in repo.get_issues(state="all", since=since)}
    assert set(changed) == {edited, reassigned, dropped}
    assert changed[edited].title == "Clearer title"
    assert [lb.name for lb in changed[edited].labels] == ["blocked"]
    assert [a.login for a in changed[reassigned].assignees] == [store.members[3]]
    assert (changed[dropped].state, changed[dropped].state_reason) == ("closed", "not_planned")
    arrived = list(gh.get_repo(target).get_issues(state="all", since=since))
    assert [i.number for i in arrived] == [moved_to]
    # The old number forwards with a 301, which PyGithub follows.
    assert repo.get_issue(moved).number == moved_to
    old = fresh.get(f"/repos/{REPO}/issues/{moved}", follow_redirects=False)
    assert old.status_code == 301 and old.headers["location"].endswith(f"/issues/{moved_to}")
    with pytest.raises(github.GithubException) as gone:
        repo.get_issue(deleted)
    assert gone.value.status == 410
    with pytest.raises(github.UnknownObjectException):
        repo.get_issue(9999)
    gh.close()


def test_pull_mutations(fresh: World) -> None:
    store = fresh.store
    number = next(n for n, p in store.pulls[REPO].items() if p["state"] == "open")
    fresh.clock.advance(hours=2)
    store.request_reviewers(REPO, number, [store.members[4]])
    store.set_milestone(REPO, number, 3)
    store.set_draft(REPO, number, False)
    gh = client(fresh.url)
    pull = gh.get_repo(REPO).get_pull(number)
    assert store.members[4] in [u.login for u in pull.requested_reviewers]
    assert pull.milestone.number == 3 and pull.draft is False
    assert pull.updated_at == fresh.clock()
    store.merge(REPO, number)
    merged = gh.get_repo(REPO).get_pull(number)
    assert merged.merged and merged.state == "closed"
    side = gh.get_repo(REPO).get_issue(number).pull_request
    assert side is not None and side.merged_at == fresh.clock()
    gh.close()


def test_sandbox_http_mutations(fresh: World) -> None:
    base = f"{fresh.url}/_sandbox/github/repos/{REPO}"
    author = fresh.store.members[1]
    made = httpx.post(f"{base}/issues", json={"title": "Over HTTP", "user": author,
                                              "labels": ["bug"]}).json()
    number = made["number"]
    fresh.clock.advance(minutes=3)
    closed = httpx.patch(f"{base}/issues/{number}",
                         json={"state": "closed", "state_reason": "not_planned",
                               "assignees": [author]}).json()
    assert (closed["state"], closed["state_reason"]) == ("closed", "not_planned")
    pull = httpx.post(f"{base}/pulls", json={"title": "PLAT-3 Over HTTP", "user": author,
                                             "head": "feature/PLAT-3-http",
                                             "reviewers": [fresh.store.members[2]]}).json()
    assert pull["requested_reviewers"][0]["login"] == fresh.store.members[2]
    assert httpx.put(f"{base}/pulls/{pull['number']}/merge", json={}).json()["merged"]
    moved = httpx.post(f"{base}/issues/{number}/transfer", json={"to": "acme/data-service"})
    assert moved.status_code == 201
    assert httpx.delete(f"{base}/issues/1").status_code == 204
    assert fresh.get(f"/repos/{REPO}/issues/1").status_code == 410
    assert httpx.post(f"{base}/issues/99999/transfer", json={"to": REPO}).status_code == 404


def test_dump_and_load(fresh: World, tmp_path: Path) -> None:
    fresh.store.delete(REPO, next(n for n, i in fresh.store.issues[REPO].items()
                                  if "pull_request" not in i))
    fresh.store.dump(tmp_path)
    assert (tmp_path / "github-issues.jsonl").exists()
    loaded = GitHubStore.load(tmp_path, clock=fresh.clock)
    for table in ("users", "repos", "labels", "milestones", "issues", "pulls", "gone"):
        assert getattr(loaded, table) == getattr(fresh.store, table), table
    assert loaded.org == fresh.store.org and loaded.ids == fresh.store.ids
    with serving(create_app(loaded)) as url:
        again = httpx.get(f"{url}/api/v3/repos/{REPO}/issues?state=all", headers=TOKEN)
    before = fresh.get(f"/repos/{REPO}/issues?state=all")
    assert again.json() == json.loads(before.text.replace(fresh.url, url))


# ---------------------------------------------------------------- conformance


def test_shapes_match_the_published_examples(world: World) -> None:
    issues = world.get(f"/repos/{REPO}/issues", params={"state": "all"}).json()
    with_pr = [i for i in issues if "pull_request" in i]
    plain = [i for i in issues if "pull_request" not in i and i["milestone"] and i["assignee"]]
    for version in ("openapi-current", "openapi-2020-v0.0.5"):
        assert_same_shape(with_pr[:1], fixture(version, "issues_list.json"))
        # Plain issues have no pull_request key on GitHub; the example shows it for PRs.
        example_issue = {k: v for k, v in fixture(version, "issues_list.json")[0].items()
                         if k != "pull_request"}
        assert_same_shape(plain[0], example_issue)
        assert "pull_request" not in plain[0]
        closed = next(i for i in issues if i["closed_by"])
        single = world.get(f"/repos/{REPO}/issues/{closed['number']}").json()
        example = fixture(version, "issue_get.json")
        assert_same_shape({**single, "pull_request": with_pr[0]["pull_request"]}, example)
        assert_same_shape(world.get("/rate_limit").json(), fixture(version, "rate_limit.json"))
    pulls = world.get(f"/repos/{REPO}/pulls", params={"state": "all"}).json()
    reviewed = [p for p in pulls if p["requested_reviewers"] and p["milestone"]]
    assert_same_shape(reviewed[:1], fixture("openapi-2020-v0.0.5", "pulls_list.json"))
    single_pull = world.get(f"/repos/{REPO}/pulls/{reviewed[0]['number']}").json()
    assert_same_shape(single_pull, fixture("openapi-2020-v0.0.5", "pulls_list.json")[0])
    assert_same_shape(world.get("/orgs/acme/members").json(),
                      fixture("openapi-2020-v0.0.5", "org_members_list.json"))
    login = world.store.members[0]
    assert_same_shape(world.get(f"/users/{login}").json(),
                      fixture("openapi-2020-v0.0.5", "user_get_public.json"))
    assert_same_shape(world.get("/user").json(),
                      fixture("openapi-2020-v0.0.5", "user_get_authenticated_private.json"))
    org_example = fixture("octokit-fixtures", "get-organization.normalized.json")[0]
    assert_same_shape(world.get("/orgs/acme").json(), org_example["response"])


def test_errors_match_the_published_examples(world: World) -> None:
    # basic-error: {message, documentation_url}, for 401, 403, 404 and 410 alike.
    responses = fixture("openapi-2020-v0.0.5", "components_error_responses.json")
    for name in ("not_found", "forbidden", "requires_authentication", "gone"):
        schema = responses[name]["content"]["application/json"]["schema"]["$ref"]
        assert schema.endswith("basic-error")
    basic = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
    missing = world.get("/repos/acme/nope")
    assert missing.status_code == 404
    assert_same_shape(missing.json(), basic)
    assert_same_shape(httpx.get(f"{world.url}/api/v3/user").json(), basic)
    invalid = world.get(f"/repos/{REPO}/issues", params={"since": "last tuesday"})
    assert invalid.status_code == 422
    example = fixture("octokit-fixtures", "errors.normalized.json")[0]
    assert_same_shape(invalid.json(), example["response"])
    assert invalid.headers["content-type"] == example["headers"]["content-type"]


def _rels(link: str) -> list[str]:
    return re.findall(r'<[^>]+>; rel="(\w+)"', link)


def test_headers_match_octokit_fixtures(world: World) -> None:
    recorded = fixture("octokit-fixtures", "paginate-issues.normalized.json")
    pages = []
    for page in range(1, 6):
        pages.append(world.get(f"/repos/{REPO}/issues",
                               params={"state": "all", "per_page": 3, "page": page}))
    assert (len(world.store.issues[REPO]) + 2) // 3 > 5
    for mine, theirs in zip(pages, recorded, strict=True):
        for name in ("etag", "link", "x-ratelimit-limit", "x-ratelimit-remaining",
                     "x-ratelimit-reset", "x-ratelimit-resource", "x-ratelimit-used",
                     "cache-control", "content-type", "x-github-media-type",
                     "access-control-expose-headers", "x-github-request-id"):
            assert name in mine.headers, name
        for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
                     "x-ratelimit-used"):
            int(mine.headers[name])
        assert mine.headers["x-ratelimit-resource"] == theirs["headers"]["x-ratelimit-resource"]
        assert mine.headers["content-type"] == theirs["headers"]["content-type"]
        assert mine.headers["access-control-expose-headers"] == (
            theirs["headers"]["access-control-expose-headers"])
    # The first page has next+last, the middle ones all four rels, in GitHub's order.
    assert _rels(pages[0].headers["link"]) == _rels(recorded[0]["headers"]["link"])
    assert _rels(pages[1].headers["link"]) == _rels(recorded[1]["headers"]["link"])
    last_url = re.search(r'<([^>]+)>; rel="last"', pages[0].headers["link"])
    assert last_url is not None and last_url[1].startswith(world.url + "/api/v3/repositories/")
    final = httpx.get(last_url[1], headers=TOKEN)
    assert _rels(final.headers["link"]) == _rels(recorded[-1]["headers"]["link"])
    assert "next" not in _rels(final.headers["link"])


# ---------------------------------------------------------------- search


def test_search_issues_matches_the_published_example_and_pygithub_reads_it(
        world: World) -> None:
    example = fixture("octokit-fixtures", "search-issues.normalized.json")[0]["response"]
    found = world.get("/search/issues", params={"q": f"repo:{REPO}", "per_page": 2}).json()
    assert_same_shape({k: v for k, v in found.items() if k != "items"},
                      {k: v for k, v in example.items() if k != "items"})
    assert "score" in found["items"][0] and "repository_url" in found["items"][0]
    # PyGithub pages through the search as it does on github.com.
    listed = client(world.url, per_page=7).search_issues(f"repo:{REPO}", sort="updated")
    assert listed.totalCount == len(world.store.issues[REPO])
    assert {i.number for i in listed} == set(world.store.issues[REPO])


def test_search_filters_by_update_time_scope_and_kind(fresh: World) -> None:
    before = fresh.get("/search/issues", params={"q": "org:acme"}).json()["total_count"]
    fresh.clock.advance(hours=1)
    cut = fresh.clock().strftime("%Y-%m-%dT%H:%M:%SZ")
    number = next(iter(fresh.store.issues[REPO]))
    fresh.store.edit(REPO, number, title="Touched after the cut")
    since = {"q": f"org:acme updated:>={cut}", "sort": "updated", "order": "desc"}
    hits = fresh.get("/search/issues", params=since).json()
    assert [i["number"] for i in hits["items"]] == [number] and hits["total_count"] == 1
    assert fresh.get("/search/issues", params={"q": "org:acme"}).json()["total_count"] == before
    prs = fresh.get("/search/issues", params={"q": f"repo:{REPO} is:pr"}).json()["items"]
    assert prs and all("pull_request" in i for i in prs)
    issues = fresh.get("/search/issues", params={"q": f"repo:{REPO} is:issue"}).json()
    assert all("pull_request" not in i for i in issues["items"])
    assert fresh.get("/search/issues", params={"q": "org:other"}).json()["total_count"] == 0


def test_a_search_counts_every_hit_and_serves_copies_of_the_first_in_order(
        world: World) -> None:
    store = world.store
    everything = [i for table in store.issues.values() for i in table.values()]
    total, first = store.search_issues(parse_query("org:acme"), "updated_at", "desc", most=3)
    assert total == len(everything) > 3
    newest = sorted(everything, key=lambda i: (i["updated_at"], i["number"]), reverse=True)
    assert [(i["updated_at"], i["number"]) for i in first] == \
        [(i["updated_at"], i["number"]) for i in newest[:3]]
    assert all(i["score"] == 1.0 for i in first)
    # What is served is a copy: a caller changing it changes nothing stored.
    first[0]["title"] = "changed by the caller"
    first[0]["user"]["login"] = "someone-else"
    stored = store.issues[first[0]["repository_url"].split("/repos/", 1)[1]][first[0]["number"]]
    assert stored["title"] != "changed by the caller"
    assert stored["user"]["login"] != "someone-else"


def test_search_answers_422_beyond_its_cap_and_to_what_it_cannot_answer(
        world: World) -> None:
    # Qualifiers the stand-in does not implement are refused rather than ignored (a
    # silently wider answer would hide a connector asking for something new).
    for query in ("label:bug org:acme", "just words", "updated:>=2026-01-01"):
        refused = world.get("/search/issues", params={"q": query})
        assert refused.status_code == 422, query
        assert refused.json()["errors"][0]["field"] == "q"
    beyond = world.get("/search/issues", params={"q": "org:acme", "per_page": 100,
                                                 "page": 11})
    assert beyond.status_code == 422
    assert "first 1000" in beyond.json()["errors"][0]["message"]


def test_a_commit_moves_the_repository_pushed_at(fresh: World) -> None:
    before = fresh.get(f"/repos/{REPO}").json()["pushed_at"]
    fresh.clock.advance(hours=2)
    fresh.store.add_commit(REPO, "Bump", email="dev@example.com", when=fresh.clock())
    after = fresh.get(f"/repos/{REPO}").json()["pushed_at"]
    assert after > before
    listed = {r["full_name"]: r for r in fresh.get("/orgs/acme/repos").json()}
    assert listed[REPO]["pushed_at"] == after


def test_org_repositories_are_listed_in_order_and_served_as_copies(world: World) -> None:
    # Newest first by default; by name ascending; ties (equal stamps) by id.
    for params, field, newest_first in (({}, "created_at", True),
                                        ({"sort": "full_name"}, "full_name", False),
                                        ({"sort": "pushed", "direction": "asc"}, "pushed_at",
                                         False)):
        rows = [r for page in range(1, 4) for r in world.get(
            "/orgs/acme/repos", params={**params, "per_page": 2, "page": page}).json()]
        expected = sorted(world.store.repos.values(), key=lambda r: (r[field], r["id"]),
                          reverse=newest_first)
        assert [r["id"] for r in rows] == [r["id"] for r in expected][:6]
    listed = world.store.org_repos("acme")
    page = listed[0:2]
    page[0]["name"] = "changed"
    assert listed[0]["name"] != "changed" and "changed" not in {
        r["name"] for r in world.store.repos.values()}
