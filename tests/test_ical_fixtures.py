"""The vendors' own iCalendar examples parse and expand (../shared/fixtures/ical)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import FIXTURES
from pipelines.normalize.drafts import NormalizeError
from pipelines.normalize.ical import events_by_uid, expand, master, parse_calendar, span

ICS = FIXTURES / "ical" / "icalendar-bsd"
UTC = ZoneInfo("UTC")


def _expand_file(path: Path) -> dict[str, list[str]]:
    calendar = parse_calendar(path.read_text())
    out = {}
    for uid, events in events_by_uid(calendar).items():
        start, _, _ = span(master(events), UTC)
        occurrences = expand(
            calendar, uid, start - timedelta(days=1), start + timedelta(days=400), UTC
        )
        out[uid] = [o.start.isoformat() for o in occurrences]
    return out


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("alarm_google_future.ics", 1),
        ("event_with_recurrence_exdates_on_different_lines.ics", 10),
        ("issue_156_RDATE_with_PERIOD_TZID_khal_2.ics", 1),
        ("issue_165_missing_event.ics", 14),
        ("property_params.ics", 1),
        ("timezone_same_start.ics", 1),
    ],
)
def test_vendor_calendar_parses_and_expands(name: str, count: int) -> None:
    (occurrences,) = _expand_file(ICS / name).values()
    assert len(occurrences) == count


def test_exdates_on_separate_lines_are_all_honoured() -> None:
    (occurrences,) = _expand_file(
        ICS / "event_with_recurrence_exdates_on_different_lines.ics"
    ).values()
    # Tuesdays 10:00 Vienna (08:00Z in summer time) from 27 March to 3 July 2012, less five.
    excluded = {"2012-04-03", "2012-04-10", "2012-04-17", "2012-05-01", "2012-05-29"}
    assert not excluded & {o[:10] for o in occurrences}
    assert occurrences[0] == "2012-03-27T08:00:00+00:00"
    assert occurrences[-1] == "2012-07-03T08:00:00+00:00"


def test_exchange_rule_with_blanks_and_no_uid_still_expands() -> None:
    ((uid, occurrences),) = _expand_file(ICS / "issue_165_missing_event.ics").items()
    assert uid.startswith("derived-")
    # Weekdays 3-22 July 2015, 10:00 in the file's own +02:00 zone.
    assert occurrences[0] == "2015-07-03T08:00:00+00:00"
    assert occurrences[-1] == "2015-07-22T08:00:00+00:00"
    assert not {"2015-07-04", "2015-07-05", "2015-07-11"} & {o[:10] for o in occurrences}


def test_windows_zone_names_come_from_the_file_vtimezone() -> None:
    (occurrences,) = _expand_file(ICS / "timezone_same_start.ics").values()
    assert occurrences == ["2017-02-24T20:00:00+00:00"]  # 12:00 Pacific Standard Time


def test_google_feed_keeps_its_utc_event() -> None:
    (occurrences,) = _expand_file(ICS / "alarm_google_future.ics").values()
    assert occurrences == ["2024-10-04T18:15:00+00:00"]


def test_rdate_property_examples_without_dtstart_are_rejected_clearly() -> None:
    # RFC 5545's RDATE examples are property fragments: their VEVENTs lack the DTSTART that
    # section 3.6.1 requires, so they cannot be placed in time and are refused by name.
    with pytest.raises(NormalizeError, match="VEVENT 0 has no DTSTART"):
        parse_calendar((ICS / "rfc_5545_RDATE_example.ics").read_text())


@pytest.mark.parametrize("text", ["", "hello", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:nonsense"])
def test_garbage_is_rejected(text: str) -> None:
    with pytest.raises(NormalizeError):
        parse_calendar(text)
