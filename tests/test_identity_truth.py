"""Identity resolution measured against the generated organisation's ground truth.

The config lists people with their work address only (no aliases, like `workhub demo`):
every Jira account, GitHub login and address must resolve from what the tools state —
Jira's visible addresses and its bulk email lookup, GitHub commit and profile addresses,
calendar and mail addresses. Display-name matches stay suggestions.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from conftest import NOW, Database
from model import Identity, Person
from model.queries.identities import list_identities
from pipelines.sync import sync_everything
from sandbox import github as gh_sandbox
from sandbox import jira as jira_sandbox
from sandbox.generate import generate_world
from sandbox.org import Organisation, generate_org
from sandbox.run import RunningSandbox, running_sandbox
from sandbox.serve import serving
from workhub.config import WorkhubConfig, load_config
from workhub.demo import demo_config

NAMESPACES = ("jira", "github", "email")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[Organisation, RunningSandbox]]:
    """A generated organisation of 40 people, served by every stand-in (read only)."""
    folder = tmp_path_factory.mktemp("world")
    generate_world(folder, people=40, seed=5, now=NOW)
    with running_sandbox(folder, folder / ".radicale") as running:
        yield Organisation.load(folder), running


def demo(org: Organisation, running: RunningSandbox, db: Database, tmp_path: Path,
         kinds: tuple[str, ...] | None = None, **jira: Any) -> WorkhubConfig:
    """The demo's config for this world (people without aliases), read back from YAML;
    only the sources of `kinds` when given, `jira` overriding keys of the Jira source."""
    raw = demo_config(org, running, db.url)
    assert all("aliases" not in p for p in raw["org"]["people"])
    raw["sources"] = [s for s in raw["sources"] if kinds is None or s["kind"] in kinds]
    for source in raw["sources"]:
        if source["kind"] == "jira":
            source.update(jira)
    path = tmp_path / "workhub.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return load_config(path)


def truth_of(org: Organisation) -> dict[tuple[str, str], str]:
    """(namespace, value) -> the person it truly is."""
    known: dict[tuple[str, str], str] = {}
    for person, names in org.ground_truth().items():
        for namespace in NAMESPACES:
            value = names[namespace]
            if value:
                known[(namespace, value.lower() if namespace == "email" else value)] = person
    return known


def score(db: Database, org: Organisation) -> tuple[int, int, int]:
    """(correct, wrong, unresolved) over the identities whose true person is known."""
    known = truth_of(org)
    correct = wrong = unresolved = 0
    with db.sessions() as session:
        rows = session.execute(
            select(Identity.namespace, Identity.value, Person.slug)
            .outerjoin(Person, Person.id == Identity.person_id)
            .where(Identity.namespace.in_(NAMESPACES))).all()
    for namespace, value, person in rows:
        truth = known.get((namespace, value.lower() if namespace == "email" else value))
        if truth is None:
            continue  # a bot, an outside attendee: nobody the generator made
        if person is None:
            unresolved += 1
        elif person == truth:
            correct += 1
        else:
            wrong += 1
    return correct, wrong, unresolved


def test_resolution_meets_the_ground_truth(
        db: Database, world: tuple[Organisation, RunningSandbox], tmp_path: Path) -> None:
    org, running = world
    sync_everything(db.sessions, demo(org, running, db, tmp_path), NOW)
    correct, wrong, unresolved = score(db, org)
    precision = correct / (correct + wrong)
    recall = correct / (correct + wrong + unresolved)
    print(f"precision {precision:.3f} recall {recall:.3f} "
          f"({correct} correct, {wrong} wrong, {unresolved} unresolved)")
    assert precision == 1.0
    assert recall >= 0.98
    # Every tool contributed: the known identities span all three namespaces.
    assert correct > 2 * len(org.people)


def test_display_name_matches_are_never_applied(
        db: Database, world: tuple[Organisation, RunningSandbox], tmp_path: Path) -> None:
    org, running = world
    sync_everything(db.sessions, demo(org, running, db, tmp_path), NOW)
    with db.sessions() as session:
        applied = session.scalars(select(Identity).where(
            Identity.person_id.is_not(None),
            Identity.resolution.not_in(["alias", "email", "evidence", "config", "manual"])
        )).all()
        both = session.scalars(select(Identity).where(
            Identity.person_id.is_not(None), Identity.suggested_person_id.is_not(None))).all()
    assert (applied, both) == ([], [])


def test_without_evidence_a_unique_name_is_only_suggested(
        db: Database, world: tuple[Organisation, RunningSandbox], tmp_path: Path) -> None:
    org, running = world
    config = demo(org, running, db, tmp_path, ("jira",), lookup_hidden_emails=False)
    sync_everything(db.sessions, config, NOW)
    names = [p.name for p in org.people]
    hidden = {p.jira_account_id: p.id for p in org.people
              if not p.jira_email_visible and names.count(p.name) == 1}
    with db.sessions() as session:
        suggested = {r.value: (r.person, r.suggested_person, r.resolution)
                     for r in list_identities(session, "suggested") if r.namespace == "jira"}
        seen = {r.value for r in list_identities(session) if r.value in hidden}
    assert seen and {v: suggested.get(v) for v in seen} == {
        v: (None, hidden[v], None) for v in seen}


# ---------------------------------------------------------------- each kind of evidence


class Refusing:
    """ASGI wrapper answering 403 to one path, as Jira does without the email permission."""

    def __init__(self, app: ASGIApp, fragment: str) -> None:
        self.app, self.fragment = app, fragment
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.fragment in scope["path"]:
            self.refused += 1
            body = {"errorMessages": ["You do not have permission to access user emails."],
                    "errors": {}}
            await JSONResponse(body, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)


@contextmanager
def small_jira(org: Organisation) -> Iterator[tuple[str, Refusing]]:
    """A Jira Cloud stand-in of `org` that refuses the bulk email lookup."""
    store = jira_sandbox.JiraStore("Cloud", clock=lambda: NOW)
    jira_sandbox.populate(store, org, random.Random(3), NOW)
    app = Refusing(jira_sandbox.create_app(store), "/user/email/bulk")
    with serving(app) as url:
        yield url, app


def small_config(org: Organisation, source: dict[str, Any]) -> WorkhubConfig:
    """The people of `org` (no aliases) and one source."""
    return WorkhubConfig.model_validate({
        "org": {"timezone": "Europe/Berlin",
                "people": [{"id": p.id, "name": p.name, "email": p.email} for p in org.people]},
        "sources": [source]})


def test_jira_without_email_permission_syncs_without_that_evidence(db: Database) -> None:
    org = generate_org(people=8, seed=2)
    with small_jira(org) as (url, app):
        landed, _ = sync_everything(db.sessions, small_config(org, {
            "name": "jira", "kind": "jira", "url": url, "username": "sync@example.com",
            "token": "t", "projects": [t.jira_project for t in org.teams]}), NOW)
    assert landed[0].new > 0
    assert app.refused == 1  # asked once, then not again in that run
    with db.sessions() as session:
        resolved = {v for v, p in session.execute(
            select(Identity.value, Identity.person_id).where(Identity.namespace == "jira"))
            if p is not None}
    visible = {p.jira_account_id for p in org.people if p.jira_email_visible}
    assert resolved <= visible


def test_github_commit_address_resolves_a_login_with_a_private_profile(
        db: Database) -> None:
    org = generate_org(people=8, seed=2)
    store = gh_sandbox.GitHubStore(clock=lambda: NOW)
    gh_sandbox.populate(store, org, random.Random(1), NOW, jira_issue_count_per_project=5)
    team = org.teams[0]
    committer, private = (org.person(m) for m in team.members[:2])
    assert committer.github_email and private.github_email
    repo = f"acme/{team.github_repo}"
    for person in (committer, private):
        store.users[person.github_login]["email"] = None  # no public address
    # `private` commits only with GitHub's noreply address: no evidence at all.
    for commit in store.commits[repo].values():
        if (commit["author"] or {}).get("login") == private.github_login:
            uid = store.users[private.github_login]["id"]
            commit["commit"]["author"]["email"] = (
                f"{uid}+{private.github_login}@users.noreply.github.com")
    store.create_issue(repo, "Both of us", user=committer.github_login,
                       assignees=[private.github_login])
    with serving(gh_sandbox.create_app(store)) as url:
        sync_everything(db.sessions, small_config(org, {
            "name": "gh", "kind": "github", "base_url": url + "/api/v3", "token": "t",
            "repos": [repo]}), NOW)
    with db.sessions() as session:
        who = dict(session.execute(
            select(Identity.value, Person.slug).outerjoin(Person, Person.id == Identity.person_id)
            .where(Identity.namespace == "github",
                   Identity.value.in_([committer.github_login, private.github_login]))).all())
    assert who == {committer.github_login: committer.id, private.github_login: None}
