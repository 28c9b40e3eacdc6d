"""CalDAV end to end against a real Radicale: recurrence, merging, incremental sync,
deletions, crash-resume and quarantine."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from calendars import vcalendar, vevent
from conftest import Database, Radicale
from connectors.base import Cursor, Page, Stream
from helpers import caldav_config, graph_snapshot, item_by_key
from model import Occurrence, RawRecord, Role, SyncCursor, SyncRun, WorkItem
from model.db import make_engine, make_sessionmaker
from model.queries.sources import as_of
from pipelines.landing import land_stream
from pipelines.normalize.runner import normalize
from pipelines.sources import make_source
from pipelines.sync import sync_everything

pytestmark = pytest.mark.caldav


@pytest.fixture
def alice(radicale: Radicale) -> str:
    """A fresh Radicale account holding alice's calendar."""
    user = radicale.new_user()
    radicale.make_calendar(user)
    return user


def test_weekly_series_with_exdate_and_moved_instance(
    db: Database, radicale: Radicale, alice: str, now: datetime
) -> None:
    series = vevent(
        "series-1",
        "20261130T100000",
        "20261130T110000",
        "Weekly sync",
        tz="Europe/Berlin",
        extra="""
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE;TZID=Europe/Berlin:20261207T100000""",
    )
    moved = vevent(
        "series-1",
        "20261215T140000",
        "20261215T150000",
        "Weekly sync (moved)",
        tz="Europe/Berlin",
        extra="RECURRENCE-ID;TZID=Europe/Berlin:20261214T100000",
    )
    radicale.put(alice, "work", "series", vcalendar(series, moved, timezone=True))
    sync_everything(db.sessions, caldav_config(radicale.url, {alice: "alice"}), now)

    graph = graph_snapshot(db.sessions)
    # Berlin is UTC+1 in winter: 10:00 local is 09:00Z; the moved one is 14:00 -> 13:00Z.
    assert graph["ical:series-1"]["occurrences"] == [
        ("2026-11-30T09:00:00+00:00", "2026-11-30T10:00:00+00:00", False),
        ("2026-12-15T13:00:00+00:00", "2026-12-15T14:00:00+00:00", False),
        ("2026-12-21T09:00:00+00:00", "2026-12-21T10:00:00+00:00", False),
    ]
    item = item_by_key(db.sessions, "ical:series-1")
    assert item is not None and item.recurring and item.title == "Weekly sync"


def test_same_meeting_in_two_calendars_is_one_item(
    db: Database, radicale: Radicale, now: datetime
) -> None:
    alice, bob = radicale.new_user(), radicale.new_user()
    radicale.make_calendar(alice)
    radicale.make_calendar(bob)
    organizer_copy = vevent(
        "shared-1",
        "20261202T100000Z",
        "20261202T110000Z",
        "Review",
        organizer="alice@example.com",
        attendees={"bob@example.com": "NEEDS-ACTION"},
    )
    bob_copy = vevent(
        "shared-1",
        "20261202T100000Z",
        "20261202T110000Z",
        "Review",
        organizer="alice@example.com",
        attendees={"bob@example.com": "ACCEPTED"},
    )
    radicale.put(alice, "work", "review", vcalendar(organizer_copy))
    radicale.put(bob, "work", "review", vcalendar(bob_copy))
    sync_everything(db.sessions, caldav_config(radicale.url, {alice: "alice", bob: "bob"}), now)

    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(WorkItem)) == 1
        assert session.scalar(select(func.count()).select_from(RawRecord)) == 2
    people = graph_snapshot(db.sessions)["ical:shared-1"]["people"]
    # Bob's own copy states his answer, even though the organizer's copy lags behind.
    assert people == [
        ("alice@example.com", "alice", "organizer", "accepted"),
        ("bob@example.com", "bob", "attendee", "accepted"),
    ]


def test_a_sweep_one_record_a_batch_rebuilds_a_shared_meeting_from_both_copies(
    db: Database, radicale: Radicale, now: datetime
) -> None:
    """A batch reads, with each record, whether another record describes its item; the
    copy in the other batch is looked up, so bob's own answer is kept."""
    alice, bob = radicale.new_user(), radicale.new_user()
    for user, answer in ((alice, "NEEDS-ACTION"), (bob, "ACCEPTED")):
        radicale.make_calendar(user)
        radicale.put(user, "work", "review", vcalendar(vevent(
            "shared-2", "20261202T100000Z", "20261202T110000Z", "Review",
            organizer="alice@example.com", attendees={"bob@example.com": answer})))
    config = caldav_config(radicale.url, {alice: "alice", bob: "bob"})
    sync_everything(db.sessions, config, now)
    before = graph_snapshot(db.sessions)
    assert ("bob@example.com", "bob", "attendee", "accepted") in before["ical:shared-2"]["people"]

    stats = normalize(db.sessions, config, now, everything=True, batch_size=1)

    assert (stats.records, stats.changed, stats.unchanged) == (2, 0, 2)
    assert graph_snapshot(db.sessions) == before


def test_second_sync_without_change_writes_nothing(
    db: Database, radicale: Radicale, alice: str, now: datetime
) -> None:
    for n in range(3):
        radicale.put(
            alice,
            "work",
            f"m{n}",
            vcalendar(
                vevent(
                    f"m{n}", f"2026120{n + 1}T100000Z", f"2026120{n + 1}T110000Z", f"Meeting {n}"
                )
            ),
        )
    config = caldav_config(radicale.url, {alice: "alice"})
    sync_everything(db.sessions, config, now)
    with db.sessions() as session:
        raw_before = {
            (r.external_id, r.content_hash, r.fetched_at)
            for r in session.scalars(select(RawRecord))
        }
        items_before = {(i.id, i.content_hash) for i in session.scalars(select(WorkItem))}

    (incremental,), normalized = sync_everything(db.sessions, config, now)
    assert (incremental.fetched, incremental.new, incremental.changed) == (0, 0, 0)
    assert normalized.records == 0

    (full,), normalized = sync_everything(db.sessions, config, now, full=True)
    assert (full.fetched, full.new, full.changed, full.unchanged, full.deleted) == (3, 0, 0, 3, 0)
    assert normalized.records == 0
    with db.sessions() as session:
        assert {
            (r.external_id, r.content_hash, r.fetched_at)
            for r in session.scalars(select(RawRecord))
        } == raw_before
        assert {(i.id, i.content_hash) for i in session.scalars(select(WorkItem))} == items_before


def test_event_deleted_on_server_is_tombstoned(
    db: Database, radicale: Radicale, alice: str, now: datetime
) -> None:
    radicale.put(
        alice,
        "work",
        "keep",
        vcalendar(vevent("keep", "20261202T100000Z", "20261202T110000Z", "Keep")),
    )
    radicale.put(
        alice,
        "work",
        "gone",
        vcalendar(vevent("gone", "20261203T100000Z", "20261203T110000Z", "Gone")),
    )
    config = caldav_config(radicale.url, {alice: "alice"})
    sync_everything(db.sessions, config, now)
    radicale.delete(alice, "work", "gone")
    (stats,), normalized = sync_everything(db.sessions, config, now)

    assert stats.deleted == 1 and normalized.deleted == 1
    gone = item_by_key(db.sessions, "ical:gone")
    assert gone is not None and gone.deleted_at == now
    assert gone.delete_reason == "deleted on the CalDAV server"
    assert set(graph_snapshot(db.sessions)) == {"ical:keep"}


def test_full_sync_sweeps_what_a_lost_cursor_missed(
    db: Database, radicale: Radicale, alice: str, now: datetime
) -> None:
    radicale.put(
        alice, "work", "a", vcalendar(vevent("a", "20261202T100000Z", "20261202T110000Z", "A"))
    )
    radicale.put(
        alice, "work", "b", vcalendar(vevent("b", "20261202T120000Z", "20261202T130000Z", "B"))
    )
    config = caldav_config(radicale.url, {alice: "alice"})
    sync_everything(db.sessions, config, now)
    radicale.delete(alice, "work", "b")
    (stats,), _ = sync_everything(db.sessions, config, now, full=True)
    assert stats.deleted == 1
    assert set(graph_snapshot(db.sessions)) == {"ical:a"}


class _KilledAfter(Stream):
    """Wraps a stream and dies after `pages` pages, as a killed process would."""

    name = "events"
    primary_key = "href"

    def __init__(self, inner: Stream, pages: int) -> None:
        self.inner, self.pages = inner, pages

    def read(self, cursor: Cursor | None) -> Iterator[Page]:
        for n, page in enumerate(self.inner.read(cursor)):
            if n == self.pages:
                raise KeyboardInterrupt("killed")
            yield page


def test_sync_killed_between_pages_resumes_to_the_same_graph(
    db: Database,
    radicale: Radicale,
    alice: str,
    now: datetime,
    sqlite_template: Path,
    tmp_path: Path,
) -> None:
    for n in range(5):
        radicale.put(
            alice,
            "work",
            f"k{n}",
            vcalendar(
                vevent(
                    f"k{n}",
                    f"2026120{n + 1}T090000Z",
                    f"2026120{n + 1}T093000Z",
                    f"Item {n}",
                    organizer="alice@example.com",
                    attendees={"bob@example.com": "ACCEPTED"},
                )
            ),
        )
    config = caldav_config(radicale.url, {alice: "alice"}, page_size=2)
    source = make_source(config.sources[0])
    with pytest.raises(KeyboardInterrupt):
        land_stream(
            db.sessions,
            source_slug="cal-alice",
            source_kind="caldav",
            stream=_KilledAfter(source.stream("events"), pages=2),
        )
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RawRecord)) == 4
        assert session.get(SyncCursor, (1, "events")) is None  # the token waits for the end
        assert session.scalar(select(SyncRun.status)) == "failed"

    sync_everything(db.sessions, config, now)  # resume: repeats the calendar, lands the rest

    clean_path = tmp_path / "clean.db"
    shutil.copy(sqlite_template, clean_path)
    clean = make_sessionmaker(make_engine(f"sqlite:///{clean_path}"))
    sync_everything(clean, config, now)
    resumed = graph_snapshot(db.sessions)
    assert len(resumed) == 5
    assert resumed == graph_snapshot(clean)


def test_malformed_object_is_quarantined_while_the_rest_syncs(
    db: Database, radicale: Radicale, alice: str, now: datetime
) -> None:
    radicale.put(
        alice,
        "work",
        "good",
        vcalendar(vevent("good", "20261202T100000Z", "20261202T110000Z", "Good")),
    )
    radicale.put(
        alice,
        "work",
        "bad",
        vcalendar(vevent("bad", "20261202T100000Z", "20261202T090000Z", "Bad")),
    )
    radicale.put(
        alice,
        "work",
        "tz",
        vcalendar(vevent("tz", "20261202T100000", "20261202T110000", "Nowhere", tz="Nowhere/Land")),
    )
    _, normalized = sync_everything(db.sessions, caldav_config(radicale.url, {alice: "alice"}), now)
    assert normalized.quarantined == 2
    with db.sessions() as session:
        reasons = dict(
            session.execute(
                select(RawRecord.external_id, RawRecord.quarantine_reason).where(
                    RawRecord.quarantine_reason.is_not(None)
                )
            ).all()
        )
    assert reasons == {
        f"/{alice}/work/bad.ics": "VEVENT bad: DTEND 2026-12-02 09:00:00+00:00 is before DTSTART "
        "2026-12-02 10:00:00+00:00",
        f"/{alice}/work/tz.ics": "VEVENT tz: unknown time zone 'Nowhere/Land' in DTSTART",
    }
    assert set(graph_snapshot(db.sessions)) == {"ical:good"}
    # Every view's `as_of` says how many records of the stream wait in quarantine.
    with db.sessions() as session:
        (fresh,) = as_of(session, now)
    assert (fresh.source, fresh.stream, fresh.quarantined) == ("cal-alice", "events", 2)


def test_calendar_owner_without_attendees_organizes_their_own_entry(
    db: Database, radicale: Radicale, alice: str, now: datetime
) -> None:
    radicale.put(
        alice,
        "work",
        "private",
        vcalendar(
            vevent(
                "dentist", "20261202T080000Z", "20261202T090000Z", "Dentist", extra="CLASS:PRIVATE"
            )
        ),
    )
    sync_everything(db.sessions, caldav_config(radicale.url, {alice: "alice"}), now)
    entry = graph_snapshot(db.sessions)["ical:dentist"]
    assert entry["private"] is True
    assert entry["people"] == [("alice@example.com", "alice", Role.organizer.value, "accepted")]


def test_occurrences_outside_the_window_are_not_stored(
    db: Database, radicale: Radicale, alice: str, now: datetime
) -> None:
    radicale.put(
        alice,
        "work",
        "daily",
        vcalendar(
            vevent(
                "daily", "20200106T090000Z", "20200106T091500Z", "Daily", extra="RRULE:FREQ=DAILY"
            )
        ),
    )
    sync_everything(db.sessions, caldav_config(radicale.url, {alice: "alice"}), now)
    with db.sessions() as session:
        first, last, count = session.execute(
            select(func.min(Occurrence.start_at), func.max(Occurrence.start_at), func.count())
        ).one()
    # default window: 8 weeks back, 26 ahead of the injected now (2026-12-02 12:00Z)
    assert first == datetime(2026, 10, 8, 9, 0, tzinfo=UTC)
    assert last == datetime(2027, 6, 2, 9, 0, tzinfo=UTC)
    assert count == 8 * 7 + 26 * 7
