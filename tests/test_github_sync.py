"""GitHub end to end against the stand-in: full and incremental sync, free 304s, changes,
transfers and deletions, faults, an exhausted rate budget, PR -> Jira links, quarantine."""

from __future__ import annotations

import random
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conftest import NOW, Database
from connectors.base import Page, RawItem
from connectors.github.client import forget_budget, use_budget
from connectors.github.milestones import MilestonesStream
from connectors.github.repo_stream import CHECKPOINT_REPOS
from connectors.http import RequestBudget
from helpers import graph_snapshot, item_by_key
from model import Identity, Involvement, Link, RawRecord, Role, WorkItem
from model.db import make_engine, make_sessionmaker
from pipelines.sync import sync_everything
from sandbox.faults import FaultPlan, RateBudget
from sandbox.github import GitHubStore, create_app, populate
from sandbox.org import Organisation, generate_org
from sandbox.serve import serving
from workhub.config import WorkhubConfig

TOKEN = "test-token"


class Clock:
    """One hand-moved clock for the stand-in's timestamps, its budget and our waits."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def time(self) -> float:
        """Epoch seconds, for the rate budgets."""
        return self.now.timestamp()

    def sleep(self, seconds: float) -> None:
        """Waiting moves time on instead of passing it."""
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


class Recorder:
    """ASGI wrapper noting the status (and path) of every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.statuses: list[int] = []
        self.paths: list[str] = []

    def clear(self) -> None:
        """Forget what was recorded so far."""
        self.statuses.clear()
        self.paths.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def spy(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.statuses.append(message["status"])
                self.paths.append(str(scope.get("path", "")).removeprefix("/api/v3"))
            await send(message)

        await self.app(scope, receive, spy)


@dataclass
class World:
    """A stand-in with its store, clock, budget and recorder, served on loopback."""

    store: GitHubStore
    clock: Clock
    budget: RateBudget
    recorder: Recorder
    url: str
    org: Organisation | None = None
    logins: list[str] = field(default_factory=list)

    def config(self, **source: Any) -> WorkhubConfig:
        """A workhub config with the org's people (github aliases) and one source."""
        people = [{"id": p.id, "name": p.name, "email": p.email,
                   "aliases": [f"github:{p.github_login}"]} for p in (self.org.people
                                                                       if self.org else [])]
        return WorkhubConfig.model_validate({
            "org": {"timezone": "Europe/Berlin", "people": people},
            "sources": [{"name": "gh", "kind": "github", "base_url": self.url + "/api/v3",
                         "token": TOKEN, "org": "acme", **source}]})

    def later(self, minutes: float = 30) -> None:
        """Move the world's time on before a change."""
        self.clock.now += timedelta(minutes=minutes)


@contextmanager
def running(store: GitHubStore, clock: Clock, org: Organisation | None = None,
            plan: FaultPlan | None = None, limit: int = 5000) -> Iterator[World]:
    """Serve `store` behind the fault model, with our budget on the same clock."""
    budget = RateBudget(limit, clock=clock.time)
    plan = plan or FaultPlan()
    plan.budget = budget
    recorder = Recorder(create_app(store, plan))
    with serving(recorder) as url:
        api = url + "/api/v3"
        use_budget(api, TOKEN, RequestBudget(clock=clock.time, sleep=clock.sleep))
        try:
            yield World(store, clock, budget, recorder, url, org)
        finally:
            forget_budget(api, TOKEN)


def seeded(clock: Clock, seed: int = 1) -> tuple[GitHubStore, Organisation]:
    """A small generated organisation's GitHub (two team repositories)."""
    org = generate_org(people=12, seed=7)
    store = GitHubStore(clock=clock)
    populate(store, org, random.Random(seed), clock(), jira_issue_count_per_project=20)
    return store, org


@pytest.fixture
def world() -> Iterator[World]:
    """The generated organisation, served."""
    clock = Clock(NOW)
    store, org = seeded(clock)
    with running(store, clock, org) as served:
        yield served


@pytest.fixture
def tiny() -> Iterator[World]:
    """One repository with two people, for hand-made issues and pull requests."""
    clock = Clock(NOW - timedelta(days=2))
    store = GitHubStore(clock=clock)
    for login in ("ada", "ben"):
        store.add_user(login, name=login.title())
    store.create_repo("api")
    store.create_milestone("acme/api", "Sprint 9", due_on=datetime(2026, 12, 9, 12, tzinfo=UTC))
    with running(store, clock) as served:
        yield served


def live(db: Database) -> dict[str, WorkItem]:
    """Live work items by key."""
    with db.sessions() as session:
        return {i.key: i for i in session.scalars(
            select(WorkItem).where(WorkItem.deleted_at.is_(None)))}


def links_of(db: Database, key: str) -> set[tuple[str, str]]:
    """(type, to_ref) of an item's links."""
    with db.sessions() as session:
        item = session.scalar(select(WorkItem).where(WorkItem.key == key))
        assert item is not None, key
        return {(link.type, link.to_ref) for link in session.scalars(
            select(Link).where(Link.from_item_id == item.id))}


def all_issues(store: GitHubStore) -> list[dict[str, Any]]:
    """Every issue and pull request of the store, as issue objects."""
    return [issue for repo in store.issues.values() for issue in repo.values()]


# ---------------------------------------------------------------- full sync


def test_full_sync_lands_every_issue_and_pull_request(db: Database, world: World) -> None:
    sync_everything(db.sessions, world.config(per_page=10), NOW)
    items = live(db)
    expected = {f"gh:{i['id']}": "pull_request" if "pull_request" in i else "issue"
                for i in all_issues(world.store)}
    assert {k: v.kind.value for k, v in items.items() if k in expected} == expected


def test_full_sync_lands_milestones_as_goals_with_due_dates(db: Database, world: World) -> None:
    sync_everything(db.sessions, world.config(), NOW)
    items, berlin = live(db), ZoneInfo("Europe/Berlin")
    goals = {k: (i.title, i.due_at) for k, i in items.items() if i.kind.value == "goal"}
    expected = {}
    for milestones in world.store.milestones.values():
        for m in milestones.values():
            day = datetime.fromisoformat(m["due_on"].replace("Z", "+00:00")).date()
            end = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=berlin)
            expected[f"gh:milestone/{m['id']}"] = (m["title"], end.astimezone(UTC))
    assert {k: (t, d.replace(tzinfo=UTC) if d and d.tzinfo is None else d)
            for k, (t, d) in goals.items()} == expected


def test_full_sync_lands_requested_reviewers_of_open_pulls(db: Database, world: World) -> None:
    sync_everything(db.sessions, world.config(), NOW)
    expected = {(f"gh:{world.store.issues[repo][n]['id']}", r["login"])
                for repo, pulls in world.store.pulls.items() for n, p in pulls.items()
                if p["state"] == "open" for r in p["requested_reviewers"]}
    with db.sessions() as session:
        found = set(session.execute(
            select(WorkItem.key, Identity.value)
            .join(Involvement, Involvement.item_id == WorkItem.id)
            .join(Identity, Identity.id == Involvement.identity_id)
            .where(Involvement.role == Role.reviewer)).all())
    assert expected and found == expected


def test_github_logins_resolve_to_people_through_aliases(db: Database, world: World) -> None:
    sync_everything(db.sessions, world.config(), NOW)
    with db.sessions() as session:
        unresolved = session.scalars(select(Identity.value).where(
            Identity.namespace == "github", Identity.person_id.is_(None))).all()
    assert unresolved == []


# ---------------------------------------------------------------- incremental


def test_second_sync_without_change_is_answered_by_304s_only(db: Database, world: World) -> None:
    config = world.config(per_page=10)
    sync_everything(db.sessions, config, NOW)
    world.recorder.clear()
    before = world.budget.peek(TOKEN)
    landed, normalized = sync_everything(db.sessions, config, NOW)
    assert set(world.recorder.statuses) == {304}
    assert world.budget.peek(TOKEN) == before
    assert [(s.new, s.changed, s.deleted) for s in landed] == [(0, 0, 0)] * len(landed)
    assert normalized.records == 0


def test_unchanged_organisation_costs_its_listing_once_and_a_search_per_stream(
        db: Database, world: World) -> None:
    config = world.config()
    sync_everything(db.sessions, config, NOW)
    world.recorder.clear()
    sync_everything(db.sessions, config, NOW)
    # However many repositories: the org's repository listing and a search, all 304s.
    assert sorted(set(world.recorder.paths)) == ["/orgs/acme/repos", "/search/issues"]
    assert world.recorder.paths.count("/search/issues") == 2  # issues, milestones
    # The listing is one page here, asked by the first of the three streams only.
    assert world.recorder.paths.count("/orgs/acme/repos") == 1


def test_only_the_changed_repository_is_read(db: Database, world: World) -> None:
    config = world.config()
    sync_everything(db.sessions, config, NOW)
    repos = sorted(world.store.repos)
    assert len(repos) >= 2
    issue = next(iter(world.store.issues[repos[0]].values()))
    world.later()
    world.store.edit(repos[0], issue["number"], title="Changed in one repository")
    world.recorder.clear()
    sync_everything(db.sessions, config, NOW)
    assert live(db)[f"gh:{issue['id']}"].title == "Changed in one repository"
    read = {p.split("/")[3] for p in world.recorder.paths if p.startswith("/repos/")}
    assert read == {repos[0].split("/")[1]}
    # The change moved the search's watermark; the next run is 304s again.
    world.recorder.clear()
    sync_everything(db.sessions, config, NOW)
    assert set(world.recorder.statuses) == {304}


def test_only_repositories_pushed_to_have_their_commits_read(
        db: Database, world: World) -> None:
    config = world.config()
    sync_everything(db.sessions, config, NOW)
    repos = sorted(world.store.repos)
    world.later()
    made = world.store.add_commit(repos[1], "Fix the flaky test", email="dev@example.com",
                                  when=world.clock())
    world.recorder.clear()
    sync_everything(db.sessions, config, NOW)
    commit_reads = {p for p in world.recorder.paths if p.endswith("/commits")}
    assert commit_reads == {f"/repos/{repos[1]}/commits"}
    with db.sessions() as session:
        assert session.scalar(select(RawRecord.id).where(
            RawRecord.stream == "commits", RawRecord.external_id == made["sha"])) is not None


def test_edit_reaches_the_graph(db: Database, world: World) -> None:
    config = world.config()
    sync_everything(db.sessions, config, NOW)
    issue = next(i for i in all_issues(world.store) if "pull_request" not in i)
    world.later()
    world.store.edit(_repo(issue), issue["number"], title="Renamed on GitHub")
    sync_everything(db.sessions, config, NOW)
    assert live(db)[f"gh:{issue['id']}"].title == "Renamed on GitHub"


def test_reassignment_reaches_the_graph(db: Database, world: World) -> None:
    config = world.config()
    sync_everything(db.sessions, config, NOW)
    issue = next(i for i in all_issues(world.store) if "pull_request" not in i)
    assert world.org is not None
    login = world.org.people[-1].github_login
    world.later()
    world.store.reassign(_repo(issue), issue["number"], [login])
    sync_everything(db.sessions, config, NOW)
    people = graph_snapshot(db.sessions)[f"gh:{issue['id']}"]["people"]
    assert [p[0] for p in people if p[2] == "assignee"] == [login]


def test_close_as_not_planned_cancels_the_item(db: Database, world: World) -> None:
    config = world.config()
    sync_everything(db.sessions, config, NOW)
    issue = next(i for i in all_issues(world.store)
                 if "pull_request" not in i and i["state"] == "open")
    world.later()
    world.store.close(_repo(issue), issue["number"], state_reason="not_planned")
    sync_everything(db.sessions, config, NOW)
    assert live(db)[f"gh:{issue['id']}"].status_category.value == "cancelled"


def test_deleted_issue_is_tombstoned_with_reason(db: Database, world: World) -> None:
    config = world.config(sweep_hours=0)
    sync_everything(db.sessions, config, NOW)
    issue = next(i for i in all_issues(world.store) if "pull_request" not in i)
    world.later()
    world.store.delete(_repo(issue), issue["number"])
    sync_everything(db.sessions, config, NOW)
    item = item_by_key(db.sessions, f"gh:{issue['id']}")
    assert item is not None and item.deleted_at is not None
    assert item.delete_reason == "deleted on GitHub"


def test_deletion_is_found_once_the_sweep_is_due(db: Database, world: World) -> None:
    config = world.config(sweep_hours=6)
    sync_everything(db.sessions, config, NOW)
    issue = next(i for i in all_issues(world.store) if "pull_request" not in i)
    world.store.delete(_repo(issue), issue["number"])
    world.later(minutes=7 * 60)
    sync_everything(db.sessions, config, NOW)
    item = item_by_key(db.sessions, f"gh:{issue['id']}")
    assert item is not None and item.deleted_at is not None


def test_transfer_out_of_the_synced_repos_tombstones_with_reason(
    db: Database, world: World
) -> None:
    first, second = sorted(world.store.repos)
    config = world.config(repos=[first], sweep_hours=0)
    sync_everything(db.sessions, config, NOW)
    issue = next(i for i in world.store.issues[first].values() if "pull_request" not in i)
    world.later()
    moved = world.store.transfer(first, issue["number"], second)
    sync_everything(db.sessions, config, NOW)
    item = item_by_key(db.sessions, f"gh:{issue['id']}")
    assert item is not None and item.deleted_at is not None
    assert item.delete_reason == f"transferred to {second}#{moved['number']}"


def test_transfer_between_synced_repos_keeps_the_item(db: Database, world: World) -> None:
    first, second = sorted(world.store.repos)
    config = world.config(sweep_hours=0)
    sync_everything(db.sessions, config, NOW)
    issue = next(i for i in world.store.issues[first].values() if "pull_request" not in i)
    world.later()
    moved = world.store.transfer(first, issue["number"], second)
    sync_everything(db.sessions, config, NOW)
    assert live(db)[f"gh:{issue['id']}"].ref == f"{second}#{moved['number']}"
    with db.sessions() as session:
        reason = session.scalar(select(RawRecord.delete_reason).where(
            RawRecord.stream == "issues",
            RawRecord.external_id == f"{world.store.repos[first]['id']}/{issue['number']}"))
    assert reason == f"transferred to {second}#{moved['number']}"


# ---------------------------------------------------------------- faults and budget


def test_faults_end_in_the_same_graph_as_a_clean_run(
    db: Database, sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "clean.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    clean_sessions = make_sessionmaker(engine)
    try:
        clock = Clock(NOW)
        store, org = seeded(clock)
        with running(store, clock, org) as clean:
            sync_everything(clean_sessions, clean.config(per_page=10), NOW)
        plan = FaultPlan(seed=11, server_errors=0.1, rate_limits=0.04, dropped=0.02)
        with running(store, clock, org, plan) as faulty:
            sync_everything(db.sessions, faulty.config(per_page=10), NOW)
            statuses = set(faulty.recorder.statuses)
        assert graph_snapshot(db.sessions) == graph_snapshot(clean_sessions)
        assert statuses & {500, 403}  # the faults did strike
    finally:
        engine.dispose()


def test_exhausted_budget_waits_for_the_reset_and_completes(db: Database) -> None:
    clock = Clock(NOW)
    store, org = seeded(clock)
    with running(store, clock, org, limit=8) as served:
        sync_everything(db.sessions, served.config(), NOW)
        refused = served.recorder.statuses.count(403)
    assert clock.sleeps and max(clock.sleeps) > 0
    assert refused == 0  # we waited instead of running into the limit
    expected = {f"gh:{i['id']}" for i in all_issues(store)}
    assert expected <= set(live(db))


# ---------------------------------------------------------------- checkpoints


def test_a_checkpoint_names_only_repositories_handed_over_whole() -> None:
    """Repositories are read four at once; a cursor written with a page must not hold
    the state of a repository whose pages were read ahead and are not landed yet."""
    source = SimpleNamespace(cfg=SimpleNamespace(repos_at_once=4), client=None)
    stream = MilestonesStream(source)  # type: ignore[arg-type]
    repos = [(n, f"acme/r{n}") for n in range(1, 2 * CHECKPOINT_REPOS + 11)]
    state: dict[str, Any] = {"repos": {str(i): {"name": n} for i, n in repos}}
    started = {repo_id: threading.Event() for repo_id, _ in repos}

    def pages_of(repo_id: int, name: str, repo: dict[str, Any]) -> Iterator[Page]:
        started[repo_id].set()
        for part in (1, 2):
            repo["read"] = part  # what a listing learns: ETags, watermarks
            if part == 2 and repo_id % CHECKPOINT_REPOS == 0:
                # The next repository is being read when this one's checkpoint is made.
                assert started[repo_id + 1].wait(5)
            yield Page([RawItem(f"{repo_id}/{part}", {})])

    handed: dict[int, int] = {}
    checkpoints: list[set[int]] = []
    for page in stream._checkpointed(repos, state, pages_of):
        for record in page.records:
            repo_id, part = map(int, record.external_id.split("/"))
            handed[repo_id] = part
        if page.cursor is not None:
            named = {int(k) for k, v in page.cursor["repos"].items() if "read" in v}
            whole = {repo_id for repo_id, part in handed.items() if part == 2}
            assert named == whole
            assert all(page.cursor["repos"][str(r)]["read"] == 2 for r in named)
            checkpoints.append(named)
    assert [len(named) for named in checkpoints] == [50, 100, 110]


# ---------------------------------------------------------------- links


def _pull(world: World, title: str, head: str, body: str | None) -> str:
    made = world.store.create_pull("acme/api", title, user="ada", head=head, body=body,
                                   reviewers=["ben"])
    return f"gh:{world.store.issues['acme/api'][made['number']]['id']}"


def test_jira_key_in_title_or_branch_is_implemented(db: Database, tiny: World) -> None:
    key = _pull(tiny, "PLAT-12 Fix login", "feature/PLAT-13-fix-login", "Small change.")
    sync_everything(db.sessions, tiny.config(), NOW)
    assert links_of(db, key) == {("implements", "PLAT-12"), ("implements", "PLAT-13")}


def test_jira_key_in_body_is_referenced(db: Database, tiny: World) -> None:
    key = _pull(tiny, "Fix login", "fix/login", "Part of PLAT-14: the login loop.")
    sync_everything(db.sessions, tiny.config(), NOW)
    assert links_of(db, key) == {("references", "PLAT-14")}


def test_fixes_number_implements_the_issue_of_the_repo(db: Database, tiny: World) -> None:
    issue = tiny.store.create_issue("acme/api", "Login loops", user="ben")
    key = _pull(tiny, "Fix login", "fix/login",
                f"Fixes #{issue['number']}, closes acme/web#4")
    sync_everything(db.sessions, tiny.config(), NOW)
    assert links_of(db, key) == {("implements", f"acme/api#{issue['number']}"),
                                 ("implements", "acme/web#4")}
    with db.sessions() as session:
        target = session.scalar(select(Link.to_item_id).where(
            Link.to_ref == f"acme/api#{issue['number']}"))
    assert target == live(db)[f"gh:{issue['id']}"].id


def test_milestone_is_the_parent_and_gives_the_due_date(db: Database, tiny: World) -> None:
    issue = tiny.store.create_issue("acme/api", "Ship it", user="ada", milestone=1)
    sync_everything(db.sessions, tiny.config(), NOW)
    assert links_of(db, f"gh:{issue['id']}") == {("parent", "acme/api/milestone/1")}
    due = live(db)[f"gh:{issue['id']}"].due_at
    assert due is not None and due.replace(tzinfo=UTC) == datetime(2026, 12, 9, 22, 59, 59,
                                                                   tzinfo=UTC)


def test_open_pull_is_in_progress_and_a_draft_todo(db: Database, tiny: World) -> None:
    ready = _pull(tiny, "Ready", "a", None)
    made = tiny.store.create_pull("acme/api", "Draft", user="ada", head="b", draft=True)
    sync_everything(db.sessions, tiny.config(), NOW)
    items = live(db)
    draft = f"gh:{tiny.store.issues['acme/api'][made['number']]['id']}"
    assert (items[ready].status_category.value, items[draft].status_category.value) == (
        "in_progress", "todo")


# ---------------------------------------------------------------- quarantine


def test_malformed_issue_is_quarantined_and_the_rest_syncs(db: Database, tiny: World) -> None:
    good = tiny.store.create_issue("acme/api", "Fine", user="ada")
    bad = tiny.store.create_issue("acme/api", "Broken", user="ben")
    tiny.store.issues["acme/api"][bad["number"]]["created_at"] = "yesterday"
    sync_everything(db.sessions, tiny.config(), NOW)
    with db.sessions() as session:
        reason = session.scalar(select(RawRecord.quarantine_reason).where(
            RawRecord.stream == "issues", RawRecord.external_id.endswith(f"/{bad['number']}")))
    assert reason == "issue acme/api#2: created_at is not a timestamp: 'yesterday'"
    assert f"gh:{good['id']}" in live(db)


def _repo(issue: dict[str, Any]) -> str:
    return str(issue["repository_url"]).rsplit("/repos/", 1)[-1]
