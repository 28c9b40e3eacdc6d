"""Workload numbers from real calendars, checked against values worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from calendars import vcalendar, vevent
from conftest import Database, Radicale
from helpers import caldav_config
from model import Person
from model.queries.intervals import hours, intersect, subtract, union
from model.queries.workload import WeekLoad, person_workload
from pipelines.sync import sync_everything


def _at(h: int, m: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 12, day, h, m, tzinfo=UTC)


def test_interval_algebra() -> None:
    a = [(_at(9), _at(11)), (_at(10), _at(12)), (_at(14), _at(15))]
    assert union(a) == [(_at(9), _at(12)), (_at(14), _at(15))]
    assert intersect(a, [(_at(11), _at(14, 30))]) == [(_at(11), _at(12)), (_at(14), _at(14, 30))]
    assert subtract([(_at(9), _at(17))], a) == [(_at(12), _at(14)), (_at(15), _at(17))]
    assert hours(subtract([(_at(9), _at(17))], a)) == 4.0
    assert hours([(_at(9), _at(10)), (_at(12), _at(14))], at_least=timedelta(hours=2)) == 2.0


def _week(db: Database, person: str, day: date) -> WeekLoad:
    with db.sessions() as session:
        row = session.scalar(select(Person).where(Person.slug == person))
        assert row is not None
        (week,) = person_workload(session, row, day, 1)
        return week


@pytest.fixture
def account(radicale: Radicale) -> str:
    user = radicale.new_user()
    radicale.make_calendar(user)
    return user


def _sync(
    db: Database, radicale: Radicale, account: str, now: datetime, owner: str = "bob"
) -> None:
    sync_everything(db.sessions, caldav_config(radicale.url, {account: owner}), now)


def _meeting(
    uid: str,
    start: str,
    end: str,
    partstat: str = "ACCEPTED",
    extra: str = "",
    summary: str = "Meeting",
) -> str:
    return vcalendar(
        vevent(
            uid,
            start,
            end,
            summary,
            tz="Europe/Berlin",
            extra=extra,
            organizer="alice@example.com",
            attendees={"bob@example.com": partstat},
        ),
        timezone=True,
    )


def test_hand_built_week(db: Database, radicale: Radicale, account: str, now: datetime) -> None:
    """Bob, Berlin, week of 21 December 2026 (ISO 2026-W52).

    Working: Mon-Thu 09-17 = 32 h; Fri 25 Dec is Christmas Day (DE), Sat/Sun off.
    Mon: 09:00-10:00 and 09:30-11:00 overlap              -> 2 h of meetings
    Tue: 16:00-18:00, clipped to working hours             -> 1 h
    Wed: 13:00-17:00 "Vacation" (absence pattern)          -> 4 h time off
         14:00-15:00 meeting inside the time off           -> 0 h
         11:00-12:00 meeting                               -> 1 h
    Thu: 10:00-12:00 declined                              -> 0 h
    Fri: 10:00-11:00 on the holiday                        -> 0 h
    meetings 4, time off 4, available 32 - 4 - 4 = 24.
    Focus (free blocks >= 2 h): Mon 11-17 (6) + Tue 09-16 (7) + Wed 09-11 (2; 12-13 is too
    short) + Thu 09-17 (8) = 23.
    """
    for uid, start, end, partstat, summary in [
        ("mon-a", "20261221T090000", "20261221T100000", "ACCEPTED", "Planning"),
        ("mon-b", "20261221T093000", "20261221T110000", "TENTATIVE", "Review"),
        ("tue", "20261222T160000", "20261222T180000", "ACCEPTED", "Late call"),
        ("wed-in-vacation", "20261223T140000", "20261223T150000", "ACCEPTED", "Sync"),
        ("wed", "20261223T110000", "20261223T120000", "ACCEPTED", "Sync"),
        ("thu", "20261224T100000", "20261224T120000", "DECLINED", "Workshop"),
        ("fri", "20261225T100000", "20261225T110000", "ACCEPTED", "Holiday call"),
    ]:
        radicale.put(account, "work", uid, _meeting(uid, start, end, partstat, summary=summary))
    radicale.put(
        account,
        "work",
        "vacation",
        vcalendar(
            vevent(
                "vacation", "20261223T130000", "20261223T170000", "Vacation", tz="Europe/Berlin"
            ),
            timezone=True,
        ),
    )
    _sync(db, radicale, account, now)

    week = _week(db, "bob", date(2026, 12, 23))
    assert (week.week, week.start) == ("2026-W52", date(2026, 12, 21))
    assert week.working_hours == 32.0
    assert week.time_off_hours == 4.0
    assert week.meeting_hours == 4.0
    assert week.duty_hours == 0.0
    assert week.available_hours == 24.0
    assert week.committed_hours == 0.0
    assert week.utilization == 0.0
    assert week.focus_hours == 23.0


def test_overlapping_meetings_count_once(
    db: Database, radicale: Radicale, account: str, now: datetime
) -> None:
    radicale.put(account, "work", "a", _meeting("a", "20261201T100000", "20261201T110000"))
    radicale.put(account, "work", "b", _meeting("b", "20261201T103000", "20261201T120000"))
    radicale.put(account, "work", "c", _meeting("c", "20261201T103000", "20261201T110000"))
    _sync(db, radicale, account, now)
    assert _week(db, "bob", date(2026, 12, 1)).meeting_hours == 2.0


def test_declined_cancelled_and_transparent_do_not_count(
    db: Database, radicale: Radicale, account: str, now: datetime
) -> None:
    radicale.put(
        account, "work", "counted", _meeting("counted", "20261202T090000", "20261202T100000")
    )
    radicale.put(
        account,
        "work",
        "declined",
        _meeting("declined", "20261202T100000", "20261202T110000", "DECLINED"),
    )
    radicale.put(
        account,
        "work",
        "cancelled",
        _meeting("cancelled", "20261202T110000", "20261202T120000", extra="STATUS:CANCELLED"),
    )
    radicale.put(
        account,
        "work",
        "free",
        _meeting("free", "20261202T130000", "20261202T140000", extra="TRANSP:TRANSPARENT"),
    )
    radicale.put(
        account,
        "work",
        "cdo-free",
        _meeting(
            "cdo-free",
            "20261202T140000",
            "20261202T150000",
            extra="X-MICROSOFT-CDO-BUSYSTATUS:FREE",
        ),
    )
    _sync(db, radicale, account, now)
    week = _week(db, "bob", date(2026, 12, 2))
    assert week.meeting_hours == 1.0
    assert week.time_off_hours == 0.0


def test_cancelled_instance_of_a_series_does_not_count(
    db: Database, radicale: Radicale, account: str, now: datetime
) -> None:
    series = vevent(
        "daily",
        "20261130T090000",
        "20261130T100000",
        "Daily",
        tz="Europe/Berlin",
        organizer="alice@example.com",
        attendees={"bob@example.com": "ACCEPTED"},
        extra="RRULE:FREQ=DAILY;COUNT=5",
    )
    cancelled = vevent(
        "daily",
        "20261202T090000",
        "20261202T100000",
        "Daily",
        tz="Europe/Berlin",
        organizer="alice@example.com",
        attendees={"bob@example.com": "ACCEPTED"},
        extra="RECURRENCE-ID;TZID=Europe/Berlin:20261202T090000\nSTATUS:CANCELLED",
    )
    radicale.put(account, "work", "daily", vcalendar(series, cancelled, timezone=True))
    _sync(db, radicale, account, now)
    assert _week(db, "bob", date(2026, 12, 2)).meeting_hours == 4.0


def test_all_day_out_of_office_is_time_off_and_swallows_meetings(
    db: Database, radicale: Radicale, account: str, now: datetime
) -> None:
    radicale.put(
        account,
        "work",
        "oof",
        vcalendar(
            vevent("oof", "20261204", "20261205", "Away", extra="X-MICROSOFT-CDO-BUSYSTATUS:OOF")
        ),
    )
    radicale.put(account, "work", "fri", _meeting("fri", "20261204T100000", "20261204T110000"))
    radicale.put(account, "work", "thu", _meeting("thu", "20261203T100000", "20261203T110000"))
    _sync(db, radicale, account, now)
    week = _week(db, "bob", date(2026, 12, 4))
    assert week.working_hours == 40.0
    assert week.time_off_hours == 8.0
    assert week.meeting_hours == 1.0  # Thursday only; Friday's meeting is inside time off
    assert week.available_hours == 31.0
    # Mon-Wed 24 h free; Thu 09-10 is too short, 11-17 counts 6; Friday is off.
    assert week.focus_hours == 30.0


def test_all_day_absence_follows_the_readers_time_zone(
    db: Database, radicale: Radicale, account: str, now: datetime
) -> None:
    # Carol works in New York: her all-day vacation covers her own Friday 09-17.
    radicale.put(
        account, "work", "vac", vcalendar(vevent("vac", "20261204", "20261205", "Vacation"))
    )
    _sync(db, radicale, account, now, owner="carol")
    week = _week(db, "carol", date(2026, 12, 4))
    assert (week.working_hours, week.time_off_hours) == (40.0, 8.0)


def test_meetings_in_another_time_zone_land_in_the_right_local_hours(
    db: Database, radicale: Radicale, account: str, now: datetime
) -> None:
    # 15:00-17:00Z is 10:00-12:00 in New York but 16:00-18:00 in Berlin.
    radicale.put(
        account,
        "work",
        "x",
        vcalendar(
            vevent(
                "x",
                "20261201T150000Z",
                "20261201T170000Z",
                "Cross-Atlantic",
                organizer="alice@example.com",
                attendees={"bob@example.com": "ACCEPTED", "carol@example.com": "ACCEPTED"},
            )
        ),
    )
    _sync(db, radicale, account, now, owner="alice")
    assert _week(db, "carol", date(2026, 12, 1)).meeting_hours == 2.0
    assert _week(db, "bob", date(2026, 12, 1)).meeting_hours == 1.0  # clipped at 17:00
