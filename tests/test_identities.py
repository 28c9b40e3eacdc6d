"""Identity resolution, hand-made links that move past work, and links both ways."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import event, select
from typer.testing import CliRunner

from api.app import create_app
from calendars import vcalendar, vevent
from conftest import Database, Radicale
from helpers import caldav_config, graph_snapshot, token_for
from model import Identity, Involvement, ItemKind, Link, Person, Role, StatusCategory, WorkItem
from model.db import make_engine, make_sessionmaker
from pipelines.identity import IdentityBook, IdentityResolver, link_identity, sync_org
from pipelines.landing import ensure_source
from pipelines.normalize.runner import normalize
from pipelines.sync import sync_everything
from workhub.cli import app
from workhub.config import OrgConfig, WorkhubConfig

ORG = OrgConfig.model_validate({
    "domain_aliases": {"corp.example.com": "example.com"},
    "people": [
        {"id": "ana", "name": "Ana Lima", "email": "ana@example.com",
         "aliases": ["github:analima", "ana.lima@old.example"]},
        {"id": "ben", "name": "Ben Ode", "email": "ben@example.com"},
        {"id": "cy", "name": "Cy Twin", "email": "cy1@example.com"},
        {"id": "cy2", "name": "Cy Twin", "email": "cy2@example.com"},
    ]})


def test_resolution_rules_in_order() -> None:
    resolver = IdentityResolver(ORG)

    def who(namespace: str, value: str, email: str | None = None) -> tuple[str, str] | None:
        found = resolver.resolve(namespace, value, email)
        return (found.person, found.method) if found else None

    assert who("github", "AnaLima") == ("ana", "alias")
    assert who("email", "Ana.Lima@old.example") == ("ana", "alias")
    assert who("email", "BEN+jira@corp.example.com") == ("ben", "email")
    assert who("jira", "5b10ac8d", email="ben@example.com") == ("ben", "evidence")
    assert who("jira", "5b10ac8d") is None
    assert who("email", "stranger@elsewhere.example") is None
    # A display name is only a suggestion, and only when it is unique.
    assert resolver.suggest("ben ode") == "ben"
    assert resolver.suggest("Cy Twin") is None


def _identity_world(db: Database) -> dict[str, int]:
    with db.sessions.begin() as session:
        people = sync_org(session, ORG)
        book = IdentityBook(session, IdentityResolver(ORG), people)
        source = ensure_source(session, "jira", "jira").id
        items = {}
        for n, (namespace, value, name) in enumerate([
                ("jira", "acc-ben", "Ben Ode"), ("jira", "acc-x", "Someone Else"),
                ("jira", "acc-cy", "Cy Twin")]):
            identity = book.get(namespace, value, name)
            item = WorkItem(key=f"jira:{n}", source_id=source, external_id=str(n),
                            kind=ItemKind.issue, title=f"Issue {n}", url=f"https://j/{n}",
                            status_category=StatusCategory.todo, content_hash=str(n),
                            ref=f"P-{n}")
            session.add(item)
            session.flush()
            session.add(Involvement(item_id=item.id, identity_id=identity.id,
                                    person_id=identity.person_id, role=Role.assignee))
            items[value] = item.id
        return items


def test_an_organisation_is_applied_again_only_when_it_changes(db: Database) -> None:
    """The same organisation twice: the second run reads the people's ids and nothing
    else. A new alias: applied, and the identity it names moves to its person."""
    items = _identity_world(db)
    engine = db.sessions.kw["bind"]
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_: statements.append(statement))
    with db.sessions.begin() as session:
        people = sync_org(session, ORG)
    # (PostgreSQL's test transaction adds a savepoint around it.)
    reads = [s for s in statements if "SAVEPOINT" not in s]
    assert len(reads) == 2 and all(s.lstrip().startswith("SELECT") for s in reads)
    assert "identity" not in " ".join(reads).lower()
    renamed = ORG.model_copy(update={"people": [
        p.model_copy(update={"aliases": ["jira:acc-x"]}) if p.id == "ben" else p
        for p in ORG.people]})
    with db.sessions.begin() as session:
        assert sync_org(session, renamed) == people
    with db.sessions() as session:
        involvement = session.scalars(select(Involvement).where(
            Involvement.item_id == items["acc-x"])).one()
    assert involvement.person_id == people["ben"]


def test_suggestions_are_listed_and_never_applied(db: Database) -> None:
    _identity_world(db)
    with db.sessions() as session:
        rows = {i.value: i for i in session.scalars(select(Identity))}
        ben = session.scalar(select(Person.id).where(Person.slug == "ben"))
    assert rows["acc-ben"].person_id is None and rows["acc-ben"].suggested_person_id == ben
    assert rows["acc-cy"].suggested_person_id is None  # two people share that name
    token = token_for(db.sessions, "ana", "admin")
    client = TestClient(create_app(db.sessions, WorkhubConfig(org=ORG)),
                        headers={"Authorization": f"Bearer {token}"})
    suggested = client.get("/v1/identities", params={"status": "suggested"}).json()
    assert [(i["value"], i["suggested_person"]) for i in suggested["identities"]] == [
        ("acc-ben", "ben")]
    unresolved = client.get("/v1/identities", params={"status": "unresolved"}).json()
    assert {i["value"] for i in unresolved["identities"]} == {"acc-x", "acc-cy"}
    member = token_for(db.sessions, "ben", "member")
    assert client.get("/v1/identities", headers={"Authorization": f"Bearer {member}"}
                      ).status_code == 403


def test_linking_by_hand_moves_past_involvements(db: Database) -> None:
    items = _identity_world(db)
    with db.sessions.begin() as session:
        ana = session.scalars(select(Person).where(Person.slug == "ana")).one()
        identity = session.scalars(select(Identity).where(Identity.value == "acc-x")).one()
        link_identity(session, identity, ana.id, "linked by hand")
    with db.sessions.begin() as session:
        sync_org(session, ORG)  # a later sync keeps a human's decision
    with db.sessions() as session:
        involvement = session.scalars(select(Involvement).where(
            Involvement.item_id == items["acc-x"])).one()
        identity = session.scalars(select(Identity).where(Identity.value == "acc-x")).one()
        assert involvement.person_id == ana.id
        assert (identity.person_id, identity.resolution) == (ana.id, "manual")


def test_the_identities_command_lists_and_links(sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "workhub.db"
    shutil.copy(sqlite_template, path)
    database = Database(make_sessionmaker(make_engine(f"sqlite:///{path}")), "sqlite",
                        f"sqlite:///{path}")
    items = _identity_world(database)
    config = tmp_path / "workhub.yaml"
    config.write_text(f"database_url: sqlite:///{path}\n" + "org:\n  people:\n" + "".join(
        f"    - {{id: {p.id}, name: {p.name}, email: {p.email}}}\n" for p in ORG.people))
    listing = CliRunner().invoke(app, ["identities", "--config", str(config)])
    assert "jira:acc-x" in listing.output and "jira:acc-cy" in listing.output
    result = CliRunner().invoke(app, ["identities", "link", "jira:acc-x", "ana", "--config",
                                      str(config)])
    assert result.exit_code == 0, result.output
    with database.sessions() as session:
        ana = session.scalar(select(Person.id).where(Person.slug == "ana"))
        involvement = session.scalars(select(Involvement).where(
            Involvement.item_id == items["acc-x"])).one()
    assert involvement.person_id == ana
    listing = CliRunner().invoke(app, ["identities", "--config", str(config)])
    assert "jira:acc-x" not in listing.output and "jira:acc-cy" in listing.output
    unknown = CliRunner().invoke(app, ["identities", "link", "jira:nobody", "ana", "--config",
                                       str(config)])
    assert unknown.exit_code == 2


def test_links_are_found_in_both_directions_and_as_a_graph(db: Database) -> None:
    items = _identity_world(db)
    with db.sessions.begin() as session:
        session.add(Link(from_item_id=items["acc-ben"], to_ref="P-1",
                         to_item_id=items["acc-x"], type="blocks"))
        session.add(Link(from_item_id=items["acc-x"], to_ref="P-2",
                         to_item_id=items["acc-cy"], type="relates"))
        session.add(Link(from_item_id=items["acc-cy"], to_ref="NOPE-9", type="references"))
    token = token_for(db.sessions, "ana", "admin")
    client = TestClient(create_app(db.sessions, WorkhubConfig(org=ORG)),
                        headers={"Authorization": f"Bearer {token}"})
    middle = client.get(f"/v1/items/{items['acc-x']}").json()["links"]
    assert {(link["direction"], link["type"], link["item"]) for link in middle} == {
        ("in", "blocks", items["acc-ben"]), ("out", "relates", items["acc-cy"])}
    dangling = client.get(f"/v1/items/{items['acc-cy']}").json()["links"]
    assert ("out", "references", None, "NOPE-9") in {
        (link["direction"], link["type"], link["item"], link["ref"]) for link in dangling}
    one = client.get(f"/v1/items/{items['acc-ben']}/graph", params={"depth": 1}).json()
    assert {n["id"] for n in one["nodes"]} == {items["acc-ben"], items["acc-x"]}
    two = client.get(f"/v1/items/{items['acc-ben']}/graph", params={"depth": 2}).json()
    assert {n["id"] for n in two["nodes"]} == set(items.values())
    assert {(e["from"], e["to"]) for e in two["edges"]} == {
        (items["acc-ben"], items["acc-x"]), (items["acc-x"], items["acc-cy"])}


def test_renormalizing_after_an_alias_change_equals_a_fresh_sync(
        db: Database, radicale: Radicale, now: datetime, sqlite_template: Path,
        tmp_path: Path) -> None:
    user = radicale.new_user()
    radicale.make_calendar(user)
    radicale.put(user, "work", "m", vcalendar(vevent(
        "renorm", "20261202T100000Z", "20261202T110000Z", "Sync",
        organizer="alice@example.com",
        attendees={"bob@example.com": "ACCEPTED", "robert.b@partner.example": "ACCEPTED"})))
    before = caldav_config(radicale.url, {user: "alice"})
    sync_everything(db.sessions, before, now)
    people = graph_snapshot(db.sessions)["ical:renorm"]["people"]
    assert ("robert.b@partner.example", "", "attendee", "accepted") in people

    after = WorkhubConfig.model_validate(before.model_dump(mode="json") | {"org": {
        **before.org.model_dump(mode="json"),
        "people": [p | ({"aliases": ["robert.b@partner.example"]} if p["id"] == "bob" else {})
                   for p in before.org.model_dump(mode="json")["people"]]}})
    for source in after.sources:
        object.__setattr__(source, "password", before.sources[0].password)
    normalize(db.sessions, after, now, everything=True)
    fresh_path = tmp_path / "fresh.db"
    shutil.copy(sqlite_template, fresh_path)
    fresh = make_sessionmaker(make_engine(f"sqlite:///{fresh_path}"))
    sync_everything(fresh, after, now)
    renormalized = graph_snapshot(db.sessions)
    assert ("robert.b@partner.example", "bob", "attendee", "accepted") in \
        renormalized["ical:renorm"]["people"]
    assert renormalized == graph_snapshot(fresh)
