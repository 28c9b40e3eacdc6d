"""Seed the EWS stand-in with a few weeks of realistic mail and calendars for an
organisation: requests between colleagues (some flagged with due dates, some answered,
some left unanswered), external newsletters, recurring team meetings organised by each
team's manager, one-off meetings, out-of-office days, private and cancelled meetings.

Deterministic: the same organisation, `rng` seed and `now` give the same store.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.ews.recurrence import WEEKDAYS
from sandbox.ews.store import EwsStore
from sandbox.org import Organisation, OrgPerson

__all__ = ["NEWSLETTERS", "populate"]

NEWSLETTERS = [("digest@news.techweekly.example.net", "Tech Weekly"),
               ("hello@updates.cloudvendor.example.org", "CloudVendor Updates"),
               ("events@meetups.example.net", "Meetup Events")]
REQUESTS = ["Can you review the {t} proposal?", "Question about {t}", "Need your input on {t}",
            "{t}: numbers for the quarterly report", "Please approve the {t} budget",
            "Follow-up on {t}", "Blocked on {t} - any ideas?", "{t} handover notes"]
TOPICS = ["API migration", "on-call rota", "Q1 roadmap", "vendor contract", "load test",
          "hiring plan", "incident review", "design doc", "release checklist", "data retention"]


def _local(person: OrgPerson, day: date, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in the person's zone, as UTC."""
    local = datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(person.timezone))
    return local.astimezone(UTC)


def _workday(now: datetime, rng: random.Random, weeks: int) -> date:
    while True:
        day = now.date() - timedelta(days=rng.randrange(0, weeks * 7))
        if day.weekday() < 5:
            return day


def populate(store: EwsStore, org: Organisation, rng: random.Random, now: datetime,
             weeks: int = 3) -> None:
    """Fill `store` with a mailbox per person, `weeks` of mail and calendars around `now`."""
    for person in org.people:
        store.add_mailbox(person.email, person.name)
    _mail(store, org, rng, now, weeks)
    _calendars(store, org, rng, now, weeks)


def _mail(store: EwsStore, org: Organisation, rng: random.Random, now: datetime,
          weeks: int) -> None:
    people = {p.id: p for p in org.people}
    for person in org.people:
        team = org.team_of(person.id) if any(person.id in t.members for t in org.teams) else None
        colleagues = [people[m] for m in (team.members if team else ()) if m != person.id]
        if person.manager:
            colleagues.append(people[person.manager])
        for _ in range(rng.randint(3, 6)):
            if not colleagues:
                break
            sender = rng.choice(colleagues)
            day = _workday(now, rng, weeks)
            sent = _local(sender, day, rng.randint(8, 17), rng.choice([0, 15, 30, 45]))
            if sent >= now:
                sent = now - timedelta(hours=rng.randint(1, 48))
            subject = rng.choice(REQUESTS).format(t=rng.choice(TOPICS))
            cc = [rng.choice(colleagues).email] if rng.random() < 0.3 else []
            importance = "High" if rng.random() < 0.15 else "Normal"
            text = f"Hi {person.name.split()[0]},\n\n{subject}\n\nThanks,\n{sender.name}"
            store.send_message(sender.email, [person.email], subject, text,
                               cc=[c for c in cc if c != person.email], importance=importance,
                               sent=sent)
            received = _latest(store, person.email, subject)
            roll = rng.random()
            if roll < 0.3:
                due = sent + timedelta(days=rng.randint(1, 10))
                store.flag(received["ItemId"], "Flagged", start=sent, due=due)
                if due < now and rng.random() < 0.4:
                    store.flag(received["ItemId"], "Complete")
            elif roll < 0.55:
                store.reply(received["ItemId"], "Done - see the update.",
                            sent=min(now, sent + timedelta(hours=rng.randint(1, 30))))
            elif roll < 0.75:
                store.mark_read(received["ItemId"])
            # else: direct, unread and unanswered
        for address, name in NEWSLETTERS:
            if rng.random() < 0.5:
                continue
            for week in range(weeks):
                sent = datetime.combine(now.date() - timedelta(days=7 * week + rng.randint(1, 6)),
                                        time(6, 0), tzinfo=UTC)
                store.send_message(address, [person.email], f"{name}: issue #{120 - week}",
                                   "This week's highlights ...", sender_name=name,
                                   categories=["Newsletter"], sent=sent)


def _latest(store: EwsStore, address: str, subject: str) -> dict[str, Any]:
    inbox = store.folder(address, "inbox")["id"]
    return max((i for i in store.folder_items(inbox) if i["Subject"] == subject),
               key=lambda i: (str(i["DateTimeReceived"]), str(i["ItemId"])))


def _calendars(store: EwsStore, org: Organisation, rng: random.Random, now: datetime,
               weeks: int) -> None:
    people = {p.id: p for p in org.people}
    monday = now.date() - timedelta(days=now.weekday() + 7 * weeks)
    for number, team in enumerate(org.teams):
        manager = people[team.manager]
        members = [people[m] for m in team.members if m != team.manager]
        weekday = rng.randrange(0, 5)
        first = monday + timedelta(days=weekday)
        start = _local(manager, first, 10)
        series = store.add_meeting(
            manager.email, f"{team.name} weekly sync", start, start + timedelta(minutes=45),
            required=[p.email for p in members], location=f"{team.name} room",
            recurrence={"Pattern": "Weekly", "Interval": 1, "DaysOfWeek": [WEEKDAYS[weekday]],
                        "StartDate": first.isoformat(), "EndDate": None,
                        "NumberOfOccurrences": None},
            timezone=manager.timezone)
        for position, person in enumerate(members):
            roll = rng.random()
            response = "Decline" if roll < 0.1 else "Tentative" if roll < 0.3 else "Accept"
            if number == 0 and position < 2:
                # The first team always has one of each, so every seed shows both cases.
                response = ("Decline", "Tentative")[position]
            store.respond(series["UID"], person.email, response)
        if rng.random() < 0.5:
            daily = _local(manager, monday, 9, 15)
            store.add_meeting(
                manager.email, f"{team.name} stand-up", daily, daily + timedelta(minutes=15),
                required=[p.email for p in members],
                recurrence={"Pattern": "Weekly", "Interval": 1, "DaysOfWeek": WEEKDAYS[:5],
                            "StartDate": monday.isoformat(),
                            "EndDate": (now.date() + timedelta(days=28)).isoformat()},
                timezone=manager.timezone)
        for person in members[:3]:
            day = now.date() + timedelta(days=rng.randint(-7, 7))
            if day.weekday() >= 5:
                day -= timedelta(days=2)
            one = _local(manager, day, rng.choice([11, 14, 15]))
            store.add_meeting(manager.email, f"1:1 {manager.name.split()[0]} / "
                              f"{person.name.split()[0]}", one, one + timedelta(minutes=30),
                              required=[person.email], sensitivity="Private"
                              if rng.random() < 0.3 else "Normal", timezone=manager.timezone)
    everyone = list(org.people)
    for person in rng.sample(everyone, k=max(1, len(everyone) // 6)):
        day = now.date() + timedelta(days=rng.randint(-10, 14))
        length = rng.randint(1, 3)
        store.add_meeting(person.email, "Out of office", _midnight(day),
                          _midnight(day + timedelta(days=length)), all_day=True,
                          free_busy="OOF", timezone=person.timezone)
    for person in rng.sample(everyone, k=min(2, len(everyone))):
        day = now.date() + timedelta(days=rng.randint(1, 5))
        start = _local(person, day, 12)
        store.add_meeting(person.email, "Doctor's appointment", start, start + timedelta(hours=1),
                          sensitivity="Private", timezone=person.timezone)
    organiser = rng.choice(everyone)
    guests = [p.email for p in rng.sample(everyone, k=min(4, len(everyone))) if p != organiser]
    start = _local(organiser, now.date() + timedelta(days=2), 16)
    cancelled = store.add_meeting(organiser.email, "Architecture review", start,
                                  start + timedelta(hours=1), required=guests,
                                  timezone=organiser.timezone)
    store.cancel_meeting(cancelled["UID"])


def _midnight(day: date) -> datetime:
    # All-day events are stored from midnight to midnight UTC, as EWS returns them
    # when the request carries no TimeZoneContext.
    return datetime.combine(day, time(0, 0), tzinfo=UTC)
