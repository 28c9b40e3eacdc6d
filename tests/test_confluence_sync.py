"""Confluence Cloud end to end: the connector against the sandbox stand-in on loopback,
through `sync_everything`, on both databases: pages and inline tasks land with their
people and due dates, changes and trash reach the graph, reruns write nothing, Jira keys
become references, and faults end in the same graph as a clean run."""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from conftest import NOW, Database
from helpers import graph_snapshot, item_by_key
from model import Identity, Involvement, ItemKind, Link, Person, Role, TokenRole, WorkItem
from model.db import make_engine
from model.queries.access import Viewer
from model.queries.items import ItemFilter, search_items
from pipelines.sync import sync_everything
from sandbox.confluence import ConfluenceStore, NewTask, create_app, populate
from sandbox.faults import FaultPlan
from sandbox.org import Organisation, generate_org
from sandbox.serve import serving
from workhub.config import WorkhubConfig

SOURCE = "wiki"
ZONE = "Europe/Berlin"


class Swap:
    """One loopback server for the module whose app each test replaces (fast)."""

    app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Swap, str]]:
    """A loopback server for the whole module."""
    swap = Swap()
    with serving(swap) as url:
        yield swap, url


class Clock:
    """A settable clock for the stand-in: mutations happen after the seeded history."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def tick(self) -> None:
        self.now += timedelta(minutes=30)


@dataclass
class Wiki:
    """A seeded Confluence, served, and a config reading it."""

    store: ConfluenceStore
    org: Organisation
    clock: Clock
    config: WorkhubConfig
    swap: Swap

    def person_of(self, account_id: str) -> str:
        """The org person with this Atlassian accountId."""
        return next(p.id for p in self.org.people if p.jira_account_id == account_id)

    def space_id(self) -> str:
        """The first team's space id."""
        return next(iter(self.store.spaces))

    def visible_tasks(self) -> list[dict[str, Any]]:
        """Tasks whose page is current (what Confluence lists)."""
        return [t for t in self.store.tasks.values()
                if self.store.pages[t["pageId"]]["status"] == "current"]


def wiki_config(org: Organisation, url: str, spaces: list[str]) -> WorkhubConfig:
    """People with their Atlassian accountIds as aliases, and one Confluence source."""
    return WorkhubConfig.model_validate({
        "org": {
            "timezone": ZONE,
            "people": [{"id": p.id, "name": p.name, "email": p.email,
                        "aliases": [f"jira:{p.jira_account_id}"]} for p in org.people],
            "teams": [{"id": t.id, "name": t.name, "manager": t.manager,
                       "members": [{"person": m} for m in t.members]} for t in org.teams],
        },
        "sources": [{"name": SOURCE, "kind": "confluence", "url": url,
                     "username": "dev@example.com", "token": "api-token", "spaces": spaces,
                     "page_size": 7, "task_page_size": 7}],
    })


def make_wiki(swap: Swap, url: str, faults: FaultPlan | None = None, seed: int = 3) -> Wiki:
    """A small org (one team space of 10-20 pages) served by the stand-in."""
    org = generate_org(people=7, seed=seed)
    clock = Clock(NOW)
    store = ConfluenceStore(clock=clock)
    populate(store, org, random.Random(seed), NOW - timedelta(hours=1))
    swap.app = create_app(store, faults)
    spaces = [s["key"] for s in store.spaces.values()]
    return Wiki(store, org, clock, wiki_config(org, url, spaces), swap)


@pytest.fixture
def wiki(server: tuple[Swap, str]) -> Wiki:
    """A seeded wiki on the module's server."""
    return make_wiki(*server)


def _people(db: Database, key: str) -> set[tuple[str, str]]:
    """(person slug, role) of an item's resolved involvements."""
    with db.sessions() as session:
        return {(slug, inv.role.value) for inv, slug in session.execute(
            select(Involvement, Person.slug)
            .join(Person, Person.id == Involvement.person_id)
            .join(WorkItem, WorkItem.id == Involvement.item_id)
            .where(WorkItem.key == key))}


def _expected_due(due_at: str) -> datetime:
    day = datetime.fromisoformat(due_at.replace("Z", "+00:00")).date()
    return datetime.combine(day, time(23, 59, 59), ZoneInfo(ZONE)).astimezone(UTC)


# ---------------------------------------------------------------- full sync


def test_full_sync_lands_every_page_and_task(db: Database, wiki: Wiki, now: datetime) -> None:
    sync_everything(db.sessions, wiki.config, now)
    graph = graph_snapshot(db.sessions)
    pages = {f"{SOURCE}:page:{p['id']}" for p in wiki.store.pages.values()
             if p["status"] == "current"}
    tasks = {f"{SOURCE}:task:{t['id']}" for t in wiki.visible_tasks()}
    assert set(graph) == pages | tasks


def test_tasks_have_their_assignees(db: Database, wiki: Wiki, now: datetime) -> None:
    sync_everything(db.sessions, wiki.config, now)
    for task in wiki.visible_tasks():
        assignees = {s for s, role in _people(db, f"{SOURCE}:task:{task['id']}")
                     if role == "assignee"}
        assert assignees == {wiki.person_of(task["assignedTo"])}


def test_tasks_have_their_due_dates_at_end_of_day(
    db: Database, wiki: Wiki, now: datetime
) -> None:
    sync_everything(db.sessions, wiki.config, now)
    for task in wiki.visible_tasks():
        item = item_by_key(db.sessions, f"{SOURCE}:task:{task['id']}")
        assert item is not None and item.due_at == _expected_due(task["dueAt"])


def test_task_status_follows_its_checkbox(db: Database, wiki: Wiki, now: datetime) -> None:
    sync_everything(db.sessions, wiki.config, now)
    graph = graph_snapshot(db.sessions)
    assert {graph[f"{SOURCE}:task:{t['id']}"]["status"] for t in wiki.visible_tasks()
            if t["status"] == "complete"} == {"done"}
    assert {graph[f"{SOURCE}:task:{t['id']}"]["status"] for t in wiki.visible_tasks()
            if t["status"] == "incomplete"} == {"todo"}


def test_pages_are_documents_with_owner_and_editor(
    db: Database, wiki: Wiki, now: datetime
) -> None:
    sync_everything(db.sessions, wiki.config, now)
    page = next(p for p in wiki.store.pages.values() if p["version"]["number"] > 1)
    key = f"{SOURCE}:page:{page['id']}"
    item = item_by_key(db.sessions, key)
    assert item is not None and item.kind is ItemKind.page
    assert item.status_category.value == "done"  # never committed work
    assert item.url.endswith(page["_links"]["webui"])
    people = _people(db, key)
    assert (wiki.person_of(page["ownerId"]), "author") in people
    assert (wiki.person_of(page["version"]["authorId"]), "editor") in people


def test_task_links_to_its_page(db: Database, wiki: Wiki, now: datetime) -> None:
    sync_everything(db.sessions, wiki.config, now)
    task = wiki.visible_tasks()[0]
    with db.sessions() as session:
        page = session.scalar(select(WorkItem).where(
            WorkItem.key == f"{SOURCE}:page:{task['pageId']}"))
        link = session.scalar(select(Link).join(WorkItem, WorkItem.id == Link.from_item_id)
                              .where(WorkItem.key == f"{SOURCE}:task:{task['id']}",
                                     Link.type == "parent"))
        assert page is not None and link is not None and link.to_item_id == page.id


def test_task_appears_in_its_assignees_360_view(
    db: Database, wiki: Wiki, now: datetime
) -> None:
    sync_everything(db.sessions, wiki.config, now)
    task = next(t for t in wiki.visible_tasks() if t["status"] == "incomplete")
    person = wiki.person_of(task["assignedTo"])
    with db.sessions() as session:
        person_id = session.scalar(select(Person.id).where(Person.slug == person))
        assert person_id is not None
        view = search_items(session, Viewer(person_id, TokenRole.member), people=[person_id],
                            filt=ItemFilter(kinds=[ItemKind.task]), limit=500)
    assert f"{SOURCE}:task:{task['id']}" in {_key_of(db, i.id) for i in view.items}
    assert "assignee" in next(i.roles for i in view.items
                              if _key_of(db, i.id) == f"{SOURCE}:task:{task['id']}")


def _key_of(db: Database, item_id: int) -> str:
    with db.sessions() as session:
        item = session.get(WorkItem, item_id)
        assert item is not None
        return item.key


def test_role_of_task_creator_is_reporter(db: Database, wiki: Wiki, now: datetime) -> None:
    sync_everything(db.sessions, wiki.config, now)
    task = wiki.visible_tasks()[0]
    assert (wiki.person_of(task["createdBy"]), Role.reporter.value) in _people(
        db, f"{SOURCE}:task:{task['id']}")


# ---------------------------------------------------------------- changes


def test_edited_page_reaches_the_graph(db: Database, wiki: Wiki, now: datetime) -> None:
    sync_everything(db.sessions, wiki.config, now)
    page = next(p for p in wiki.store.pages.values() if p["status"] == "current")
    editor = wiki.org.people[-1].jira_account_id
    wiki.clock.tick()
    wiki.store.edit_page(page["id"], editor, title="Renamed after review")
    (pages, _tasks), _ = sync_everything(db.sessions, wiki.config, now)
    assert (pages.changed, pages.new) == (1, 0)
    key = f"{SOURCE}:page:{page['id']}"
    item = item_by_key(db.sessions, key)
    assert item is not None and item.title == "Renamed after review"
    assert (wiki.person_of(editor), "editor") in _people(db, key)


def test_completed_task_reaches_the_graph(db: Database, wiki: Wiki, now: datetime) -> None:
    sync_everything(db.sessions, wiki.config, now)
    task = next(t for t in wiki.visible_tasks() if t["status"] == "incomplete")
    wiki.clock.tick()
    wiki.store.complete_task(task["id"], task["assignedTo"])
    sync_everything(db.sessions, wiki.config, now)
    item = item_by_key(db.sessions, f"{SOURCE}:task:{task['id']}")
    assert item is not None and item.status_category.value == "done"


def test_reassigned_task_reaches_the_graph(db: Database, wiki: Wiki, now: datetime) -> None:
    sync_everything(db.sessions, wiki.config, now)
    task = wiki.visible_tasks()[0]
    other = next(p for p in wiki.org.people if p.jira_account_id != task["assignedTo"])
    wiki.clock.tick()
    wiki.store.reassign_task(task["id"], other.jira_account_id, other.jira_account_id)
    sync_everything(db.sessions, wiki.config, now)
    assignees = {s for s, role in _people(db, f"{SOURCE}:task:{task['id']}")
                 if role == "assignee"}
    assert assignees == {other.id}


def test_second_sync_without_change_writes_nothing(
    db: Database, wiki: Wiki, now: datetime
) -> None:
    sync_everything(db.sessions, wiki.config, now)
    with db.sessions() as session:
        before = {(i.key, i.content_hash) for i in session.scalars(select(WorkItem))}
    landed, normalized = sync_everything(db.sessions, wiki.config, now)
    assert [(s.new, s.changed, s.deleted) for s in landed] == [(0, 0, 0), (0, 0, 0)]
    assert normalized.records == 0
    with db.sessions() as session:
        assert {(i.key, i.content_hash) for i in session.scalars(select(WorkItem))} == before


def test_incremental_sync_reads_only_recent_pages(
    db: Database, wiki: Wiki, now: datetime
) -> None:
    sync_everything(db.sessions, wiki.config, now)
    (pages, _tasks), _ = sync_everything(db.sessions, wiki.config, now)
    # Only pages inside the lookback window before the watermark are read again.
    assert pages.fetched < len(wiki.store.pages) / 2


def test_trashed_page_is_tombstoned(db: Database, wiki: Wiki, now: datetime) -> None:
    sync_everything(db.sessions, wiki.config, now)
    homepages = {s["homepageId"] for s in wiki.store.spaces.values()}
    page = next(p for p in wiki.store.pages.values() if p["id"] not in homepages
                and any(t["pageId"] == p["id"] for t in wiki.store.tasks.values()))
    wiki.store.delete_page(page["id"])
    sync_everything(db.sessions, wiki.config, now)
    item = item_by_key(db.sessions, f"{SOURCE}:page:{page['id']}")
    assert item is not None and item.deleted_at == now
    assert item.delete_reason == "trashed in Confluence"


def test_tasks_of_a_trashed_page_are_tombstoned(
    db: Database, wiki: Wiki, now: datetime
) -> None:
    sync_everything(db.sessions, wiki.config, now)
    task = wiki.visible_tasks()[0]
    wiki.store.delete_page(task["pageId"])
    sync_everything(db.sessions, wiki.config, now)
    item = item_by_key(db.sessions, f"{SOURCE}:task:{task['id']}")
    assert item is not None and item.deleted_at == now


def test_jira_keys_in_titles_and_tasks_become_references(
    db: Database, wiki: Wiki, now: datetime
) -> None:
    author = wiki.org.people[1].jira_account_id
    wiki.clock.tick()
    page = wiki.store.create_page(wiki.space_id(), "[PLAT-12] Rollout plan", "<p>Plan</p>",
                                  author)
    task = wiki.store.create_task(page["id"], "Close PLAT-7 before the freeze", author,
                                  assigned_to=author)
    sync_everything(db.sessions, wiki.config, now)
    with db.sessions() as session:
        refs = {(key, ref) for key, ref in session.execute(
            select(WorkItem.key, Link.to_ref).join(Link, Link.from_item_id == WorkItem.id)
            .where(Link.type == "references"))}
    assert (f"{SOURCE}:page:{page['id']}", "PLAT-12") in refs
    assert (f"{SOURCE}:task:{task['id']}", "PLAT-7") in refs


def test_people_resolve_through_jira_account_aliases(
    db: Database, wiki: Wiki, now: datetime
) -> None:
    sync_everything(db.sessions, wiki.config, now)
    with db.sessions() as session:
        unresolved = session.scalars(select(Identity.value).where(
            Identity.namespace == "jira", Identity.person_id.is_(None))).all()
    assert unresolved == []


# ---------------------------------------------------------------- faults


def test_faults_end_in_the_same_graph_as_a_clean_run(
    db: Database, server: tuple[Swap, str], sqlite_template: Path, tmp_path: Path,
    now: datetime
) -> None:
    clean_path = tmp_path / "clean.db"
    shutil.copy(sqlite_template, clean_path)
    engine = make_engine(f"sqlite:///{clean_path}")
    clean_db = sessionmaker(engine, expire_on_commit=False)
    clean = make_wiki(*server)
    clean_landed, _ = sync_everything(clean_db, clean.config, now)
    expected = graph_snapshot(clean_db)
    engine.dispose()

    plan = FaultPlan(seed=11, server_errors=0.15, rate_limits=0.15, retry_after_seconds=0)
    faulty = make_wiki(*server, faults=plan)
    landed, _ = sync_everything(db.sessions, faulty.config, now)
    assert graph_snapshot(db.sessions) == expected
    # The faults were met (and retried): more requests than the clean run made.
    assert sum(s.requests for s in landed) > sum(s.requests for s in clean_landed)


def test_a_site_with_more_spaces_than_one_filter_takes_is_synced_whole(
    db: Database, server: tuple[Swap, str]
) -> None:
    # /pages takes 100 space ids and /tasks 250 (the OpenAPI's maxItems; the stand-in
    # refuses more): 130 spaces must be listed in groups.
    wiki = make_wiki(*server)
    author = next(iter(wiki.store.spaces.values()))["authorId"]
    assignee = wiki.org.people[1].jira_account_id
    for n in range(130):
        space = wiki.store.create_space(f"S{n}", f"Space {n}", author)
        wiki.store.create_page(space["id"], f"Notes {n}", "<p>notes</p>", author,
                               tasks=[NewTask(f"Follow up {n}", assigned_to=assignee)])
    keys = [s["key"] for s in wiki.store.spaces.values()]
    config = wiki_config(wiki.org, server[1], keys)
    sync_everything(db.sessions, config, NOW)
    with db.sessions() as session:
        titles = set(session.scalars(select(WorkItem.title).where(
            WorkItem.deleted_at.is_(None))))
    assert {f"Notes {n}" for n in range(130)} <= titles
    assert {f"Follow up {n}" for n in range(130)} <= titles
