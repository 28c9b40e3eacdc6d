"""Committed work, the forecast and team capacity, against numbers worked out by hand.

Bob works in Berlin (DE), 09:00-17:00 Monday to Friday. "Now" is Wednesday 2 December
2026, 12:00 UTC = 13:00 in Berlin, so this week (2026-W49) has 20 free hours left:
Wednesday 13-17, Thursday and Friday. Berlin is UTC+1 in December.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.app import create_app
from conftest import Database
from helpers import token_for
from model import (
    Identity,
    Involvement,
    ItemKind,
    Link,
    Occurrence,
    Person,
    Role,
    StatusCategory,
    Team,
    TokenRole,
    WorkItem,
)
from model.queries.access import Viewer
from model.queries.capacity import team_capacity
from model.queries.forecast import person_forecast
from pipelines.identity import sync_org
from pipelines.landing import ensure_source
from workhub.config import WorkhubConfig

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def berlin(day: int, hour: int, month: int = 12) -> datetime:
    """A Berlin wall-clock time in December 2026, as UTC."""
    return datetime(2026, month, day, hour - 1, 0, tzinfo=UTC)


def _config(**org: Any) -> WorkhubConfig:
    return WorkhubConfig.model_validate({"org": {
        "timezone": "Europe/Berlin", "country": "DE",
        "people": [{"id": "bob", "name": "Bob", "email": "bob@example.com", "manager": "ann"},
                   {"id": "alice", "name": "Alice", "email": "alice@example.com",
                    "manager": "ann"},
                   {"id": "ann", "name": "Ann", "email": "ann@example.com"}],
        "teams": [{"id": "core", "name": "Core", "manager": "ann",
                   "members": [{"person": "bob"}, {"person": "alice", "share": 0.5}]}],
        **org}})


class Graph:
    """Adds items straight into the work graph."""

    def __init__(self, session: Session, config: WorkhubConfig) -> None:
        self.session = session
        self.people = sync_org(session, config.org)
        self.source = ensure_source(session, "jira", "jira").id

    def item(self, key: str, *, kind: ItemKind = ItemKind.issue, estimate: float | None = None,
             due: datetime | None = None, priority: int | None = 2,
             status: StatusCategory = StatusCategory.todo,
             assignees: tuple[str, ...] = ("bob",), private: bool = False,
             start: datetime | None = None, end: datetime | None = None) -> int:
        row = WorkItem(key=key, source_id=self.source, external_id=key, kind=kind, title=key,
                       url=f"https://jira.example/{key}", status_category=status,
                       estimate_hours=estimate,
                       estimate_source="remaining" if estimate is not None else None,
                       due_at=due, priority=priority, private=private, content_hash=key,
                       start_at=start, end_at=end, updated_at=NOW)
        self.session.add(row)
        self.session.flush()
        role = Role.attendee if kind in (ItemKind.meeting, ItemKind.time_off) else Role.assignee
        for who in assignees:
            identity = self.session.scalar(select(Identity).where(Identity.value == who))
            if identity is None:
                identity = Identity(namespace="person", value=who, person_id=self.people[who])
                self.session.add(identity)
                self.session.flush()
            self.session.add(Involvement(item_id=row.id, identity_id=identity.id,
                                         person_id=self.people[who], role=role))
        if start is not None and end is not None:
            self.session.add(Occurrence(item_id=row.id, start_at=start, end_at=end))
        return row.id


def _forecast(db: Database, config: WorkhubConfig, weeks: int = 3,
              start: date = date(2026, 12, 2)):  # type: ignore[no-untyped-def]
    with db.sessions() as session:
        bob = session.scalars(select(Person).where(Person.slug == "bob")).one()
        return person_forecast(session, bob, config.org, start, weeks, NOW)


def test_forward_scheduling_by_due_date_then_priority(db: Database) -> None:
    config = _config()
    with db.sessions.begin() as session:
        g = Graph(session, config)
        g.item("ALPHA", estimate=10, due=berlin(4, 17), priority=2)
        g.item("BETA", estimate=16, due=berlin(8, 17), priority=1)
        g.item("GAMMA", kind=ItemKind.task, due=None, priority=0)  # no estimate: 2 h default
        g.item("DELTA", estimate=30, due=berlin(9, 17), assignees=("bob", "alice"))
        g.item("EPSILON", estimate=8, due=berlin(3, 17), priority=3)
        g.item("DONE", estimate=40, due=berlin(3, 17), status=StatusCategory.done)
        g.item("ALICE", estimate=40, due=berlin(3, 17), assignees=("alice",))
        pr = g.item("PR-1", kind=ItemKind.pull_request, estimate=6, due=berlin(3, 17))
        issue = g.item("IMPLEMENTED", estimate=0.0, due=berlin(20, 17), priority=4)
        session.add(Link(from_item_id=pr, to_ref="IMPLEMENTED", to_item_id=issue,
                         type="implements"))

    forecast = _forecast(db, config)
    plan = {i.title: i for i in forecast.items}
    # Order: EPSILON (due 3rd), ALPHA (4th), BETA (8th), DELTA (9th), IMPLEMENTED, GAMMA.
    assert [i.title for i in forecast.items] == ["EPSILON", "ALPHA", "BETA", "DELTA",
                                                 "IMPLEMENTED", "GAMMA"]
    # EPSILON 8 h: Wed 13-17, Thu 9-13.
    assert (plan["EPSILON"].projected_start, plan["EPSILON"].projected_finish) == (
        berlin(2, 13), berlin(3, 13))
    # ALPHA 10 h: Thu 13-17, Fri 9-15.
    assert plan["ALPHA"].projected_finish == berlin(4, 15)
    # BETA 16 h: Fri 15-17, Mon 7th 9-17, Tue 8th 9-15.
    assert plan["BETA"].projected_finish == berlin(8, 15)
    # DELTA: half of 30 h is Bob's. Tue 15-17, Wed 9th 9-17, Thu 10th 9-14: after its due.
    assert (plan["DELTA"].share, plan["DELTA"].hours) == (0.5, 15.0)
    assert plan["DELTA"].projected_finish == berlin(10, 14)
    assert [i.title for i in forecast.items if i.at_risk] == ["DELTA"]
    # GAMMA: the task default (2 h), unestimated: Thu 10th 14-16.
    assert (plan["GAMMA"].unestimated, plan["GAMMA"].estimate_source) == (True, "default")
    assert plan["GAMMA"].projected_finish == berlin(10, 16)

    w49, w50, w51 = forecast.weeks
    assert (w49.week, w49.committed_hours, w49.available_hours) == ("2026-W49", 20.0, 40.0)
    assert w49.utilization == 0.5
    assert (w50.committed_hours, w50.utilization, w50.unestimated_items) == (31.0, 0.775, 1)
    assert [r["title"] for r in w50.at_risk] == ["DELTA"]
    assert w50.at_risk[0]["projected_finish"] == berlin(10, 14)
    assert (w51.committed_hours, w51.at_risk) == (0.0, [])


def test_work_that_cannot_fit_before_its_due_date_over_allocates_that_week(db: Database
                                                                           ) -> None:
    config = _config()
    with db.sessions.begin() as session:
        Graph(session, config).item("BIG", estimate=50, due=berlin(4, 17))
    forecast = _forecast(db, config, weeks=2)
    (big,) = forecast.items
    # 20 h this week, then Mon-Wed 24 h and Thu 9-15: done Thursday 10th 15:00.
    assert big.projected_finish == berlin(10, 15) and big.at_risk
    this_week, next_week = forecast.weeks
    # All 50 h are owed by Friday: 125 % of this week's 40 available hours.
    assert (this_week.committed_hours, this_week.utilization) == (50.0, 1.25)
    assert next_week.committed_hours == 0.0


def test_duties_meetings_holidays_and_time_off_shape_availability(db: Database) -> None:
    config = _config(duties=[
        {"name": "Support", "hours_per_week": 4, "people": ["bob"]},
        {"name": "On-call", "hours_per_week": 10, "rotation": ["alice", "bob"],
         "start": "2026-11-30"},
    ])
    with db.sessions.begin() as session:
        g = Graph(session, config)
        g.item("Retro", kind=ItemKind.meeting, start=berlin(8, 10), end=berlin(8, 12))
        g.item("Vacation", kind=ItemKind.time_off, start=berlin(11, 9), end=berlin(11, 17))
        g.item("WORK", estimate=200, due=None)
    w49, w50, w51, w52 = _forecast(db, config, weeks=4).weeks
    # W49: Support only (the rotation starts with Alice): 40 - 4.
    assert (w49.duty_hours, w49.available_hours) == (4.0, 36.0)
    # W50: Bob's on-call week. Away Friday, so duties shrink to 32/40 of 14 h = 11.2;
    # available = 40 - 8 (time off) - 2 (retro) - 11.2.
    assert (w50.time_off_hours, w50.meeting_hours, w50.duty_hours) == (8.0, 2.0, 11.2)
    assert w50.available_hours == 18.8
    assert w50.committed_hours == 18.8 and w50.utilization == 1.0
    # W51: Alice's on-call week again; Bob has Support only.
    assert (w51.duty_hours, w51.available_hours) == (4.0, 36.0)
    # W52: Christmas Day (Friday 25th) is a public holiday in Germany: 32 working hours,
    # and Bob's on-call week (a holiday is not time off: the rota still runs).
    assert (w52.working_hours, w52.duty_hours, w52.available_hours) == (32.0, 14.0, 18.0)
    # This week: 20 h left, less the duty's share of them (4 h x 20/40) = 18 h of work.
    assert w49.committed_hours == 18.0


def test_past_weeks_show_no_committed_work(db: Database) -> None:
    config = _config()
    with db.sessions.begin() as session:
        Graph(session, config).item("LATE", estimate=4, due=berlin(1, 17, month=12))
    before, this = _forecast(db, config, weeks=2, start=date(2026, 11, 25)).weeks
    assert (before.week, before.committed_hours) == ("2026-W48", 0.0)
    # Already overdue: owed now, and at risk.
    assert this.committed_hours == 4.0 and [r["title"] for r in this.at_risk] == ["LATE"]


def test_team_capacity_weights_members_by_share(db: Database) -> None:
    config = _config()
    with db.sessions.begin() as session:
        g = Graph(session, config)
        g.item("B1", estimate=50, due=berlin(4, 17))
        g.item("A1", estimate=20, due=berlin(4, 17), assignees=("alice",))
    with db.sessions() as session:
        ann = session.scalars(select(Person).where(Person.slug == "ann")).one()
        bob = session.scalars(select(Person).where(Person.slug == "bob")).one()
        alice = session.scalars(select(Person).where(Person.slug == "alice")).one()
        team = session.scalars(select(Team)).one()
        viewer = Viewer(ann.id, TokenRole.manager, frozenset({bob.id, alice.id}))
        report = team_capacity(session, viewer, team, config.org, date(2026, 12, 2), 2, NOW)
    assert [m.person for m in report.members] == ["alice", "bob"]
    w49 = report.totals[0]
    # Alice counts half: committed 50 + 20 x 0.5 = 60; available 40 + 40 x 0.5 = 60.
    assert (w49["committed_hours"], w49["available_hours"]) == (60.0, 60.0)
    assert w49["utilization"] == 1.0
    # Bob owes 50 h by Friday against the week's 40: over-allocated in W49, B1 at risk.
    # (Alice's 20 h fit in what is left of her week: not at risk.)
    assert [(o["person"], o["week"]) for o in report.over_allocated] == [("bob", "2026-W49")]
    assert [r["title"] for r in report.at_risk] == ["B1"]


@pytest.mark.parametrize(("role", "person", "status"), [
    ("manager", "ann", 200), ("member", "bob", 200), ("member", "alice", 200),
    ("admin", "ann", 200)])
def test_capacity_and_forecast_api(db: Database, role: str, person: str, status: int) -> None:
    config = _config()
    with db.sessions.begin() as session:
        g = Graph(session, config)
        g.item("B1", estimate=30, due=berlin(4, 17))
        g.item("SECRET", estimate=2, due=berlin(4, 17), private=True)
    token = token_for(db.sessions, person, role)
    client = TestClient(create_app(db.sessions, config, clock=lambda: NOW),
                        headers={"Authorization": f"Bearer {token}"})
    capacity = client.get("/v1/teams/core/capacity", params={"start": "2026-12-02",
                                                             "weeks": 2})
    assert capacity.status_code == status
    body = capacity.json()
    seen = {m["person"] for m in body["members"]}
    expected = {"member": {person}, "manager": {"alice", "bob"},
                "admin": {"alice", "bob"}}[role]
    assert seen == expected and body["hidden_members"] == 2 - len(expected)
    if "bob" in seen:
        # Bob's private item is only busy time to anyone but Bob and admins.
        secret = "SECRET" if person == "bob" or role == "admin" else "Busy"
        assert {r["title"] for r in body["at_risk"]} == {"B1", secret}
        forecast = client.get("/v1/people/bob/forecast").json()
        # Same due date and priority: the older item first.
        assert [i["title"] for i in forecast["items"]] == ["B1", secret]
        assert all(i["projected_finish"] for i in forecast["items"])
    else:
        assert client.get("/v1/people/bob/forecast").status_code == 403


def test_long_queues_extend_the_horizon_and_what_never_fits_is_owed_by_its_due_date(
        db: Database) -> None:
    config = _config()
    with db.sessions.begin() as session:
        g = Graph(session, config)
        # 20 h are left this week, then about 40 h a week: 400 h run into week 11 from now,
        # beyond the scheduler's first 8-week look-ahead.
        g.item("LONG", estimate=400, due=berlin(18, 17))
        # Then 5,000 h that no year of weeks can hold, due in January.
        g.item("HUGE", estimate=5000, due=datetime(2027, 1, 15, 16, tzinfo=UTC))
    forecast = _forecast(db, config, weeks=3)
    plan = {i.title: i for i in forecast.items}
    assert plan["LONG"].projected_finish is not None
    assert plan["LONG"].projected_finish > datetime(2027, 1, 25, tzinfo=UTC)
    assert plan["LONG"].at_risk
    assert plan["HUGE"].projected_finish is None and plan["HUGE"].at_risk
    # LONG is due in W51: what it still needs after W51 is owed there (400 - 20 - 40).
    w49, w50, w51 = forecast.weeks
    assert (w49.committed_hours, w50.committed_hours, w51.committed_hours) == (
        20.0, 40.0, 340.0)
    assert [r["title"] for r in w51.at_risk] == ["LONG"]
