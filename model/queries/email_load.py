"""Email load: messages a person received and sent per week, from the mail metadata.

Messages that are not requests make no work item, yet they are work: their counts come
straight from the stored metadata of each mailbox's Inbox and Sent Items.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from model import Person, RawRecord, Source
from model.queries.workload import iso_week_start

__all__ = ["email_load"]

_STAMP = "%Y-%m-%dT%H:%M:%SZ"  # how the Exchange connector stores timestamps


def email_load(session: Session, person: Person, first_monday: date, weeks: int
               ) -> dict[date, tuple[int, int]]:
    """Monday of each ISO week (person's zone) -> (received, sent) messages."""
    if not person.email:
        return {}
    tz = ZoneInfo(person.timezone)
    start = datetime.combine(first_monday, time(0), tz).astimezone(UTC)
    end = datetime.combine(first_monday + timedelta(weeks=weeks), time(0), tz).astimezone(UTC)
    folder = RawRecord.payload["folder"].as_string()
    received = RawRecord.payload["DateTimeReceived"].as_string()
    sent = RawRecord.payload["DateTimeSent"].as_string()
    moment = func.coalesce(received, sent)
    rows = session.execute(
        select(folder, received, sent)
        .join(Source, Source.id == RawRecord.source_id)
        .where(Source.kind == "exchange", RawRecord.stream == "messages",
               RawRecord.deleted_at.is_(None),
               func.lower(RawRecord.payload["mailbox"].as_string()) == person.email.lower(),
               # ISO stamps compare as text: the filter runs in the database on both
               moment >= start.strftime(_STAMP), moment < end.strftime(_STAMP))).all()
    counts: Counter[tuple[date, str]] = Counter()
    for where, got, gone in rows:
        stamp = got if where == "inbox" else gone
        if not stamp:
            continue
        local = datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC).astimezone(tz)
        counts[(iso_week_start(local.date()), where)] += 1
    return {monday: (counts[(monday, "inbox")], counts[(monday, "sentitems")])
            for monday in {m for m, _ in counts}}
