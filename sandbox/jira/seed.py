"""Fill a `JiraStore` with a realistic backlog for each team of the synthetic organisation.

Per team project: a handful of epics, then stories, tasks and bugs mostly under an epic
(`parent` on Cloud, the Epic Link field on both), a few sub-tasks; estimates as time
tracking for some, story points for others, none for a few; due dates over the coming
weeks (a few already overdue); statuses across To Do / In Progress / In Review / Blocked /
Done; blocks/relates links; worklogs on started work; `updated` spread over the past
weeks. Everything is drawn from `rng`, so the same seed gives the same world.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sandbox.jira.catalog import parse_time
from sandbox.jira.store import JiraStore
from sandbox.org import Organisation

__all__ = ["populate"]

_VERBS = ["Add", "Fix", "Refactor", "Migrate", "Document", "Speed up", "Remove", "Harden",
          "Instrument", "Split", "Review", "Automate"]
_THINGS = ["login flow", "retry logic", "export job", "settings page", "audit log",
           "rate limiter", "search index", "webhook handler", "invoice PDF", "cache layer",
           "onboarding emails", "feature flags", "API pagination", "error pages",
           "CSV import", "dashboard widgets", "permission checks", "release pipeline"]
_EPICS = ["Q1 reliability", "Self-service onboarding", "Platform upgrade", "Reporting v2",
          "Mobile parity", "Cost reduction", "Compliance", "Performance budget"]
_LABELS = ["backend", "frontend", "tech-debt", "customer", "security", "infra", "ux"]
# (status, weight): about a quarter done, a few blocked.
_STATUSES = [("Backlog", 10), ("To Do", 22), ("In Progress", 24), ("In Review", 9),
             ("Blocked", 7), ("Done", 28)]
_PRIORITIES = [("Highest", 4), ("High", 18), ("Medium", 55), ("Low", 18), ("Lowest", 5)]
_POINTS = [1, 2, 3, 5, 8, 13]
_ESTIMATES = ["2h", "4h", "1d", "1d 4h", "2d", "3d", "1w"]


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([w[0] for w in weighted], weights=[w[1] for w in weighted])[0]


def populate(store: JiraStore, org: Organisation, rng: random.Random, now: datetime) -> None:
    """Add the organisation's people as users and a backlog for each team's project."""
    for person in org.people:
        if person.jira_account_id not in store.users:
            store.add_user(person.jira_account_id, person.name, person.email,
                           email_visible=person.jira_email_visible,
                           time_zone=person.timezone, name=person.id)
    sprint_start = now - timedelta(days=now.weekday() + 7)  # a two-week sprint under way
    for number, team in enumerate(org.teams, start=1):
        if team.jira_project in store.projects:
            continue
        store.add_project(team.jira_project, team.name, lead=team.manager)
        members = [org.person(m).jira_account_id for m in team.members]
        sprint = {"id": number, "name": f"{team.name} Sprint 42", "state": "active",
                  "boardId": number,
                  "startDate": sprint_start.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                  "endDate": (sprint_start + timedelta(days=14)).strftime(
                      "%Y-%m-%dT%H:%M:%S.000Z"),
                  "goal": "Ship what we promised"}
        _team_backlog(store, team.jira_project, members, sprint, rng, now)


def _team_backlog(store: JiraStore, project: str, members: list[str],
                  sprint: dict[str, object], rng: random.Random, now: datetime) -> None:
    epics = []
    for title in rng.sample(_EPICS, rng.randint(3, 5)):
        created = now - timedelta(days=rng.randint(60, 120), hours=rng.randint(0, 23))
        epic = store.create_issue(
            project, title, issuetype="Epic", priority="High", reporter=members[0],
            assignee=members[0], description=f"Epic: {title}.",
            status=rng.choice(["To Do", "In Progress", "In Progress"]), at=created)
        epics.append(epic)
    count = rng.randint(10, 16) * len(members) - len(epics)
    made: list[dict[str, Any]] = []
    for _ in range(count):
        created = now - timedelta(days=rng.randint(3, 90), minutes=rng.randint(0, 1439))
        kind = rng.choices(["Story", "Task", "Bug", "Sub-task"], weights=[45, 30, 18, 7])[0]
        parent = epics_parent = None
        if kind == "Sub-task":
            candidates = [i for i in made if not i["fields"]["issuetype"]["subtask"]]
            if not candidates:
                kind = "Task"
            else:
                parent = rng.choice(candidates)["key"]
        if kind != "Sub-task" and rng.random() < 0.8:
            epics_parent = rng.choice(epics)["key"]
        estimate_style = rng.random()
        # ~10% of issues unassigned; sub-tasks default to their parent's team anyway.
        assignee = rng.choice(members) if rng.random() > 0.1 else None
        due = None
        if rng.random() < 0.7:
            due = (now + timedelta(days=rng.randint(-10, 42))).date()
        issue = store.create_issue(
            project, f"{rng.choice(_VERBS)} {rng.choice(_THINGS)}", issuetype=kind,
            priority=_pick(rng, _PRIORITIES), reporter=rng.choice(members),
            assignee=assignee, duedate=due,
            description=rng.choice([None, "See the linked design doc.",
                                    "Reported by a customer; steps in the ticket."]),
            labels=rng.sample(_LABELS, rng.randint(0, 2)),
            # On Cloud an epic is the issue's parent; Server only has the Epic Link field.
            parent=parent or (epics_parent if store.deployment == "Cloud" else None),
            epic=epics_parent,
            story_points=rng.choice(_POINTS) if 0.4 <= estimate_style < 0.85 else None,
            original_estimate=rng.choice(_ESTIMATES) if estimate_style < 0.4 else None,
            sprint=sprint if rng.random() < 0.5 else None, at=created)
        made.append(issue)
        status = _pick(rng, _STATUSES)
        # The last change lands somewhere between creation and now, most in recent weeks:
        # density rising linearly towards now. (1 - u**2 had the same mean but an
        # unbounded density at now, which put ~1 % of all issues in the world's last ten
        # minutes, an edit rate no organisation has and every re-sync's lookback re-read.)
        span = (now - created).total_seconds()
        last = created + timedelta(seconds=span * rng.random() ** 0.5)
        middle = created + (last - created) / 2
        if status != "To Do":
            if status in ("In Review", "Done", "Blocked") and rng.random() < 0.7:
                store.transition(issue["key"], "In Progress", author=assignee, at=middle)
            if assignee and issue["fields"]["timetracking"] and status != "Backlog":
                hours = rng.randint(1, 12)
                store.add_worklog(issue["key"], assignee, hours * 3600, at=middle,
                                  comment="Progress.")
            store.transition(issue["key"], status, author=assignee, at=last)
    # A sprinkling of links between the team's issues.
    for issue in rng.sample(made, max(1, len(made) // 7)):
        other = rng.choice(made)
        if other is not issue:
            store.link(issue["key"], other["key"], rng.choice(["Blocks", "Relates"]),
                       author=members[0],
                       # Any moment of the past 20 days (whole days put 1/21 of the
                       # links at the very second the world was made).
                       at=max(now - timedelta(days=rng.uniform(0, 20)),
                              _created(issue), _created(other)))


def _created(issue: dict[str, Any]) -> datetime:
    return parse_time(issue["fields"]["created"])
