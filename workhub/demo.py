"""The example organisation the demo serves: people, teams and a fortnight of calendars.

Until the sandbox stand-ins arrive, the demo is one real CalDAV server (Radicale) with a
calendar per person. Every meeting sits in the organizer's calendar and in each
attendee's, with that attendee's own answer, as a scheduling server would store it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

__all__ = ["DEMO_PEOPLE", "DEMO_TEAMS", "demo_config", "seed_calendars"]

DEMO_PEOPLE: list[dict[str, Any]] = [
    {"id": "maria", "name": "Maria Keller", "email": "maria@example.com"},
    {"id": "jonas", "name": "Jonas Weber", "email": "jonas@example.com", "manager": "maria"},
    {"id": "lena", "name": "Lena Fischer", "email": "lena@example.com", "manager": "maria"},
    {
        "id": "sam",
        "name": "Sam Carter",
        "email": "sam@example.com",
        "manager": "maria",
        "timezone": "America/New_York",
        "country": "US",
    },
    {"id": "priya", "name": "Priya Nair", "email": "priya@example.com", "manager": "maria"},
    {"id": "tom", "name": "Tom Becker", "email": "tom@example.com", "manager": "priya"},
]
DEMO_TEAMS: list[dict[str, Any]] = [
    {
        "id": "platform",
        "name": "Platform",
        "manager": "maria",
        "members": [{"person": "jonas"}, {"person": "lena"}, {"person": "sam", "share": 0.5}],
    },
    {
        "id": "product",
        "name": "Product",
        "manager": "priya",
        "members": [{"person": "tom"}, {"person": "sam", "share": 0.5}],
    },
]
PASSWORD_ENV = "WORKHUB_DEMO_CALDAV_PASSWORD"  # noqa: S105  (the variable's name, not a secret)


def _email(person: str) -> str:
    return f"{person}@example.com"


@dataclass
class DemoEvent:
    """A meeting or absence to seed; `partstat` gives each attendee's own answer."""

    uid: str
    summary: str
    start: str
    end: str
    organizer: str
    attendees: dict[str, str] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)

    def ics(self) -> str:
        """The VCALENDAR text of this event (times in Europe/Berlin unless dates)."""
        lines = [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//workhub demo//EN",
            "BEGIN:VEVENT",
            f"UID:{self.uid}",
            "DTSTAMP:20260101T000000Z",
            f"SUMMARY:{self.summary}",
        ]
        if len(self.start) == 8:
            lines += [f"DTSTART;VALUE=DATE:{self.start}", f"DTEND;VALUE=DATE:{self.end}"]
        else:
            lines += [
                f"DTSTART;TZID=Europe/Berlin:{self.start}",
                f"DTEND;TZID=Europe/Berlin:{self.end}",
            ]
        if self.attendees:
            lines.append(f"ORGANIZER;CN={self.organizer}:mailto:{_email(self.organizer)}")
            for person, partstat in self.attendees.items():
                lines.append(f"ATTENDEE;PARTSTAT={partstat}:mailto:{_email(person)}")
        lines += self.extra
        lines += ["END:VEVENT", "END:VCALENDAR"]
        return "\r\n".join(lines) + "\r\n"


def _at(day: date, hhmm: str) -> str:
    return day.strftime("%Y%m%d") + "T" + hhmm.replace(":", "") + "00"


def demo_events(monday: date) -> list[DemoEvent]:
    """A fortnight of meetings around the week of `monday`."""
    d = [monday + timedelta(days=i) for i in range(14)]
    platform = {"jonas": "ACCEPTED", "lena": "ACCEPTED", "sam": "ACCEPTED"}
    everyone = {p["id"]: "ACCEPTED" for p in DEMO_PEOPLE if p["id"] != "maria"}
    everyone["priya"] = "DECLINED"
    return [
        DemoEvent(
            "standup@demo",
            "Platform stand-up",
            _at(d[0], "09:30"),
            _at(d[0], "09:45"),
            "maria",
            platform,
            [
                "RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
                f"EXDATE;TZID=Europe/Berlin:{_at(d[2], '09:30')}",
            ],
        ),
        DemoEvent(
            "planning@demo",
            "Sprint planning",
            _at(d[0], "10:00"),
            _at(d[0], "11:30"),
            "maria",
            platform,
            ["RRULE:FREQ=WEEKLY;INTERVAL=2"],
        ),
        DemoEvent(
            "product-sync@demo",
            "Product sync",
            _at(d[1], "14:00"),
            _at(d[1], "15:00"),
            "priya",
            {"tom": "ACCEPTED", "sam": "TENTATIVE"},
            ["RRULE:FREQ=WEEKLY"],
        ),
        DemoEvent(
            "design-review@demo",
            "Design review",
            _at(d[1], "14:30"),
            _at(d[1], "15:30"),
            "tom",
            {"priya": "ACCEPTED", "lena": "DECLINED"},
        ),
        DemoEvent(
            "1on1-jonas@demo",
            "1:1 Maria / Jonas",
            _at(d[3], "11:00"),
            _at(d[3], "11:30"),
            "maria",
            {"jonas": "ACCEPTED"},
            ["RRULE:FREQ=WEEKLY"],
        ),
        DemoEvent(
            "1on1-lena@demo",
            "1:1 Maria / Lena",
            _at(d[3], "11:30"),
            _at(d[3], "12:00"),
            "maria",
            {"lena": "ACCEPTED"},
            ["RRULE:FREQ=WEEKLY"],
        ),
        DemoEvent(
            "all-hands@demo", "All hands", _at(d[4], "16:00"), _at(d[4], "17:00"), "maria", everyone
        ),
        DemoEvent(
            "arch-review@demo",
            "Architecture review",
            _at(d[2], "13:00"),
            _at(d[2], "15:00"),
            "jonas",
            {"lena": "ACCEPTED", "sam": "ACCEPTED"},
            ["STATUS:CANCELLED"],
        ),
        DemoEvent(
            "lena-oof@demo",
            "Out of office",
            d[4].strftime("%Y%m%d"),
            d[5].strftime("%Y%m%d"),
            "lena",
            {},
            ["X-MICROSOFT-CDO-BUSYSTATUS:OOF", "TRANSP:OPAQUE"],
        ),
        DemoEvent(
            "sam-vacation@demo",
            "Vacation",
            d[7].strftime("%Y%m%d"),
            d[10].strftime("%Y%m%d"),
            "sam",
            {},
        ),
        DemoEvent(
            "jonas-doctor@demo",
            "Doctor appointment",
            _at(d[2], "08:00"),
            _at(d[2], "10:00"),
            "jonas",
            {},
            ["CLASS:PRIVATE"],
        ),
        DemoEvent(
            "tom-focus@demo",
            "Focus time",
            _at(d[2], "09:00"),
            _at(d[2], "12:00"),
            "tom",
            {},
            ["TRANSP:TRANSPARENT"],
        ),
    ]


def seed_calendars(url: str, monday: date) -> int:
    """Put every demo event into the calendars of its organizer and attendees."""
    count = 0
    with httpx.Client(base_url=url, timeout=10) as client:
        for person in DEMO_PEOPLE:
            pid = person["id"]
            response = client.request("MKCALENDAR", f"/{pid}/work/", auth=(pid, "demo"))
            response.raise_for_status()
        for event in demo_events(monday):
            for holder in [event.organizer, *event.attendees]:
                client.put(
                    f"/{holder}/work/{event.uid.split('@')[0]}.ics",
                    content=event.ics(),
                    headers={"Content-Type": "text/calendar"},
                    auth=(holder, "demo"),
                ).raise_for_status()
                count += 1
    return count


def demo_config(radicale_url: str, database_url: str) -> dict[str, Any]:
    """The demo's workhub.yaml as a mapping: one CalDAV source per person."""
    return {
        "database_url": database_url,
        "org": {
            "timezone": "Europe/Berlin",
            "country": "DE",
            "working_hours": {
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "start": "09:00",
                "end": "17:00",
            },
            "people": DEMO_PEOPLE,
            "teams": DEMO_TEAMS,
        },
        "sources": [
            {
                "name": f"calendar-{p['id']}",
                "kind": "caldav",
                "url": radicale_url + "/",
                "username": p["id"],
                "password": "${" + PASSWORD_ENV + "}",
                "owner": p["id"],
                "schedule": "*/15 * * * *",
            }
            for p in DEMO_PEOPLE
        ],
    }
