"""The manager capacity report (JSON, CSV, HTML) against numbers worked out by hand.

The team "Core": Bob (Berlin, DE, share 1) and Alice (Vienna, AT, share 0.5); Ann manages
both. "Now" is Wednesday 2 December 2026, 12:00 UTC = 13:00 in Berlin and Vienna (UTC+1).
The report covers 2026-W49 (30 Nov), W50 (7 Dec) and W51 (14 Dec); everyone works
Monday to Friday 09:00-17:00.

- Bob and Alice both attend "Planning", Monday 7 Dec 10-12; Bob also "Design review"
  11-13, which overlaps it: Bob's meetings that week are the union 10-13 = 3 h.
- Bob is on vacation Friday 11 Dec (8 h of time off).
- Tuesday 8 Dec is a public holiday in Austria (Maria Empfängnis), not in Germany.
- Alice has the "Support" duty, 4 h every week.
- Bob: LATE-1 (44 h, due Thursday 3 Dec 17:00) cannot be done in time; PLAT-2 (12 h, due
  Friday 18 Dec) has both Bob and Alice as assignees (6 h each); PLAT-3 has no estimate
  (the issue default, 4 h). Alice: TASK-1, a task without estimate (the default, 2 h).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.app import create_app
from api.schemas import CapacityOut
from conftest import NOW, Database
from helpers import token_for
from model import Identity, Involvement, ItemKind, Occurrence, Role, StatusCategory, WorkItem
from model.db import make_engine
from pipelines.identity import sync_org
from pipelines.landing import ensure_source
from workhub.cli import app as cli
from workhub.config import WorkhubConfig
from workhub.report import CSV_COLUMNS, ReportFormat, write_capacity_report

START = date(2026, 12, 2)
WEEKS = 3
CONFIG = WorkhubConfig.model_validate({"org": {
    "timezone": "Europe/Berlin", "country": "DE",
    "people": [
        {"id": "ann", "name": "Ann Manager", "email": "ann@example.com"},
        {"id": "bob", "name": "Bob Builder", "email": "bob@example.com", "manager": "ann"},
        {"id": "alice", "name": "Alice Adler", "email": "alice@example.com", "manager": "ann",
         "timezone": "Europe/Vienna", "country": "AT"},
    ],
    "teams": [{"id": "core", "name": "Core", "manager": "ann",
               "members": [{"person": "bob"}, {"person": "alice", "share": 0.5}]}],
    "duties": [{"name": "Support", "hours_per_week": 4, "people": ["alice"]}],
}})


def local(day: int, hour: int) -> datetime:
    """Wall-clock time in Berlin (or Vienna) in December 2026, as UTC."""
    return datetime(2026, 12, day, hour - 1, 0, tzinfo=UTC)


def _item(session: Session, source: int, people: dict[str, int], key: str, kind: ItemKind,
          who: tuple[str, ...], *, estimate: float | None = None, due: datetime | None = None,
          start: datetime | None = None, end: datetime | None = None) -> None:
    row = WorkItem(key=key, source_id=source, external_id=key, kind=kind, title=key,
                   url=f"https://jira.example/browse/{key}", status_category=StatusCategory.todo,
                   estimate_hours=estimate,
                   estimate_source="remaining" if estimate is not None else None,
                   due_at=due, priority=2, private=False, content_hash=key, start_at=start,
                   end_at=end, updated_at=NOW)
    session.add(row)
    session.flush()
    role = Role.attendee if kind in (ItemKind.meeting, ItemKind.time_off) else Role.assignee
    for person in who:
        identity = session.scalar(select(Identity).where(Identity.value == person))
        if identity is None:
            identity = Identity(namespace="person", value=person, person_id=people[person])
            session.add(identity)
            session.flush()
        session.add(Involvement(item_id=row.id, identity_id=identity.id,
                                person_id=people[person], role=role))
    if start is not None and end is not None:
        session.add(Occurrence(item_id=row.id, start_at=start, end_at=end))


def build_scenario(sessions: sessionmaker[Session]) -> None:
    """The graph of the module docstring, straight into the database."""
    with sessions.begin() as session:
        people = sync_org(session, CONFIG.org)
        source = ensure_source(session, "jira", "jira").id

        def add(key: str, kind: ItemKind, *who: str, **fields: Any) -> None:
            _item(session, source, people, key, kind, who, **fields)

        add("Planning", ItemKind.meeting, "bob", "alice", start=local(7, 10), end=local(7, 12))
        add("Design review", ItemKind.meeting, "bob", start=local(7, 11), end=local(7, 13))
        add("Vacation", ItemKind.time_off, "bob", start=local(11, 9), end=local(11, 17))
        add("LATE-1", ItemKind.issue, "bob", estimate=44, due=local(3, 17))
        add("PLAT-2", ItemKind.issue, "bob", "alice", estimate=12, due=local(18, 17))
        add("PLAT-3", ItemKind.issue, "bob")
        add("TASK-1", ItemKind.task, "alice")


@pytest.fixture
def scenario(db: Database) -> Database:
    """The hand-built team in a clean database."""
    build_scenario(db.sessions)
    return db


def _report(db: Database, fmt: ReportFormat, as_person: str | None = None) -> str:
    return write_capacity_report(db.sessions, CONFIG, team="core", fmt=fmt, now=NOW,
                                 start=START, weeks=WEEKS, as_person=as_person)


def _numbers(week: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(week[k] for k in ("week", "working_hours", "time_off_hours", "meeting_hours",
                                   "duty_hours", "available_hours", "committed_hours",
                                   "utilization", "focus_hours", "unestimated_items"))


# Bob has 20 free hours left this week (Wed 13-17, Thu, Fri), 29 in W50 (40 - 8 vacation
# - 3 meetings). Scheduling by due date: LATE-1 takes W49's 20 h and 24 h of W50 (Mon 9-10,
# 13-17, Tue, Wed, Thu 9-12): finished Thu 10 Dec 12:00, a week late, and all 44 h are owed
# by its due week W49. PLAT-2 (his 6 h): Thu 12-17 (5 h, W50), Mon 14 Dec 9-10 (1 h, W51).
# PLAT-3 (4 h default): Mon 14 Dec 10-14, W51.
BOB = [
    # week, working, time off, meetings, duties, available, committed, util, focus, unest.
    ("2026-W49", 40.0, 0.0, 0.0, 0.0, 40.0, 44.0, 1.1, 40.0, 0),  # 44 / 40
    # focus: Mon 13-17 (Mon 9-10 is under 2 h) + Tue-Thu 24 = 28
    ("2026-W50", 40.0, 8.0, 3.0, 0.0, 29.0, 5.0, 0.1724, 28.0, 0),  # 5 / 29
    ("2026-W51", 40.0, 0.0, 0.0, 0.0, 40.0, 5.0, 0.125, 40.0, 1),  # 1 + 4 = 5; PLAT-3
]
# Alice: 4 h of Support a week. W49: 20 free hours left, less the duty's share of them
# (4 x 20/40 = 2): room for PLAT-2 (6 h) and TASK-1 (2 h default) = 8 h, all in W49.
# W50: Tuesday is a holiday (32 working hours), Planning 2 h: 32 - 2 - 4 = 26 available;
# focus Mon 12-17 (5) + Wed-Fri 24 = 29.
ALICE = [
    ("2026-W49", 40.0, 0.0, 0.0, 4.0, 36.0, 8.0, 0.2222, 40.0, 1),  # 8 / 36
    ("2026-W50", 32.0, 0.0, 2.0, 4.0, 26.0, 0.0, 0.0, 29.0, 0),
    ("2026-W51", 40.0, 0.0, 0.0, 4.0, 36.0, 0.0, 0.0, 40.0, 0),
]
# The team: Bob + Alice x 0.5 (unestimated items are counted, not weighted).
TOTALS = [
    # working 40+20, duties 0+2, available 40+18, committed 44+4 = 48 -> 48/58
    ("2026-W49", 60.0, 0.0, 0.0, 2.0, 58.0, 48.0, 0.8276, 60.0, 1),
    # working 40+16, time off 8, meetings 3+1, duties 2, available 29+13, committed 5 -> 5/42
    ("2026-W50", 56.0, 8.0, 4.0, 2.0, 42.0, 5.0, 0.119, 42.5, 0),
    # available 40+18 = 58, committed 5 -> 5/58
    ("2026-W51", 60.0, 0.0, 0.0, 2.0, 58.0, 5.0, 0.0862, 60.0, 1),
]


def test_json_numbers_match_the_hand_computed_weeks(scenario: Database) -> None:
    doc = json.loads(_report(scenario, ReportFormat.json))
    members = {m["person"]: m for m in doc["members"]}
    assert [_numbers(w) for w in members["bob"]["weeks"]] == BOB
    assert [_numbers(w) for w in members["alice"]["weeks"]] == ALICE


def test_json_totals_are_weighted_by_share(scenario: Database) -> None:
    doc = json.loads(_report(scenario, ReportFormat.json))
    assert [_numbers(w) for w in doc["totals"]] == TOTALS


def test_json_lists_the_late_item_with_its_projected_finish(scenario: Database) -> None:
    doc = json.loads(_report(scenario, ReportFormat.json))
    (late,) = doc["at_risk"]
    assert (late["person"], late["title"], late["hours"]) == ("bob", "LATE-1", 44.0)
    # Due Thursday 3 Dec 17:00 Berlin; done Thursday 10 Dec 12:00 Berlin.
    assert datetime.fromisoformat(late["due"]) == local(3, 17)
    assert datetime.fromisoformat(late["projected_finish"]) == local(10, 12)
    assert late["url"] == "https://jira.example/browse/LATE-1"


def test_json_lists_the_over_allocated_week(scenario: Database) -> None:
    doc = json.loads(_report(scenario, ReportFormat.json))
    assert doc["over_allocated"] == [{"person": "bob", "week": "2026-W49", "utilization": 1.1,
                                      "committed_hours": 44.0, "available_hours": 40.0}]


def test_json_is_the_document_the_api_serves(scenario: Database) -> None:
    app = create_app(scenario.sessions, CONFIG, clock=lambda: NOW)
    doc = json.loads(_report(scenario, ReportFormat.json))
    token = token_for(scenario.sessions, "ann", "admin")
    served = TestClient(app).get("/v1/teams/core/capacity",
                                 params={"start": START.isoformat(), "weeks": WEEKS},
                                 headers={"Authorization": f"Bearer {token}"}).json()
    assert doc == served


def test_json_validates_against_the_openapi_schema(scenario: Database) -> None:
    spec = create_app(scenario.sessions, CONFIG).openapi()
    schema = {"$ref": "#/components/schemas/CapacityOut", "components": spec["components"]}
    doc = json.loads(_report(scenario, ReportFormat.json))
    jsonschema_rs.validator_for(schema).validate(doc)
    assert CapacityOut.model_validate(doc).team == "core"


def test_report_as_a_person_shows_only_what_they_may_see(scenario: Database) -> None:
    # Bob manages no one: his own weeks only; Alice is counted as hidden.
    doc = json.loads(_report(scenario, ReportFormat.json, as_person="bob"))
    assert ([m["person"] for m in doc["members"]], doc["hidden_members"]) == (["bob"], 1)


def _csv_rows(db: Database) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_report(db, ReportFormat.csv))))


def test_csv_has_exactly_the_documented_columns(scenario: Database) -> None:
    header = next(csv.reader(io.StringIO(_report(scenario, ReportFormat.csv))))
    assert tuple(header) == CSV_COLUMNS == (
        "person", "name", "week", "start", "working_hours", "time_off_hours", "meeting_hours",
        "duty_hours", "available_hours", "committed_hours", "utilization", "focus_hours",
        "unestimated_items", "at_risk_items", "over_allocated")


def test_csv_has_one_row_per_member_and_week_with_the_same_numbers(scenario: Database
                                                                   ) -> None:
    rows = _csv_rows(scenario)
    assert [(r["person"], r["week"]) for r in rows] == [
        ("alice", w[0]) for w in ALICE] + [("bob", w[0]) for w in BOB]
    expected = {("alice", w[0]): w for w in ALICE} | {("bob", w[0]): w for w in BOB}
    for row in rows:
        numbers = (row["week"], *(float(row[k]) for k in CSV_COLUMNS[4:10]),
                   float(row["utilization"]), float(row["focus_hours"]),
                   int(row["unestimated_items"]))
        assert numbers == expected[(row["person"], row["week"])]


def test_csv_flags_risk_and_over_allocation(scenario: Database) -> None:
    flagged = {(r["person"], r["week"]): (r["at_risk_items"], r["over_allocated"])
               for r in _csv_rows(scenario)}
    assert flagged[("bob", "2026-W49")] == ("1", "true")
    assert flagged[("bob", "2026-W50")] == ("0", "false")
    assert flagged[("alice", "2026-W49")] == ("0", "false")
    assert {r["name"] for r in _csv_rows(scenario)} == {"Bob Builder", "Alice Adler"}


def test_html_is_self_contained(scenario: Database) -> None:
    html = _report(scenario, ReportFormat.html)
    links = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert links <= {f"https://jira.example/browse/{k}" for k in ("LATE-1", "PLAT-3",
                                                                  "TASK-1")}
    for external in ("<script", "<link", "@import", "url(", "<img", "<iframe"):
        assert external not in html.lower()


def test_html_shows_names_numbers_and_the_late_item(scenario: Database) -> None:
    html = _report(scenario, ReportFormat.html)
    for text in ("Capacity — Core", "Bob Builder", "Alice Adler", "2026-W49", "2026-W51",
                 "110 %", "44 / 40 h", "83 %", "LATE-1", "Thu 3 Dec 2026, 17:00",
                 "Thu 10 Dec 2026, 12:00", 'href="https://jira.example/browse/LATE-1"',
                 "as of Wed 2 Dec 2026, 13:00"):
        assert text in html, text


def test_html_calls_out_unestimated_work(scenario: Database) -> None:
    html = _report(scenario, ReportFormat.html)
    section = html[html.index('id="unestimated"'):html.index("</section>",
                                                             html.index('id="unestimated"'))]
    assert "PLAT-3" in section and "TASK-1" in section and "LATE-1" not in section


@pytest.fixture
def sqlite_file(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A committed SQLite database the command can open on its own (the scenario in it)."""
    path = tmp_path / "cli.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    sessions = sessionmaker(engine, expire_on_commit=False)
    build_scenario(sessions)
    yield Database(sessions, "sqlite", f"sqlite:///{path}")
    engine.dispose()


def test_cli_writes_the_report_file(tmp_path: Path, sqlite_file: Database) -> None:
    config = tmp_path / "workhub.yaml"
    config.write_text(json.dumps({"database_url": sqlite_file.url,
                                  **CONFIG.model_dump(mode="json", exclude={"database_url"},
                                                      exclude_defaults=True)}))
    out = tmp_path / "out" / "core.csv"
    result = CliRunner().invoke(cli, [
        "report", "capacity", "--team", "core", "--start", "2026-12-02", "--weeks", "3",
        "--format", "csv", "--out", str(out), "--config", str(config),
        "--as-of", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    assert out.read_text() == _report(sqlite_file, ReportFormat.csv)


def test_cli_rejects_an_unknown_team(tmp_path: Path, sqlite_file: Database) -> None:
    config = tmp_path / "workhub.yaml"
    config.write_text(json.dumps({"database_url": sqlite_file.url}))
    result = CliRunner().invoke(cli, ["report", "capacity", "--team", "nope", "--format",
                                      "json", "--config", str(config)])
    assert result.exit_code == 2 and "no team 'nope'" in result.output
