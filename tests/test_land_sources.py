"""`land_sources`: the sources of a sync land at once, each in its own thread, as do
the streams of a source that allows it, and one failing source neither stops the others
nor goes unreported.

Two iCalendar feeds are served on loopback by an app that answers a feed only once the
other feed has been asked for too (or after a wait): each event's title says which, so
the test reads from the synced graph whether the two requests were in flight together.
A Confluence site's pages and tasks listings are served the same way, and GitHub's
pull request and milestone listings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from conftest import NOW, Database
from helpers import graph_snapshot
from model import RawRecord, Source, SyncRun
from pipelines.sync import land_sources, sync_everything
from sandbox.github import GitHubStore, create_app
from sandbox.serve import serving
from workhub.config import WorkhubConfig

#: How long a request waits for the other one to be asked for.
WAIT_SECONDS = 3.0


class Meeting:
    """Requests that wait for each other: who arrives notes it, then waits for the other."""

    def __init__(self) -> None:
        self.asked: dict[str, asyncio.Event] = {}

    async def together(self, name: str, other: str) -> str:
        """`"together"` once `other` was asked for too, `"alone"` after the wait."""
        self.asked.setdefault(name, asyncio.Event()).set()
        try:
            await asyncio.wait_for(self.asked.setdefault(other, asyncio.Event()).wait(),
                                   WAIT_SECONDS)
        except TimeoutError:
            return "alone"
        return "together"


def meeting_app() -> Starlette:
    """/a.ics and /b.ics, each answered once both were asked for; /broken.ics fails."""
    meeting = Meeting()

    async def feed(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "broken":
            return Response("no such calendar", status_code=404)
        title = await meeting.together(name, "b" if name == "a" else "a")
        body = "\r\n".join([
            "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//workhub tests//EN",
            "BEGIN:VEVENT", f"UID:{name}-1", "DTSTAMP:20261101T000000Z",
            "DTSTART:20261202T100000Z", "DTEND:20261202T110000Z", f"SUMMARY:{title}",
            "END:VEVENT", "END:VCALENDAR", ""])
        return Response(body, media_type="text/calendar")

    return Starlette(routes=[Route("/{name}.ics", feed)])


@pytest.fixture
def served() -> Iterator[str]:
    """The app on loopback, fresh for each test (its feeds remember who asked)."""
    with serving(meeting_app()) as url:
        yield url


def two_feeds(url: str, *extra: dict[str, Any]) -> WorkhubConfig:
    """One person and a feed source per name."""
    return WorkhubConfig.model_validate({
        "org": {"timezone": "Europe/Berlin",
                "people": [{"id": "alice", "name": "Alice", "email": "alice@example.com"}]},
        "sources": [
            {"name": "feed-a", "kind": "ics", "url": f"{url}/a.ics", "owner": "alice"},
            {"name": "feed-b", "kind": "ics", "url": f"{url}/b.ics", "owner": "alice"},
            *extra,
        ],
    })


def test_sources_land_at_the_same_time(
    shared_db: Database, served: str, now: datetime
) -> None:
    landed, _ = sync_everything(shared_db.sessions, two_feeds(served), now)
    assert [(s.source, s.fetched) for s in landed] == [("feed-a", 1), ("feed-b", 1)]
    titles = {key: item["title"] for key, item in graph_snapshot(shared_db.sessions).items()}
    # One after another, the first feed would have waited in vain for the second.
    assert sorted(titles.values()) == ["together", "together"]


def test_a_failing_source_lets_the_others_land_then_raises(
    db: Database, served: str
) -> None:
    broken = {"name": "feed-broken", "kind": "ics", "url": f"{served}/broken.ics",
              "owner": "alice"}
    config = two_feeds(served, broken)
    # First in the config: the feeds after it land all the same, in threads or in order.
    config.sources.insert(0, config.sources.pop())
    with pytest.raises(Exception, match="404"):
        land_sources(db.sessions, config)
    with db.sessions() as session:
        landed = sorted(session.scalars(select(RawRecord.external_id)))
        runs = dict(session.execute(
            select(Source.slug, SyncRun.status).join(Source, Source.id == SyncRun.source_id)).all())
    assert landed == ["a-1", "b-1"]
    assert runs == {"feed-a": "success", "feed-b": "success", "feed-broken": "failed"}


def wiki_app(asked_for: list[str]) -> Starlette:
    """A Confluence site of one space, one page and one task, whose page and task
    listings each answer once the other was asked for (or after a wait)."""
    meeting = Meeting()

    async def spaces(request: Request) -> JSONResponse:
        asked_for.append("spaces")
        return JSONResponse({"results": [{"id": "1", "key": "ENG", "name": "Engineering"}],
                             "_links": {}})

    async def pages(request: Request) -> JSONResponse:
        if "trashed" in request.query_params.getlist("status"):
            asked_for.append("trashed")
            return JSONResponse({"results": [], "_links": {}})
        asked_for.append("pages")
        title = await meeting.together("pages", "tasks")
        page = {"id": "100", "spaceId": "1", "status": "current", "title": title,
                "version": {"number": 1, "createdAt": "2026-11-20T10:00:00.000Z"}}
        return JSONResponse({"results": [page], "_links": {}})

    async def tasks(request: Request) -> JSONResponse:
        asked_for.append("tasks")
        body = await meeting.together("tasks", "pages")
        task = {"id": "200", "localId": "1", "spaceId": "1", "pageId": "100",
                "status": "incomplete", "body": {"storage": {"value": body}}}
        return JSONResponse({"results": [task], "_links": {}})

    return Starlette(routes=[Route("/wiki/api/v2/spaces", spaces),
                             Route("/wiki/api/v2/pages", pages),
                             Route("/wiki/api/v2/tasks", tasks)])


def test_a_sources_streams_land_at_the_same_time_where_it_allows(shared_db: Database) -> None:
    asked_for: list[str] = []
    with serving(wiki_app(asked_for)) as url:
        config = WorkhubConfig.model_validate({
            "org": {"timezone": "Europe/Berlin", "people": []},
            "sources": [{"name": "wiki", "kind": "confluence", "url": url,
                         "username": "sync@example.com", "token": "t", "spaces": ["ENG"]}],
        })
        landed = land_sources(shared_db.sessions, config)
    with shared_db.sessions() as session:
        payloads = dict(session.execute(select(RawRecord.stream, RawRecord.payload)).all())
    # One after another, the page listing would have waited in vain for the tasks'.
    assert payloads["pages"]["page"]["title"] == "together"
    assert payloads["tasks"]["task"]["body"]["storage"]["value"] == "together"
    assert sorted(asked_for) == ["pages", "spaces", "tasks", "trashed"]
    # Each stream counts its own requests, the space lookup on whichever asked first.
    requests = {s.stream: s.requests for s in landed}
    assert sum(requests.values()) == 4
    assert requests["pages"] in (2, 3) and requests["tasks"] in (1, 2)


class PullsWaitForMilestones:
    """GitHub's stand-in, with each pulls listing held until a milestones listing was
    asked for (or the wait ran out): only the issues stream lists pull requests, only the
    milestones stream lists milestones."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.meeting = Meeting()
        self.pulls: list[str] = []
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        self.paths.append(path)
        if path.endswith("/milestones"):
            self.meeting.asked.setdefault("milestones", asyncio.Event()).set()
        elif path.endswith("/pulls"):
            self.pulls.append(await self.meeting.together("pulls", "milestones"))
        await self.app(scope, receive, send)


def test_a_github_sources_streams_land_at_the_same_time(shared_db: Database) -> None:
    store = GitHubStore(clock=lambda: NOW)
    store.add_user("ada", name="Ada")
    store.add_token("t", "ada")
    store.create_repo("api")
    store.create_milestone("acme/api", "Sprint 9")
    store.create_pull("acme/api", "Add the endpoint", user="ada", head="feature")
    app = PullsWaitForMilestones(create_app(store))
    with serving(app) as url:
        config = WorkhubConfig.model_validate({
            "org": {"timezone": "Europe/Berlin", "people": []},
            "sources": [{"name": "gh", "kind": "github", "base_url": url + "/api/v3",
                         "token": "t", "org": "acme"}],
        })
        landed = land_sources(shared_db.sessions, config)
    # One after another, the issues stream would have waited in vain for the milestones.
    assert app.pulls == ["together"]
    with shared_db.sessions() as session:
        streams = set(session.scalars(select(RawRecord.stream)))
    assert {"issues", "milestones"} <= streams
    # Each stream counts the requests of its own thread (the repository listing, made
    # once, on whichever stream asked first): together, every request the server saw.
    requests = {s.stream: s.requests for s in landed}
    assert min(requests.values()) >= 1
    assert sum(requests.values()) == len(app.paths)
    assert sum(path.endswith("/orgs/acme/repos") for path in app.paths) == 1
