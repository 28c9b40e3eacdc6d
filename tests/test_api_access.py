"""Authentication and privacy: every role, subject, privacy and endpoint cell, asserted.

The graph is built directly in the database: three roles look at the work of themselves,
of someone who reports to them (or would, for a member), and of an unrelated colleague.
Each of those people has a public meeting, a private meeting and an email.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.etag import etag_of
from conftest import Database
from graphs import CONFIG, START, build_graph
from helpers import token_for
from model import (
    ApiToken,
    Person,
)

ROLES = ("member", "manager", "admin")
RELATIONS = ("own", "report", "other")
#: Whose work each (viewer role, relation) looks at.
VIEWER = {"member": "mem", "manager": "boss", "admin": "adm"}
SUBJECT = {("member", "own"): "mem", ("manager", "own"): "boss", ("admin", "own"): "adm",
           ("member", "report"): "dev", ("manager", "report"): "dev",
           ("admin", "report"): "dev",
           ("member", "other"): "other", ("manager", "other"): "other",
           ("admin", "other"): "other"}

@dataclass
class World:
    """The app, a token per role, and item ids by (person, kind of item)."""

    app: TestClient
    tokens: dict[str, str]
    items: dict[tuple[str, str], int]
    revoked: str


@pytest.fixture
def world(db: Database) -> Iterator[World]:
    items = build_graph(db.sessions)
    tokens = {role: token_for(db.sessions, VIEWER[role], role) for role in ROLES}
    revoked = token_for(db.sessions, "mem", "admin")
    with db.sessions.begin() as session:
        session.scalars(select(ApiToken)).all()[-1].revoked_at = START
    app = create_app(db.sessions, CONFIG, clock=lambda: START)
    with TestClient(app) as client:
        yield World(client, tokens, items, revoked)


def _expected(role: str, relation: str, privacy: str) -> str:
    """'full', 'busy' or 'hidden': the rules of DESIGN.md, written out once."""
    if role == "admin" or relation == "own":
        return "full"
    if privacy == "email":
        return "hidden"
    if privacy == "private":
        return "busy"
    return "full"


def _seen(body_items: list[dict[str, object]], item_id: int) -> str:
    match = [i for i in body_items if i["id"] == item_id]
    if not match:
        return "hidden"
    item = match[0]
    if item["redacted"]:
        assert item["title"] == "Busy" and item["url"] is None
        return "busy"
    return "full"


CELLS = [(r, rel, p) for r in ROLES for rel in RELATIONS for p in ("public", "private", "email")]


@pytest.mark.parametrize(("role", "relation", "privacy"), CELLS)
@pytest.mark.parametrize("endpoint", ["person_work", "team_work", "items", "item"])
def test_item_visibility(world: World, endpoint: str, role: str, relation: str,
                         privacy: str) -> None:
    subject = SUBJECT[(role, relation)]
    item_id = world.items[(subject, privacy)]
    headers = {"Authorization": f"Bearer {world.tokens[role]}"}
    if endpoint == "item":
        response = world.app.get(f"/v1/items/{item_id}", headers=headers)
        seen = "hidden" if response.status_code == 404 else \
            _seen([response.json()["item"]], item_id)
        if seen == "busy":
            assert response.json()["people"] == [] and response.json()["raw"] is None
        if seen == "full":
            assert {p["person"] for p in response.json()["people"]} >= {subject}
            assert (response.json()["raw"] is not None) == (role == "admin")
    else:
        url = {"person_work": f"/v1/people/{subject}/work",
               "team_work": f"/v1/teams/team-{subject}/work", "items": "/v1/items"}[endpoint]
        response = world.app.get(url, headers=headers, params={"limit": 500})
        assert response.status_code == 200
        seen = _seen(response.json()["items"], item_id)
    assert seen == _expected(role, relation, privacy)


@pytest.mark.parametrize(("role", "relation"), [(r, rel) for r in ROLES for rel in RELATIONS])
def test_workload_visibility(world: World, role: str, relation: str) -> None:
    subject = SUBJECT[(role, relation)]
    response = world.app.get(f"/v1/people/{subject}/workload",
                             headers={"Authorization": f"Bearer {world.tokens[role]}"},
                             params={"start": "2026-12-02", "weeks": 1})
    allowed = role == "admin" or relation == "own" or (role == "manager"
                                                       and relation == "report")
    assert response.status_code == (200 if allowed else 403)
    if allowed:
        # The private meeting counts as busy time for whoever may see the load.
        assert response.json()["weeks"][0]["meeting_hours"] == 2.0


def test_text_search_never_matches_what_cannot_be_read(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.tokens['member']}"}
    found = world.app.get("/v1/items", headers=headers, params={"q": "doctor"}).json()["items"]
    assert [i["id"] for i in found] == [world.items[("mem", "private")]]


def test_me_names_the_person_role_and_reports(world: World) -> None:
    body = world.app.get("/v1/me", headers={"Authorization": f"Bearer {world.tokens['manager']}"}
                         ).json()
    assert body["person"]["id"] == "boss" and body["role"] == "manager"
    assert body["reports"] == ["dev", "mem", "mid"]


def _routes(world: World) -> list[str]:
    return ["/v1/me", "/v1/people", "/v1/people/dev/work", "/v1/people/dev/workload",
            "/v1/people/dev/forecast", "/v1/teams", "/v1/teams/team-dev/work",
            "/v1/teams/team-dev/capacity", "/v1/items",
            f"/v1/items/{world.items[('dev', 'public')]}",
            f"/v1/items/{world.items[('dev', 'public')]}/graph", "/v1/sources",
            "/v1/identities"]


def test_every_route_but_health_needs_a_valid_token(world: World) -> None:
    documented = {p for p in world.app.app.openapi()["paths"]  # type: ignore[attr-defined]
                  if p.startswith("/v1")}
    assert len(documented) == len(_routes(world))  # a new route must join this test
    assert world.app.get("/health").status_code == 200
    for url in _routes(world):
        for headers in ({}, {"Authorization": "Bearer whk_not-a-token"},
                        {"Authorization": f"Bearer {world.revoked}"},
                        {"Authorization": f"Basic {world.tokens['admin']}"}):
            response = world.app.get(url, headers=headers)
            assert response.status_code == 401, (url, headers)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"].startswith("Bearer")
        ok = world.app.get(url, headers={"Authorization": f"Bearer {world.tokens['admin']}"})
        assert ok.status_code == 200, url


def test_tokens_are_stored_hashed_and_last_use_is_recorded(world: World, db: Database) -> None:
    world.app.get("/v1/me", headers={"Authorization": f"Bearer {world.tokens['member']}"})
    with db.sessions() as session:
        rows = session.scalars(select(ApiToken)).all()
        person_ids = {p.slug: p.id for p in session.scalars(select(Person))}
    stored = {r.token_hash for r in rows} | {r.prefix for r in rows}
    assert not set(world.tokens.values()) & stored
    used = [r for r in rows if r.person_id == person_ids["mem"] and r.role == "member"]
    assert used[0].last_used_at == START


def test_tokens_never_reach_the_logs(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for token in [*world.tokens.values(), world.revoked]:
        for url in _routes(world):
            world.app.get(url, headers={"Authorization": f"Bearer {token}"})
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert caplog.records  # the capture worked
    for token in [*world.tokens.values(), world.revoked]:
        assert token not in logged and token[4:] not in logged


def test_an_etag_is_blind_to_lag_only() -> None:
    def body(lag: object, title: str = "Fix", stale: int = 0) -> bytes:
        return json.dumps({"items": [{"title": title}],
                           "as_of": [{"source": "j", "lag_seconds": lag, "stale": stale}]}
                          ).encode()

    assert etag_of(body(5)) == etag_of(body(3600.5)) == etag_of(body(None))
    assert etag_of(body(5)) != etag_of(body(5, stale=1))
    # Text that reads like the member inside a string is content, not lag.
    assert etag_of(body(5, title='"lag_seconds": 1')) != etag_of(body(5, title='"lag_seconds": 2'))


def test_etag_and_if_none_match(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.tokens['member']}"}
    first = world.app.get("/v1/people/mem/work", headers=headers)
    tag = first.headers["etag"]
    again = world.app.get("/v1/people/mem/work", headers={**headers, "If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    other = world.app.get("/v1/people/dev/work", headers={**headers, "If-None-Match": tag})
    assert other.status_code == 200 and other.headers["etag"] != tag
