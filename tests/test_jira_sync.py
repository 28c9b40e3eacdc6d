"""Jira end to end against the stand-in (Cloud and Server), through `sync_everything`:
full and incremental syncs, estimates, changes, deletions by the sweep and its guard,
faults, quarantine and authentication."""

from __future__ import annotations

import random
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from conftest import Database
from connectors.errors import AuthError, MassDeletionError
from connectors.jira import JiraSource
from connectors.jira.client import retry_after
from connectors.jira.source import SWEEP_REASON
from helpers import graph_snapshot, item_by_key
from model import (
    Identity,
    Involvement,
    Link,
    Person,
    RawRecord,
    Role,
    Source,
    StatusCategory,
    WorkItem,
)
from model.db import make_engine, make_sessionmaker, upgrade
from pipelines.normalize.context import NormalizeContext, source_kinds
from pipelines.normalize.runner import normalize
from pipelines.normalize.workers import planned_in_workers
from pipelines.sync import sync_everything
from sandbox.faults import FaultMiddleware, FaultPlan
from sandbox.jira import FIELD_STORY_POINTS, JiraStore, create_app, populate
from sandbox.jira.catalog import parse_time
from sandbox.org import generate_org
from sandbox.serve import serving
from workhub.config import JiraSourceConfig, WorkhubConfig

SOURCE = "jira-acme"
AUTH = {"username": "sync-bot@example.com", "token": "api-token"}
ORG = generate_org(people=6, seed=7)  # one team of five: a few dozen issues
PROJECT = ORG.teams[0].jira_project
OTHER = "OPS"


class Clock:
    """The stand-in's hand-moved clock (tests never read the wall clock)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Site:
    """A seeded Jira stand-in served on loopback, and a config pointing at it."""

    store: JiraStore
    clock: Clock
    url: str
    app: Any

    def config(self, **source: Any) -> WorkhubConfig:
        """People of the organisation and one Jira source on this site."""
        return jira_config(self.url, **source)

    def issue(self, key: str) -> dict[str, Any]:
        """The stored issue (what the site shows of it)."""
        return self.store.get(key)

    def synced(self, db: Database, now: datetime) -> Site:
        """This site after a first sync, its clock an hour on."""
        sync_everything(db.sessions, self.config(), now)
        self.clock.advance(hours=1)
        return self


def jira_config(url: str, **source: Any) -> WorkhubConfig:
    """A config with the organisation's people and a Jira source at `url`."""
    people = [{"id": p.id, "name": p.name, "email": p.email} for p in ORG.people]
    fields = {"name": SOURCE, "kind": "jira", "url": url, "projects": [PROJECT, OTHER],
              "page_size": 20, **AUTH, **source}
    return WorkhubConfig.model_validate({
        "org": {"timezone": "Europe/Berlin", "people": people}, "sources": [fields]})


def seeded(deployment: str, clock: Clock) -> JiraStore:
    """The same world every time: the organisation's backlog and an empty second project."""
    store = JiraStore(deployment, clock=clock)
    populate(store, ORG, random.Random(3), clock.now)
    store.add_project(OTHER, "Operations")
    return store


@contextmanager
def serve_site(deployment: str, now: datetime) -> Iterator[Site]:
    """A seeded stand-in of `deployment`, served while the block runs."""
    clock = Clock(now)
    store = seeded(deployment, clock)
    app = create_app(store)
    with serving(app) as url:
        yield Site(store, clock, url, app)


@pytest.fixture(params=["Cloud", "Server"])
def site(request: pytest.FixtureRequest, now: datetime) -> Iterator[Site]:
    """A seeded stand-in of each deployment."""
    with serve_site(request.param, now) as served:
        yield served


@pytest.fixture
def cloud(now: datetime) -> Iterator[Site]:
    """A seeded Cloud stand-in, for promises that do not depend on the deployment."""
    with serve_site("Cloud", now) as served:
        yield served


def item(sessions: sessionmaker[Session], issue: dict[str, Any]) -> WorkItem:
    """The work item of a stored issue."""
    found = item_by_key(sessions, f"{SOURCE}:{issue['id']}")
    assert found is not None, issue["key"]
    return found


def people_of(sessions: sessionmaker[Session], issue: dict[str, Any]) -> dict[str, set[str]]:
    """Role -> the identity values on an issue's item."""
    out: dict[str, set[str]] = {}
    with sessions() as session:
        rows = session.execute(
            select(Involvement.role, Identity.value)
            .join(Identity, Identity.id == Involvement.identity_id)
            .join(WorkItem, WorkItem.id == Involvement.item_id)
            .where(WorkItem.key == f"{SOURCE}:{issue['id']}"))
        for role, value in rows:
            out.setdefault(role.value, set()).add(value)
    return out


def user_id(user: dict[str, Any] | None) -> str | None:
    """What the graph calls a Jira user: accountId on Cloud, user name on Server."""
    return (user.get("accountId") or user.get("name")) if user else None


def full_view(sessions: sessionmaker[Session]) -> dict[str, Any]:
    """The graph with what `graph_snapshot` leaves out: refs, estimates, dates, links."""
    with sessions() as session:
        items = {i.id: i for i in session.scalars(select(WorkItem))}
        links = sorted((items[link.from_item_id].key, link.to_ref, link.type)
                       for link in session.scalars(select(Link)))
        rows = {i.key: (i.ref, i.estimate_hours, i.estimate_source, i.due_at, i.priority,
                        i.status_raw, i.deleted_at) for i in items.values()}
    return {"graph": graph_snapshot(sessions), "items": rows, "links": links}


# ---------------------------------------------------------------- full sync


def test_full_sync_lands_every_issue(db: Database, site: Site, now: datetime) -> None:
    sync_everything(db.sessions, site.config(), now)
    with db.sessions() as session:
        items = {i.external_id: i for i in session.scalars(select(WorkItem))}
    assert set(items) == set(site.store.issues)
    for issue_id, issue in site.store.issues.items():
        got, fields = items[issue_id], issue["fields"]
        assert (got.ref, got.title, got.status_raw, got.container, got.url) == (
            issue["key"], fields["summary"], fields["status"]["name"], PROJECT,
            f"{site.url}/browse/{issue['key']}")


def test_every_estimate_lands(db: Database, site: Site, now: datetime) -> None:
    sync_everything(db.sessions, site.config(), now)
    with db.sessions() as session:
        items = {i.external_id: i for i in session.scalars(select(WorkItem))}
    for issue_id, issue in site.store.issues.items():
        fields = issue["fields"]
        remaining = fields["timetracking"].get("remainingEstimateSeconds")
        points = fields[FIELD_STORY_POINTS]
        expected = ((remaining / 3600, "remaining") if remaining is not None
                    else (points * 4.0, "points") if points is not None else (None, None))
        assert (items[issue_id].estimate_hours, items[issue_id].estimate_source) == expected


def created(db: Database, site: Site, now: datetime, config: dict[str, Any] | None = None,
            **issue: Any) -> WorkItem:
    """Create an issue on the site, sync, and return its work item."""
    stored = site.store.create_issue(PROJECT, issue.pop("summary", "An issue"), **issue)
    sync_everything(db.sessions, site.config(**(config or {})), now)
    return item(db.sessions, stored)


def test_status_priority_and_due_date(db: Database, cloud: Site, now: datetime) -> None:
    got = created(db, cloud, now, priority="Highest", duedate="2026-12-10", status="Blocked")
    # 23:59:59 in Berlin (UTC+1 in December) is 22:59:59 UTC.
    assert (got.status_category.value, got.priority, got.due_at) == (
        "blocked", 0, datetime(2026, 12, 10, 22, 59, 59, tzinfo=UTC))


def test_story_points_use_the_sources_hours_per_point(
        db: Database, cloud: Site, now: datetime) -> None:
    got = created(db, cloud, now, {"hours_per_point": 3}, story_points=5)
    assert (got.estimate_hours, got.estimate_source) == (15.0, "points")


def test_story_points_fall_back_to_the_org_hours_per_point(
        db: Database, cloud: Site, now: datetime) -> None:
    got = created(db, cloud, now, story_points=2)
    assert (got.estimate_hours, got.estimate_source) == (8.0, "points")


def test_remaining_estimate_wins_over_original_and_points(
        db: Database, cloud: Site, now: datetime) -> None:
    store = cloud.store
    key = store.create_issue(PROJECT, "Tracked", original_estimate="2d", story_points=8)["key"]
    store.add_worklog(key, ORG.people[1].jira_account_id, 4 * 3600)
    sync_everything(db.sessions, cloud.config(), now)
    got = item(db.sessions, cloud.issue(key))
    assert (got.estimate_hours, got.estimate_source) == (12.0, "remaining")


def test_original_estimate_when_no_remaining(db: Database, cloud: Site, now: datetime) -> None:
    store = cloud.store
    key = store.create_issue(PROJECT, "Planned", original_estimate="1d", story_points=8)["key"]
    tracking = store.get(key)["fields"]["timetracking"]
    del tracking["remainingEstimateSeconds"], tracking["remainingEstimate"]
    store.edit(key, {"summary": "Planned"})  # recomputes the derived time fields
    sync_everything(db.sessions, cloud.config(), now)
    got = item(db.sessions, cloud.issue(key))
    assert (got.estimate_hours, got.estimate_source) == (8.0, "original")


def test_people_carry_jira_user_ids(db: Database, site: Site, now: datetime) -> None:
    store = site.store
    key = store.create_issue(PROJECT, "Mine", assignee=ORG.people[2].jira_account_id,
                             reporter=ORG.people[1].jira_account_id)["key"]
    # Reported on someone else's behalf: the creator stays who filed it.
    store.edit(key, {"reporter": ORG.people[3].jira_account_id})
    sync_everything(db.sessions, site.config(), now)
    fields = site.issue(key)["fields"]
    assert people_of(db.sessions, site.issue(key)) == {
        "assignee": {user_id(fields["assignee"])}, "reporter": {user_id(fields["reporter"])},
        "author": {user_id(fields["creator"])}}


def test_people_resolve_by_the_address_jira_shows(
        db: Database, site: Site, now: datetime) -> None:
    person = ORG.people[2]
    site.store.users[person.jira_account_id]["emailVisible"] = True
    got = created(db, site, now, assignee=person.jira_account_id)
    with db.sessions() as session:
        resolved = session.scalar(
            select(Person.slug).join(Involvement, Involvement.person_id == Person.id)
            .where(Involvement.item_id == got.id, Involvement.role == Role.assignee))
    assert resolved == person.id


def test_parent_epic_and_issue_links(db: Database, cloud: Site, now: datetime) -> None:
    store = cloud.store
    epic = store.create_issue(PROJECT, "Epic", issuetype="Epic")["key"]
    story = store.create_issue(PROJECT, "Story", parent=epic, epic=epic)["key"]
    blocker = store.create_issue(PROJECT, "Blocker")["key"]
    store.link(blocker, story, "Blocks")
    sync_everything(db.sessions, cloud.config(), now)
    with db.sessions() as session:
        links = {(f.ref, link.type, link.to_ref, link.to_item_id is not None)
                 for link, f in session.execute(
                     select(Link, WorkItem).join(WorkItem, WorkItem.id == Link.from_item_id))
                 if f.ref in (story, blocker)}
    assert links == {(story, "parent", epic, True), (blocker, "blocks", story, True)}


def test_worklogs_give_time_spent_per_person(db: Database, cloud: Site, now: datetime) -> None:
    store = cloud.store
    key = store.create_issue(PROJECT, "Logged", original_estimate="1d")["key"]
    worker = ORG.people[2].jira_account_id
    store.add_worklog(key, worker, 2 * 3600)
    store.add_worklog(key, worker, 3600)
    sync_everything(db.sessions, cloud.config(worklogs=True), now)
    assert item(db.sessions, cloud.issue(key)).extra["time_spent_by"] == {worker: 3.0}


def test_server_bearer_token_syncs(db: Database, now: datetime) -> None:
    store = seeded("Server", Clock(now))
    with serving(create_app(store)) as url:
        sync_everything(db.sessions, jira_config(url, auth="bearer", username=None), now)
    with db.sessions() as session:
        assert set(session.scalars(select(WorkItem.external_id))) == set(store.issues)


# ---------------------------------------------------------------- incremental


def test_second_sync_without_change_writes_nothing(
        db: Database, site: Site, now: datetime) -> None:
    config = site.config()
    sync_everything(db.sessions, config, now)
    with db.sessions() as session:
        raw_before = {(r.external_id, r.content_hash, r.fetched_at)
                      for r in session.scalars(select(RawRecord))}
        items_before = {(i.id, i.content_hash) for i in session.scalars(select(WorkItem))}
    site.clock.advance(minutes=30)
    (landed,), normalized = sync_everything(db.sessions, config, now)
    assert (landed.new, landed.changed, landed.deleted, normalized.records) == (0, 0, 0, 0)
    with db.sessions() as session:
        assert {(r.external_id, r.content_hash, r.fetched_at)
                for r in session.scalars(select(RawRecord))} == raw_before
        assert {(i.id, i.content_hash) for i in session.scalars(select(WorkItem))} == (
            items_before)


def _rows_written(db: Database) -> Callable[[], int]:
    """A counter of the rows that INSERT, UPDATE and DELETE statements touch from now on."""
    engine = db.sessions.kw["bind"]
    touched = [0]

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            touched[0] += max(cursor.rowcount, 0)

    event.listen(engine, "after_cursor_execute", count)
    return lambda: touched[0]


def test_renormalizing_an_unchanged_store_writes_nothing(
        db: Database, synced_cloud: Site, now: datetime) -> None:
    before = graph_snapshot(db.sessions)
    written = _rows_written(db)
    stats = normalize(db.sessions, synced_cloud.config(), now, everything=True)
    assert (stats.records, stats.unchanged) == (len(synced_cloud.store.issues), len(before))
    assert (stats.new, stats.changed, stats.deleted, written()) == (0, 0, 0, 0)
    assert graph_snapshot(db.sessions) == before


def test_renormalizing_applies_a_new_mapping_to_every_item(
        db: Database, synced_cloud: Site, now: datetime) -> None:
    in_progress = {i["id"] for i in synced_cloud.store.issues.values()
                   if i["fields"]["status"]["name"] == "In Progress"}
    assert in_progress
    remapped = synced_cloud.config(status_map={"Blocked": "blocked", "In Progress": "blocked"})
    stats = normalize(db.sessions, remapped, now, everything=True)
    assert (stats.changed, stats.new, stats.deleted) == (len(in_progress), 0, 0)
    with db.sessions() as session:
        blocked = set(session.scalars(select(WorkItem.external_id).where(
            WorkItem.status_category == StatusCategory.blocked)))
    assert in_progress <= blocked


def test_renormalizing_mends_records_an_older_mapping_misfiled(
        db: Database, synced_cloud: Site, now: datetime) -> None:
    """One record filed under another issue's item, one quarantined for a reason that no
    longer holds: the sweep files both where they belong and leaves the graph as it was."""
    before = graph_snapshot(db.sessions)
    first, second, third = sorted(synced_cloud.store.issues)[:3]
    with db.sessions.begin() as session:
        records = {r.external_id: r for r in session.scalars(
            select(RawRecord).where(RawRecord.external_id.in_([first, second, third])))}
        records[first].item_key = records[second].item_key
        records[third].item_key, records[third].quarantine_reason = None, "an old mapping's"
    stats = normalize(db.sessions, synced_cloud.config(), now, everything=True)
    assert (stats.new, stats.changed, stats.deleted, stats.quarantined) == (0, 0, 0, 0)
    with db.sessions() as session:
        mended = {r.external_id: (r.item_key, r.quarantine_reason, r.needs_normalizing)
                  for r in session.scalars(select(RawRecord).where(
                      RawRecord.external_id.in_([first, second, third])))}
    assert mended == {i: (f"{SOURCE}:{i}", None, False) for i in (first, second, third)}
    assert graph_snapshot(db.sessions) == before


def test_a_sweep_planned_by_worker_processes_ends_as_one_planned_here(
        shared_db: Database, cloud: Site, now: datetime, sqlite_template: Path,
        tmp_path: Path) -> None:
    """Same store, same misfiled record, same new mapping: the sweep planned by two
    worker processes in small batches gives the graph and the records a sweep in this
    process gives."""
    shutil.copy(sqlite_template, tmp_path / "here.db")
    here = Database(make_sessionmaker(make_engine(f"sqlite:///{tmp_path / 'here.db'}")),
                    "sqlite", "")
    first, second = sorted(cloud.store.issues)[:2]
    for db in (here, shared_db):
        sync_everything(db.sessions, cloud.config(), now)
        with db.sessions.begin() as session:
            records = {r.external_id: r for r in session.scalars(
                select(RawRecord).where(RawRecord.external_id.in_([first, second])))}
            records[first].item_key = records[second].item_key
    remapped = cloud.config(status_map={"Blocked": "blocked", "In Progress": "blocked"})
    alone = normalize(here.sessions, remapped, now, everything=True, workers=1)
    shared = normalize(shared_db.sessions, remapped, now, everything=True, workers=2,
                       batch_size=7)
    assert alone.changed > 0
    # (The moved record is read twice there: by the sweep, which flags it, and after.)
    assert (shared.new, shared.changed, shared.deleted, shared.quarantined) == (
        alone.new, alone.changed, alone.deleted, alone.quarantined)
    assert graph_snapshot(shared_db.sessions) == graph_snapshot(here.sessions)

    def records_of(db: Database) -> set[tuple[str, str | None, bool]]:
        with db.sessions() as session:
            return {tuple(row) for row in session.execute(select(
                RawRecord.external_id, RawRecord.item_key, RawRecord.needs_normalizing))}

    assert records_of(shared_db) == records_of(here)
    assert (first, f"{SOURCE}:{first}", False) in records_of(shared_db)


def test_a_sweep_stops_when_its_workers_see_another_database(
        cloud: Site, now: datetime, tmp_path: Path) -> None:
    """Workers connect by the engine's URL. Where that leads to another database than
    the one this process reads (here: the URL names an empty one), the sweep stops
    rather than planning nothing and passing for done."""
    empty, store = tmp_path / "empty.db", tmp_path / "store.db"
    upgrade(make_engine(f"sqlite:///{empty}"))
    upgrade(make_engine(f"sqlite:///{store}"))
    # Reads the store, names the empty database.
    engine = make_engine(f"sqlite:///{empty}", creator=lambda: sqlite3.connect(store))
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        source = Source(slug=SOURCE, kind="jira")
        session.add(source)
        session.flush()
        session.add_all(RawRecord(source_id=source.id, stream="issues", external_id=str(n),
                                  payload={}, content_hash=str(n), fetched_at=now)
                        for n in range(5))
        ctx = NormalizeContext(cloud.config(), now, source_kinds(session))
    with pytest.raises(RuntimeError, match="does not see the database"):
        list(planned_in_workers(sessions, ctx, (1, 5), batch_size=2, workers=1))


def test_incremental_sync_asks_only_for_recent_changes(
        db: Database, cloud: Site, now: datetime) -> None:
    config = cloud.config()
    sync_everything(db.sessions, config, now)
    edited = cloud.store.get(f"{PROJECT}-5")
    stamps = [parse_time(i["fields"]["updated"]) for i in cloud.store.issues.values()
              if i is not edited]
    # The lookback (10 minutes, JQL has minute precision) re-reads the latest few.
    since = (max(stamps) - timedelta(minutes=10)).replace(second=0, microsecond=0)
    cloud.clock.advance(hours=2)
    cloud.store.edit(f"{PROJECT}-5", {"summary": "Renamed"})
    (landed,), _ = sync_everything(db.sessions, config, now)
    assert (landed.fetched, landed.changed) == (1 + sum(s >= since for s in stamps), 1)


@pytest.fixture
def synced(db: Database, site: Site, now: datetime) -> Site:
    """Each deployment, synced once (where paging, user ids or the sweep differ)."""
    return site.synced(db, now)


@pytest.fixture
def synced_cloud(db: Database, cloud: Site, now: datetime) -> Site:
    """Cloud, synced once (where the deployment makes no difference)."""
    return cloud.synced(db, now)


def _open_issue(site: Site) -> dict[str, Any]:
    """An open, assigned issue without sub-tasks or an epic's children."""
    for issue in site.store.issues.values():
        fields = issue["fields"]
        if (fields["status"]["statusCategory"]["key"] != "done" and fields["assignee"]
                and fields["issuetype"]["name"] in ("Story", "Task", "Bug")
                and not any((i["fields"].get("parent") or {}).get("id") == issue["id"]
                            for i in site.store.issues.values())):
            return issue
    raise AssertionError("no open issue")


def test_edit_reaches_the_graph(db: Database, synced_cloud: Site, now: datetime) -> None:
    issue = _open_issue(synced_cloud)
    synced_cloud.store.edit(issue["key"], {"summary": "Edited title", "priority": "Lowest"})
    sync_everything(db.sessions, synced_cloud.config(), now)
    got = item(db.sessions, issue)
    assert (got.title, got.priority) == ("Edited title", 4)


def test_reassignment_reaches_the_graph(db: Database, synced: Site, now: datetime) -> None:
    issue = _open_issue(synced)
    other = next(p for p in ORG.people
                 if p.jira_account_id != (issue["fields"]["assignee"] or {}).get("accountId")
                 and user_id(issue["fields"]["assignee"]) != p.id)
    synced.store.reassign(issue["key"], other.jira_account_id)
    sync_everything(db.sessions, synced.config(), now)
    assert people_of(db.sessions, issue)["assignee"] == {
        user_id(synced.issue(issue["key"])["fields"]["assignee"])}


def test_close_reaches_the_graph(db: Database, synced_cloud: Site, now: datetime) -> None:
    issue = _open_issue(synced_cloud)
    synced_cloud.store.close(issue["key"])
    sync_everything(db.sessions, synced_cloud.config(), now)
    assert item(db.sessions, issue).status_category.value == "done"


def test_wont_do_resolution_is_cancelled(db: Database, synced_cloud: Site, now: datetime) -> None:
    issue = _open_issue(synced_cloud)
    synced_cloud.store.close(issue["key"])
    resolution = synced_cloud.issue(issue["key"])["fields"]["resolution"]
    resolution["name"] = "Won't Do"
    synced_cloud.store.edit(issue["key"], {"summary": issue["fields"]["summary"] + "!"})
    sync_everything(db.sessions, synced_cloud.config(), now)
    assert item(db.sessions, issue).status_category.value == "cancelled"


def test_move_keeps_the_item_and_changes_its_ref(
        db: Database, synced: Site, now: datetime) -> None:
    issue = _open_issue(synced)
    old_key = issue["key"]
    synced.store.move(old_key, OTHER)
    sync_everything(db.sessions, synced.config(), now)
    got = item(db.sessions, issue)
    assert (got.ref, got.container, got.deleted_at) == (issue["key"], OTHER, None)
    assert issue["key"] != old_key


def test_delete_is_tombstoned_by_the_sweep(db: Database, synced: Site, now: datetime) -> None:
    issue = _open_issue(synced)
    synced.store.delete(issue["key"])
    synced.clock.advance(hours=24)  # the sweep is due again
    sync_everything(db.sessions, synced.config(), now)
    got = item(db.sessions, issue)
    assert (got.deleted_at is not None, got.delete_reason) == (True, SWEEP_REASON)


def test_delete_waits_for_the_next_sweep(db: Database, synced_cloud: Site, now: datetime) -> None:
    issue = _open_issue(synced_cloud)
    synced_cloud.store.delete(issue["key"])
    sync_everything(db.sessions, synced_cloud.config(), now)
    assert item(db.sessions, issue).deleted_at is None


def test_mass_deletion_guard_stops_the_sweep(
        db: Database, synced: Site, now: datetime) -> None:
    before = full_view(db.sessions)
    keys = sorted(i["key"] for i in synced.store.issues.values())
    for key in keys[: len(keys) * 4 // 5]:
        if key in synced.store.keys and synced.store.keys[key] in synced.store.issues:
            synced.store.delete(key)
    with pytest.raises(MassDeletionError):
        sync_everything(db.sessions, synced.config(), now, full=True)
    assert full_view(db.sessions) == before


# ---------------------------------------------------------------- failures


def counting_faults(app: Any) -> list[str]:
    """The faults (503s and 429s; dropped connections are not rendered) the app sends."""
    assert isinstance(app, FaultMiddleware)
    faults: list[str] = []
    render = app.render

    def counting(kind: str, request: Any, info: dict[str, Any]) -> Any:
        faults.append(kind)
        return render(kind, request, info)

    app.render = counting
    return faults


def test_faults_end_in_the_same_graph_as_a_clean_run(
        db: Database, sqlite_template: Path, tmp_path: Path, now: datetime) -> None:
    clean_path = tmp_path / "clean.db"
    shutil.copy(sqlite_template, clean_path)
    clean = make_sessionmaker(make_engine(f"sqlite:///{clean_path}"))
    with serving(create_app(seeded("Cloud", Clock(now)))) as url:
        sync_everything(clean, jira_config(url), now)
    faulty = create_app(seeded("Cloud", Clock(now)), FaultPlan(
        seed=1, server_errors=0.1, rate_limits=0.05, dropped=0.02), page_cap=10)
    faults = counting_faults(faulty)
    with serving(faulty) as url:
        # Retry at once: the waits' honouring of Retry-After is the next test's promise.
        sync_everything(db.sessions, jira_config(url, retry_max_wait_seconds=0), now)
    assert faults
    assert full_view(db.sessions) == full_view(clean)


def test_retries_wait_what_the_server_asks(now: datetime) -> None:
    store = seeded("Server", Clock(now))
    app = create_app(store, FaultPlan(seed=1, server_errors=0.05, rate_limits=0.05),
                     page_cap=5)
    faults = counting_faults(app)
    waits: list[float] = []
    with serving(app) as url:
        cfg = jira_config(url, page_size=5).source(SOURCE)
        assert isinstance(cfg, JiraSourceConfig)
        source = JiraSource(cfg, sleep=waits.append)
        try:
            pages = list(source.stream("issues").read(None))
        finally:
            source.close()
    assert sum(len(p.records) for p in pages) == len(store.issues)
    assert faults and waits == [1.0] * len(faults)  # Retry-After: 1, every time


def test_rate_limit_reset_is_waited_for_without_retry_after() -> None:
    # Jira Cloud's reset is an ISO timestamp; it is measured against the server's Date.
    headers = {"X-RateLimit-Reset": "2026-12-02T12:00:05.000Z",
               "Date": "Wed, 02 Dec 2026 12:00:00 GMT"}
    assert retry_after(headers) == 5.0


def test_malformed_issue_is_quarantined(db: Database, cloud: Site, now: datetime) -> None:
    store = cloud.store
    broken = store.create_issue(PROJECT, "No title")
    del broken["fields"]["summary"]
    sync_everything(db.sessions, cloud.config(), now)
    with db.sessions() as session:
        record = session.scalar(select(RawRecord).where(RawRecord.external_id == broken["id"]))
    assert record is not None and "fields.summary" in (record.quarantine_reason or "")


def test_bad_date_is_quarantined(db: Database, cloud: Site, now: datetime) -> None:
    broken = cloud.store.create_issue(PROJECT, "Odd date", duedate="2026-13-45")
    sync_everything(db.sessions, cloud.config(), now)
    with db.sessions() as session:
        record = session.scalar(select(RawRecord).where(RawRecord.external_id == broken["id"]))
    assert record is not None and "duedate" in (record.quarantine_reason or "")


def test_rest_syncs_beside_a_malformed_issue(db: Database, cloud: Site, now: datetime) -> None:
    broken = cloud.store.create_issue(PROJECT, "No title")
    del broken["fields"]["summary"]
    sync_everything(db.sessions, cloud.config(), now)
    with db.sessions() as session:
        keys = set(session.scalars(select(WorkItem.external_id)))
    assert keys == set(cloud.store.issues) - {broken["id"]}


def test_refused_credentials_raise_auth_error_naming_the_source(
        db: Database, cloud: Site, now: datetime) -> None:
    with pytest.raises(AuthError, match=rf"{SOURCE}.*sources\[\]\.username"):
        sync_everything(db.sessions, cloud.config(username=None, token=None), now)
