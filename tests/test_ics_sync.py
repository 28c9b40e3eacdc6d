"""iCalendar feeds end to end: a feed served on loopback by a tiny Starlette app with
ETag / Last-Modified and 304s, synced through `sync_everything` on both databases."""

from __future__ import annotations

import email.utils
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conftest import FIXTURES, NOW, Database
from helpers import graph_snapshot, item_by_key
from model import ItemKind, Occurrence, Person, RawRecord, WorkItem
from model.queries.workload import person_workload
from pipelines.sync import sync_everything
from sandbox.serve import serving
from workhub.config import WorkhubConfig

PEOPLE = [
    {"id": "alice", "name": "Alice Example", "email": "alice@example.com"},
    {"id": "bob", "name": "Bob Example", "email": "bob@example.com"},
    {"id": "carol", "name": "Carol Example", "email": "carol@example.com"},
]
TEAMS = [{"id": "platform", "name": "Platform", "members": [{"person": "alice"},
                                                            {"person": "bob"}]}]


@dataclass
class Feed:
    """The feed the app serves, and every request it answered."""

    body: str = ""
    modified: datetime = NOW - timedelta(days=1)
    log: list[dict[str, Any]] = field(default_factory=list)

    def publish(self, body: str) -> None:
        """Replace the feed (a new version a minute later)."""
        self.body = body
        self.modified += timedelta(minutes=1)

    @property
    def etag(self) -> str:
        """A strong validator of the current body."""
        return '"' + hashlib.sha256(self.body.encode()).hexdigest()[:16] + '"'


def feed_app(feed: Feed) -> Starlette:
    """Serve `feed` at /feed.ics with ETag, Last-Modified and 304 answers."""

    async def get(request: Request) -> Response:
        last_modified = email.utils.format_datetime(feed.modified, usegmt=True)
        headers = {"ETag": feed.etag, "Last-Modified": last_modified}
        match = request.headers.get("if-none-match")
        since = request.headers.get("if-modified-since")
        fresh = (match == feed.etag) if match else (
            since is not None and email.utils.parsedate_to_datetime(since) >= feed.modified)
        status = 304 if fresh else 200
        feed.log.append({"status": status, "if_none_match": match})
        if fresh:
            return Response(status_code=304, headers=headers)
        return Response(feed.body, media_type="text/calendar", headers=headers)

    return Starlette(routes=[Route("/feed.ics", get)])


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[list[Feed], str]]:
    """One loopback server for the module; each test puts in a fresh Feed."""
    holder: list[Feed] = [Feed()]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await feed_app(holder[0])(scope, receive, send)

    with serving(app) as url:
        yield holder, url


@pytest.fixture
def feed(served: tuple[list[Feed], str]) -> Feed:
    """A fresh, empty feed behind the module's server."""
    served[0][0] = Feed()
    return served[0][0]


@pytest.fixture
def feed_url(served: tuple[list[Feed], str]) -> str:
    """Where the feed is served."""
    return served[1] + "/feed.ics"


def config(url: str, **source: Any) -> WorkhubConfig:
    """The test people and team, and one feed source."""
    return WorkhubConfig.model_validate({
        "org": {"timezone": "Europe/Berlin", "people": PEOPLE, "teams": TEAMS},
        "sources": [{"name": "feed", "kind": "ics", "url": url, **source}],
    })


def event(uid: str, start: str, end: str, summary: str, extra: str = "") -> str:
    """One VEVENT (UTC times unless `start` carries its own parameters)."""
    lines = [
        "BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261101T000000Z",
        f"DTSTART{start}" if start.startswith((";", ":")) else f"DTSTART:{start}",
        f"DTEND{end}" if end.startswith((";", ":")) else f"DTEND:{end}",
        f"SUMMARY:{summary}", *[x for x in extra.strip().splitlines() if x], "END:VEVENT"]
    return "\r\n".join(lines)


def calendar(*events: str, header: str = "") -> str:
    """A VCALENDAR around the events."""
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//workhub tests//EN",
            *[x for x in header.strip().splitlines() if x]]
    return "\r\n".join([*head, *events, "END:VCALENDAR", ""])


THREE = [
    event("a", "20261202T100000Z", "20261202T110000Z", "Standup"),
    event("b", "20261203T100000Z", "20261203T110000Z", "Planning"),
    event("c", "20261204T100000Z", "20261204T110000Z", "Review"),
]


# ---------------------------------------------------------------- conditional requests


def test_unchanged_feed_costs_one_conditional_request(
    db: Database, feed: Feed, feed_url: str, now: datetime
) -> None:
    feed.publish(calendar(*THREE))
    cfg = config(feed_url, owner="alice")
    sync_everything(db.sessions, cfg, now)
    feed.log.clear()
    (landed,), normalized = sync_everything(db.sessions, cfg, now)
    assert feed.log == [{"status": 304, "if_none_match": feed.etag}]
    assert (landed.requests, landed.fetched, landed.changed, landed.deleted) == (1, 0, 0, 0)
    assert normalized.records == 0


def test_changed_feed_updates_only_the_changed_event(
    db: Database, feed: Feed, feed_url: str, now: datetime
) -> None:
    feed.publish(calendar(*THREE))
    cfg = config(feed_url, owner="alice")
    sync_everything(db.sessions, cfg, now)
    feed.publish(calendar(THREE[0], event("b", "20261203T100000Z", "20261203T120000Z",
                                          "Planning (long)"), THREE[2]))
    (landed,), normalized = sync_everything(db.sessions, cfg, now)
    assert (landed.new, landed.changed, landed.unchanged) == (0, 1, 2)
    assert (normalized.records, normalized.changed) == (1, 1)
    assert graph_snapshot(db.sessions)["ical:b"]["title"] == "Planning (long)"


def test_removed_event_is_tombstoned(
    db: Database, feed: Feed, feed_url: str, now: datetime
) -> None:
    feed.publish(calendar(*THREE))
    cfg = config(feed_url, owner="alice")
    sync_everything(db.sessions, cfg, now)
    feed.publish(calendar(THREE[0], THREE[2]))
    sync_everything(db.sessions, cfg, now)
    gone = item_by_key(db.sessions, "ical:b")
    assert gone is not None and gone.deleted_at == now
    assert gone.delete_reason == "no longer in the feed"
    assert set(graph_snapshot(db.sessions)) == {"ical:a", "ical:c"}


def test_one_request_record_per_uid_with_its_overrides(
    db: Database, feed: Feed, feed_url: str, now: datetime
) -> None:
    series = event("s", "20261130T090000Z", "20261130T100000Z", "Weekly",
                   "RRULE:FREQ=WEEKLY;COUNT=3")
    moved = event("s", "20261207T130000Z", "20261207T140000Z", "Weekly (moved)",
                  "RECURRENCE-ID:20261207T090000Z")
    feed.publish(calendar(series, THREE[0], moved))
    sync_everything(db.sessions, config(feed_url, owner="alice"), now)
    with db.sessions() as session:
        assert sorted(session.scalars(select(RawRecord.external_id))) == ["a", "s"]
    assert graph_snapshot(db.sessions)["ical:s"]["occurrences"] == [
        ("2026-11-30T09:00:00+00:00", "2026-11-30T10:00:00+00:00", False),
        ("2026-12-07T13:00:00+00:00", "2026-12-07T14:00:00+00:00", False),
        ("2026-12-14T09:00:00+00:00", "2026-12-14T10:00:00+00:00", False),
    ]


# ---------------------------------------------------------------- time zones


def test_google_x_wr_timezone_is_repaired(
    db: Database, feed: Feed, feed_url: str, now: datetime
) -> None:
    # Google writes UTC times and names the calendar's zone only in X-WR-TIMEZONE: the
    # series recurs at 10:00 New York time, which is 14:00Z in October, 15:00Z after DST.
    weekly = event("g", "20261015T140000Z", "20261015T150000Z", "Google weekly",
                   "RRULE:FREQ=WEEKLY")
    feed.publish(calendar(weekly, header="X-WR-TIMEZONE:America/New_York"))
    sync_everything(db.sessions, config(feed_url, owner="alice"), now)
    with db.sessions() as session:
        starts = set(session.scalars(select(Occurrence.start_at).join(WorkItem).where(
            WorkItem.key == "ical:g")))
    assert datetime(2026, 12, 3, 15, 0, tzinfo=UTC) in starts


def test_google_fixture_feed_lands(
    db: Database, feed: Feed, feed_url: str, now: datetime
) -> None:
    feed.publish((FIXTURES / "ical" / "icalendar-bsd" / "alarm_google_future.ics").read_text())
    sync_everything(db.sessions, config(feed_url, owner="alice"), now)
    item = item_by_key(db.sessions, "ical:79fs7pkqvht9m5igs0vjv1sfra@google.com")
    assert item is not None and item.title == "event with alarms"
    assert item.start_at == datetime(2024, 10, 4, 18, 15, tzinfo=UTC)
    assert item.container == "Nicco Kunzmann"


# ---------------------------------------------------------------- team and holiday feeds


def _week(db: Database, person: str, cfg: WorkhubConfig) -> Any:
    with db.sessions() as session:
        row = session.scalar(select(Person).where(Person.slug == person))
        assert row is not None
        return person_workload(session, row, date(2026, 11, 30), 1, cfg.org)[0]


def test_team_calendar_event_is_a_meeting_for_every_member(
    db: Database, feed: Feed, feed_url: str, now: datetime
) -> None:
    feed.publish(calendar(event("t", "20261202T100000Z", "20261202T113000Z", "Team demo")))
    cfg = config(feed_url, team="platform")
    sync_everything(db.sessions, cfg, now)
    assert [_week(db, p, cfg).meeting_hours for p in ("alice", "bob", "carol")] == [
        1.5, 1.5, 0.0]


def test_unknown_team_quarantines_with_its_reason(
    db: Database, feed: Feed, feed_url: str, now: datetime
) -> None:
    feed.publish(calendar(THREE[0]))
    _, normalized = sync_everything(db.sessions, config(feed_url, team="nope"), now)
    assert normalized.quarantined == 1
    with db.sessions() as session:
        reason = session.scalar(select(RawRecord.quarantine_reason))
    assert reason is not None and "'nope' is not in org.teams" in reason


def test_holiday_feed_counts_as_time_off(
    db: Database, feed: Feed, feed_url: str, now: datetime
) -> None:
    # A title no absence pattern matches: `absences: true` alone makes it time off.
    feed.publish(calendar(event("h", ";VALUE=DATE:20261203", ";VALUE=DATE:20261204",
                                "Founders' day")))
    cfg = config(feed_url, owner="bob", absences=True)
    sync_everything(db.sessions, cfg, now)
    item = item_by_key(db.sessions, "ical:h")
    assert item is not None and item.kind is ItemKind.time_off
    week = _week(db, "bob", cfg)
    assert (week.time_off_hours, week.meeting_hours) == (8.0, 0.0)


# ---------------------------------------------------------------- quarantine


def test_malformed_event_is_quarantined_while_the_rest_syncs(
    db: Database, feed: Feed, feed_url: str, now: datetime
) -> None:
    broken = event("bad", "20261299T250000Z", "20261203T110000Z", "Broken")
    feed.publish(calendar(THREE[0], broken, THREE[2]))
    _, normalized = sync_everything(db.sessions, config(feed_url, owner="alice"), now)
    assert normalized.quarantined == 1
    assert set(graph_snapshot(db.sessions)) == {"ical:a", "ical:c"}
    with db.sessions() as session:
        quarantined = session.scalars(select(RawRecord.external_id).where(
            RawRecord.quarantine_reason.is_not(None))).all()
    assert quarantined == ["bad"]


def test_a_body_that_is_not_a_calendar_fails_without_deleting(
    db: Database, feed: Feed, feed_url: str, now: datetime
) -> None:
    feed.publish(calendar(*THREE))
    cfg = config(feed_url, owner="alice")
    sync_everything(db.sessions, cfg, now)
    feed.publish("<html>Please sign in</html>")
    with pytest.raises(Exception, match="not an iCalendar"):
        sync_everything(db.sessions, cfg, now)
    assert set(graph_snapshot(db.sessions)) == {"ical:a", "ical:b", "ical:c"}
