"""Exchange end to end against the EWS stand-in through exchangelib: mail becomes
requests, calendars become meetings merged with CalDAV's, incremental SyncFolderItems
with deletions and stale-state recovery, throttling; and Microsoft's EWS examples."""

from __future__ import annotations

import random
import re
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from calendars import vcalendar, vevent
from conftest import FIXTURES, NOW, Database, Radicale
from connectors.errors import FatalError
from connectors.exchange.wire import parse_ews_xml, response_codes
from helpers import PEOPLE, graph_snapshot, item_by_key
from model import Link, Person, RawRecord, StatusCategory, SyncRun, WorkItem
from model.db import make_engine
from model.queries.workload import person_workload
from pipelines.sync import sync_everything
from sandbox.ews import ENDPOINT, EwsStore, create_app, populate
from sandbox.ews.app import ExchangeFaults
from sandbox.faults import FaultPlan
from sandbox.org import generate_org
from sandbox.serve import serving
from workhub.config import WorkhubConfig

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"


# ---------------------------------------------------------------- fixtures and helpers


def _store() -> EwsStore:
    store = EwsStore(clock=lambda: NOW)
    for address, name in ((ALICE, "Alice Example"), (BOB, "Bob Example"),
                          (CAROL, "Carol Example")):
        store.add_mailbox(address, name)
    return store


@pytest.fixture
def ews() -> Iterator[tuple[EwsStore, str]]:
    """A stand-in with alice's, bob's and carol's mailboxes, served on loopback."""
    store = _store()
    with serving(create_app(store)) as url:
        yield store, url


def _source(url: str, name: str = "mail", **extra: Any) -> dict[str, Any]:
    return {
        "name": name, "kind": "exchange", "endpoint": url + ENDPOINT,
        "username": "svc-workhub@example.com", "password": "secret",
        "access": "impersonation", "mailboxes": [ALICE, BOB, CAROL],
        "internal_domains": ["example.com"], "window_anchor": NOW.date().isoformat(),
        "retry_wait_seconds": 0.05, "max_wait_seconds": 5, **extra,
    }


def _config(url: str, *, people: list[dict[str, Any]] | None = None,
            sources: list[dict[str, Any]] | None = None, **extra: Any) -> WorkhubConfig:
    return WorkhubConfig.model_validate({
        "org": {"timezone": "Europe/Berlin", "country": "DE", "people": people or PEOPLE},
        "sources": sources or [_source(url, **extra)],
    })


def _inbox(store: EwsStore, owner: str, subject: str) -> dict[str, Any]:
    folder = store.folder(owner, "inbox")["id"]
    return next(i for i in store.folder_items(folder) if i["Subject"] == subject)


def _email_key(store: EwsStore, owner: str, subject: str) -> str:
    return f"mail:{owner}/{_inbox(store, owner, subject)['InternetMessageId']}"


def _live(db: Database, kind: str = "email") -> dict[str, WorkItem]:
    with db.sessions() as session:
        return {i.title: i for i in session.scalars(
            select(WorkItem).where(WorkItem.kind == kind, WorkItem.deleted_at.is_(None)))}


def _stats(landed: list[Any], stream: str) -> Any:
    return next(s for s in landed if s.stream == stream)


# ---------------------------------------------------------------- mail


def test_second_sync_without_change_writes_nothing(
        db: Database, ews: tuple[EwsStore, str], now: datetime) -> None:
    store, url = ews
    store.send_message(BOB, [ALICE], "Numbers for the report?", sent=now - timedelta(hours=5))
    store.add_meeting(BOB, "Planning", now + timedelta(days=1),
                      now + timedelta(days=1, hours=1), required=[ALICE])
    config = _config(url)
    sync_everything(db.sessions, config, now)
    with db.sessions() as session:
        before = {(r.external_id, r.content_hash, r.fetched_at)
                  for r in session.scalars(select(RawRecord))}
        items = {(i.key, i.content_hash) for i in session.scalars(select(WorkItem))}

    landed, normalized = sync_everything(db.sessions, config, now)
    messages, calendar = _stats(landed, "messages"), _stats(landed, "calendar")
    assert (messages.fetched, messages.new, messages.changed, messages.deleted) == (0, 0, 0, 0)
    assert (calendar.new, calendar.changed, calendar.deleted) == (0, 0, 0)
    assert normalized.records == 0
    with db.sessions() as session:
        assert {(r.external_id, r.content_hash, r.fetched_at)
                for r in session.scalars(select(RawRecord))} == before
        assert {(i.key, i.content_hash) for i in session.scalars(select(WorkItem))} == items


def test_one_message_in_two_mailboxes_is_two_records(
        db: Database, ews: tuple[EwsStore, str], now: datetime) -> None:
    store, url = ews
    store.send_message(BOB, [ALICE], "Lunch?", sent=now - timedelta(hours=1))
    sync_everything(db.sessions, _config(url), now)
    with db.sessions() as session:
        records = list(session.scalars(select(RawRecord).where(RawRecord.stream == "messages")))
    assert sorted(r.external_id.rsplit("/", 1)[0] for r in records) == [
        f"{ALICE}/inbox", f"{BOB}/sentitems"]
    assert len({r.payload["InternetMessageId"] for r in records}) == 1
    assert all("Body" not in r.payload for r in records)  # metadata only by default


def test_bodies_are_stored_only_when_asked(
        db: Database, ews: tuple[EwsStore, str], now: datetime) -> None:
    store, url = ews
    store.send_message(BOB, [ALICE], "With body", "The details", sent=now)
    sync_everything(db.sessions, _config(url, store_bodies=True), now)
    with db.sessions() as session:
        bodies = {r.payload.get("Body") for r in session.scalars(select(RawRecord).where(
            RawRecord.stream == "messages"))}
    assert bodies == {"The details"}


def test_jira_keys_in_the_subject_become_references(
        db: Database, ews: tuple[EwsStore, str], now: datetime) -> None:
    store, url = ews
    store.send_message(BOB, [ALICE], "PLAT-12 blocked: decide on PLAT-7?", sent=now)
    sync_everything(db.sessions, _config(url), now)
    item = item_by_key(db.sessions, _email_key(store, ALICE, "PLAT-12 blocked: decide on PLAT-7?"))
    assert item is not None
    with db.sessions() as session:
        links = session.execute(select(Link.to_ref, Link.type).where(
            Link.from_item_id == item.id).order_by(Link.to_ref)).all()
    assert [tuple(row) for row in links] == [("PLAT-12", "references"), ("PLAT-7", "references")]


def test_flagging_a_message_makes_it_an_email_item_with_the_flags_due_date(
        db: Database, ews: tuple[EwsStore, str], now: datetime) -> None:
    store, url = ews
    store.send_message("vendor@partner.example.net", [ALICE], "Contract renewal",
                       sender_name="Vendor", sent=now - timedelta(days=1))
    config = _config(url)
    sync_everything(db.sessions, config, now)
    assert _live(db) == {}  # external mail, not flagged: load only

    due = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    store.flag(_inbox(store, ALICE, "Contract renewal")["ItemId"], "Flagged",
               start=now, due=due)
    landed, _ = sync_everything(db.sessions, config, now)
    assert _stats(landed, "messages").changed == 1
    item = _live(db)["Contract renewal"]
    assert item.due_at is not None and item.due_at.replace(tzinfo=UTC) == due
    assert (item.status_category, item.status_raw) == (StatusCategory.todo, "Flagged")


def test_a_flag_due_date_alone_ends_that_day_in_the_org_zone(
        db: Database, ews: tuple[EwsStore, str], now: datetime) -> None:
    store, url = ews
    store.send_message(BOB, [ALICE], "Budget", sent=now - timedelta(days=1))
    # Outlook keeps a due *date* as midnight: it means the end of that day, in Berlin.
    store.flag(_inbox(store, ALICE, "Budget")["ItemId"], "Flagged",
               due=datetime(2026, 12, 7, tzinfo=UTC))
    sync_everything(db.sessions, _config(url), now)
    item = _live(db)["Budget"]
    assert item.due_at is not None
    assert item.due_at.replace(tzinfo=UTC) == datetime(2026, 12, 7, 22, 59, 59, tzinfo=UTC)


def test_completed_flag_is_done(db: Database, ews: tuple[EwsStore, str], now: datetime) -> None:
    store, url = ews
    store.send_message("news@vendor.example.net", [ALICE], "Webinar", sent=now)
    target = _inbox(store, ALICE, "Webinar")["ItemId"]
    store.flag(target, "Flagged", due=now + timedelta(days=1))
    store.flag(target, "Complete")
    sync_everything(db.sessions, _config(url), now)
    assert _live(db)["Webinar"].status_category is StatusCategory.done


def test_direct_unanswered_request_from_the_org_is_a_todo_for_the_owner(
        db: Database, ews: tuple[EwsStore, str], now: datetime) -> None:
    store, url = ews
    store.send_message(BOB, [ALICE], "Can you review the design doc?", cc=[CAROL],
                       sent=now - timedelta(hours=3))
    sync_everything(db.sessions, _config(url), now)
    item = item_by_key(db.sessions, _email_key(store, ALICE, "Can you review the design doc?"))
    assert item is not None and item.status_category is StatusCategory.todo
    assert item.due_at is None and item.url.startswith(url + "/owa/?ItemID=")
    people = graph_snapshot(db.sessions)[item.key]["people"]
    assert people == [(ALICE, "alice", "assignee", ""), (BOB, "bob", "requester", ""),
                      (CAROL, "carol", "recipient", "")]


def test_mail_that_asks_nothing_of_its_owner_makes_no_item(
        db: Database, ews: tuple[EwsStore, str], now: datetime) -> None:
    store, url = ews
    store.send_message(BOB, [CAROL], "FYI: release notes", cc=[ALICE], sent=now)  # alice: cc
    store.send_message("digest@news.example.net", [ALICE], "Tech Weekly", sender_name="News",
                       categories=["Newsletter"], sent=now)  # from outside the org
    store.send_message(ALICE, [BOB], "Sent by alice", sent=now)  # in her Sent Items
    sync_everything(db.sessions, _config(url), now)
    titles = set(_live(db))
    # Only carol (To) and bob (To) were asked something; nothing is alice's to do.
    assert titles == {"FYI: release notes", "Sent by alice"}
    with db.sessions() as session:
        alice_items = session.scalars(select(WorkItem.key).where(
            WorkItem.key.like(f"mail:{ALICE}/%"))).all()
    assert alice_items == []


def test_direct_requests_can_be_switched_off(
        db: Database, ews: tuple[EwsStore, str], now: datetime) -> None:
    store, url = ews
    store.send_message(BOB, [ALICE], "Quick question", sent=now)
    sync_everything(db.sessions, _config(url, direct_requests=False), now)
    assert _live(db) == {}


def test_answering_a_request_marks_it_done(
        db: Database, ews: tuple[EwsStore, str], now: datetime) -> None:
    store, url = ews
    store.send_message(BOB, [ALICE], "Approve the budget?", sent=now - timedelta(days=1))
    config = _config(url)
    sync_everything(db.sessions, config, now)
    key = _email_key(store, ALICE, "Approve the budget?")
    store.reply(_inbox(store, ALICE, "Approve the budget?")["ItemId"], "Approved.")
    sync_everything(db.sessions, config, now)
    item = item_by_key(db.sessions, key)
    assert item is not None and item.deleted_at is None
    assert (item.status_category, item.status_raw) == (StatusCategory.done, "Answered")


def test_deleted_message_is_tombstoned(
        db: Database, ews: tuple[EwsStore, str], now: datetime) -> None:
    store, url = ews
    store.send_message(BOB, [ALICE], "Please sign", sent=now - timedelta(hours=2))
    config = _config(url)
    sync_everything(db.sessions, config, now)
    key = _email_key(store, ALICE, "Please sign")
    store.delete_item(_inbox(store, ALICE, "Please sign")["ItemId"])
    landed, _ = sync_everything(db.sessions, config, now)
    assert _stats(landed, "messages").deleted == 1
    item = item_by_key(db.sessions, key)
    assert item is not None and item.deleted_at is not None


def test_stale_sync_state_recovers_with_a_resync_that_tombstones_what_vanished(
        db: Database, ews: tuple[EwsStore, str], now: datetime) -> None:
    store, url = ews
    store.retain = 4
    for n in range(3):
        store.send_message(BOB, [ALICE], f"Request {n}", sent=now - timedelta(hours=n + 1))
    config = _config(url)
    sync_everything(db.sessions, config, now)
    gone = _email_key(store, ALICE, "Request 0")
    store.delete_item(_inbox(store, ALICE, "Request 0")["ItemId"])
    for n in range(6):  # more changes than the server's log keeps: the state goes stale
        store.send_message(CAROL, [ALICE], f"Later {n}", sent=now)
    landed, _ = sync_everything(db.sessions, config, now)
    assert _stats(landed, "messages").error is None
    titles = set(_live(db))
    assert {f"Later {n}" for n in range(6)} <= titles and "Request 0" not in titles
    item = item_by_key(db.sessions, gone)
    assert item is not None and item.deleted_at is not None
    with db.sessions() as session:
        runs = session.scalars(select(SyncRun.status).where(SyncRun.stream == "messages")).all()
        reason = session.scalar(select(RawRecord.delete_reason).where(
            RawRecord.deleted_at.is_not(None), RawRecord.external_id.like(f"{ALICE}/inbox/%")))
    assert set(runs) == {"success"}
    # The server never said "deleted": the re-sync's snapshot found it missing.
    assert reason == "no longer in the Exchange folder"


# ---------------------------------------------------------------- calendar


def _workload(db: Database, config: WorkhubConfig, person: str, now: datetime) -> Any:
    with db.sessions() as session:
        row = session.scalar(select(Person).where(Person.slug == person))
        assert row is not None
        return person_workload(session, row, now.date(), 1, config.org)[0]


def test_out_of_office_free_cancelled_and_private_events_count_as_designed(
        db: Database, ews: tuple[EwsStore, str], now: datetime) -> None:
    store, url = ews
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Berlin
    store.add_meeting(BOB, "Design review", at, at + timedelta(hours=1), required=[ALICE])
    store.respond(store.copies(_uid(store, "Design review"))[0]["UID"], ALICE, "Accept")
    store.add_meeting(ALICE, "Dentist", at + timedelta(hours=3), at + timedelta(hours=4),
                      sensitivity="Private")
    store.add_meeting(ALICE, "Focus (free)", at + timedelta(hours=5), at + timedelta(hours=6),
                      free_busy="Free")
    store.add_meeting(BOB, "Architecture", datetime(2026, 12, 2, 13, tzinfo=UTC),
                      datetime(2026, 12, 2, 15, tzinfo=UTC), required=[ALICE])
    store.cancel_meeting(_uid(store, "Architecture"))
    store.add_meeting(ALICE, "Away", datetime(2026, 12, 3, tzinfo=UTC),
                      datetime(2026, 12, 4, tzinfo=UTC), all_day=True, free_busy="OOF")
    config = _config(url)
    sync_everything(db.sessions, config, now)

    week = _workload(db, config, "alice", now)
    assert week.working_hours == 40.0
    assert week.time_off_hours == 8.0  # Thursday, out of office
    assert week.meeting_hours == 2.0  # design review + the private dentist; free/cancelled not
    meetings = _live(db, "meeting")
    assert meetings["Dentist"].private is True
    assert meetings["Canceled: Architecture"].status_category is StatusCategory.cancelled
    away = _live(db, "time_off")["Away"]
    assert away.all_day is True and away.start_at is not None
    assert away.start_at.replace(tzinfo=UTC) == datetime(2026, 12, 3, tzinfo=UTC)


def _uid(store: EwsStore, subject: str) -> str:
    return next(str(i["UID"]) for i in store.items.values()
                if i.get("UID") and i["Subject"].removeprefix("Canceled: ") == subject)


def test_same_meeting_in_several_mailboxes_is_one_item_with_every_attendee(
        db: Database, ews: tuple[EwsStore, str], now: datetime) -> None:
    store, url = ews
    store.add_meeting(BOB, "Sprint planning", now + timedelta(days=1),
                      now + timedelta(days=1, hours=1), required=[ALICE], optional=[CAROL])
    uid = _uid(store, "Sprint planning")
    store.respond(uid, ALICE, "Tentative")
    sync_everything(db.sessions, _config(url), now)
    with db.sessions() as session:
        assert len(session.scalars(select(RawRecord).where(
            RawRecord.item_key == f"ical:{uid}")).all()) == 3
    graph = graph_snapshot(db.sessions)
    assert [k for k in graph if k.startswith("ical:")] == [f"ical:{uid}"]
    assert graph[f"ical:{uid}"]["people"] == [
        (ALICE, "alice", "attendee", "tentative"), (BOB, "bob", "organizer", "accepted"),
        (CAROL, "carol", "attendee", "needs_action")]


def test_weekly_series_expanded_by_the_server_becomes_occurrences(
        db: Database, ews: tuple[EwsStore, str], now: datetime) -> None:
    store, url = ews
    store.add_meeting(BOB, "Team sync", datetime(2026, 11, 30, 9, tzinfo=UTC),
                      datetime(2026, 11, 30, 9, 30, tzinfo=UTC), required=[ALICE],
                      recurrence={"Pattern": "Weekly", "Interval": 1, "DaysOfWeek": ["Monday"],
                                  "StartDate": "2026-11-30", "NumberOfOccurrences": 3},
                      timezone="Europe/Berlin")
    sync_everything(db.sessions, _config(url), now)
    item = graph_snapshot(db.sessions)[f"ical:{_uid(store, 'Team sync')}"]
    assert [start for start, _, _ in item["occurrences"]] == [
        "2026-11-30T09:00:00+00:00", "2026-12-07T09:00:00+00:00", "2026-12-14T09:00:00+00:00"]


@pytest.mark.caldav
def test_same_meeting_from_exchange_and_caldav_is_one_item(
        db: Database, ews: tuple[EwsStore, str], radicale: Radicale, now: datetime) -> None:
    store, url = ews
    store.add_meeting(BOB, "Cross-tool sync", datetime(2026, 12, 3, 10, tzinfo=UTC),
                      datetime(2026, 12, 3, 11, tzinfo=UTC), required=[ALICE], uid="XTOOL-1")
    user = radicale.new_user()
    radicale.make_calendar(user)
    radicale.put(user, "work", "xtool", vcalendar(vevent(
        "XTOOL-1", "20261203T100000Z", "20261203T110000Z", "Cross-tool sync",
        organizer=BOB, attendees={ALICE: "NEEDS-ACTION", CAROL: "ACCEPTED"})))
    caldav = {"name": "cal-carol", "kind": "caldav", "url": radicale.url + "/",
              "username": user, "password": "x", "owner": "carol"}
    config = _config(url, sources=[_source(url, mailboxes=[ALICE, BOB]), caldav])
    sync_everything(db.sessions, config, now)
    graph = graph_snapshot(db.sessions)
    assert [k for k in graph if k.startswith("ical:")] == ["ical:XTOOL-1"]
    assert [(p[0], p[2]) for p in graph["ical:XTOOL-1"]["people"]] == [
        (ALICE, "attendee"), (BOB, "organizer"), (CAROL, "attendee")]


# ---------------------------------------------------------------- throttling


def _org_config(url: str, org: Any) -> WorkhubConfig:
    people = [{"id": p.id, "name": p.name, "email": p.email} for p in org.people]
    return _config(url, people=people,
                   sources=[_source(url, mailboxes=[p.email for p in org.people])])


def _seeded(org: Any) -> EwsStore:
    store = EwsStore(clock=lambda: NOW)
    populate(store, org, random.Random(7), NOW, weeks=1)
    return store


def test_throttling_is_survived_and_ends_in_the_clean_graph(
        db: Database, tmp_path: Path, sqlite_template: Path, now: datetime) -> None:
    org = generate_org(4, seed=5)
    clean_path = tmp_path / "clean.db"
    shutil.copy(sqlite_template, clean_path)
    clean_engine = make_engine(f"sqlite:///{clean_path}")
    clean = sessionmaker(clean_engine, expire_on_commit=False)
    with serving(create_app(_seeded(org))) as url:
        sync_everything(clean, _org_config(url, org), now)
    expected = graph_snapshot(clean)
    clean_engine.dispose()

    app = create_app(_seeded(org), FaultPlan(seed=17, rate_limits=0.1), back_off_ms=30,
                     back_off_missing=0.3)
    faults = app.render  # type: ignore[attr-defined]
    assert isinstance(faults, ExchangeFaults)
    with serving(app) as url:
        started = time.monotonic()
        landed, _ = sync_everything(db.sessions, _org_config(url, org), now)
        took = time.monotonic() - started
    assert all(s.error is None for s in landed)
    assert faults.throttled >= 2 and faults.without_back_off >= 1
    # It really waited: the 30 ms each throttle named, and retry_wait_seconds (50 ms) when
    # the server named none.
    assert took >= 0.03 * (faults.throttled - faults.without_back_off) + \
        0.05 * faults.without_back_off
    assert graph_snapshot(db.sessions) == expected
    assert any(v["kind"] == "email" for v in expected.values())
    assert any(v["kind"] == "meeting" for v in expected.values())


# ---------------------------------------------------------------- vendor examples

EWS_FIXTURES = FIXTURES / "ews"


def _wellformed_table() -> dict[str, bool]:
    table = (FIXTURES / "SOURCES.md").read_text()
    rows = re.findall(r"^\| (\S+\.xml) \|.*\| (wellformed|NOT-wellformed) \|$", table, re.M)
    return {name: flag == "wellformed" for name, flag in rows}


def _fixtures(wellformed: bool) -> list[Path]:
    table = _wellformed_table()
    # exchangelib's test strings are not in the table: they are server output, well-formed.
    return [p for p in sorted(EWS_FIXTURES.rglob("*.xml"))
            if table.get(p.name, p.parent.name == "exchangelib-tests") is wellformed]


def test_every_wellformed_ews_example_parses() -> None:
    files = _fixtures(True)
    assert len(files) >= 25
    for path in files:
        root = parse_ews_xml(path.read_bytes(), path.name)
        assert root.tag.endswith("Envelope") or response_codes(root), path.name


def test_malformed_ews_examples_are_rejected_with_a_clear_error() -> None:
    files = _fixtures(False)
    assert [p.name for p in files] == sorted(
        n for n, ok in _wellformed_table().items() if not ok) and len(files) == 4
    for path in files:
        with pytest.raises(FatalError, match=rf"^{re.escape(path.name)}: not well-formed XML "
                                             r"at line \d+, column \d+: \S"):
            parse_ews_xml(path.read_bytes(), path.name)


def test_server_busy_example_names_its_code() -> None:
    path = EWS_FIXTURES / "exchangelib-tests" / \
        "test_services__test_error_server_busy__1__Fault.xml"
    assert response_codes(parse_ews_xml(path.read_bytes())) == ["ErrorServerBusy"]
