"""Fill a ConfluenceStore with a plausible wiki for the synthetic organisation.

Each team gets a space keyed by its Jira project, with a homepage, section pages and
10-20 pages in all: design docs and runbooks edited over months by several team
members (sometimes handed to another owner), and weekly meeting notes whose inline
tasks are assigned to team members with due dates; some done, some overdue. Titles and
bodies name Jira issues of the team's project ("PLAT-12"). Everything follows from
`rng` and `now`, so the same inputs give the same wiki.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from html import escape

from sandbox.confluence.store import ConfluenceStore, NewTask
from sandbox.org import Organisation, OrgTeam

__all__ = ["populate"]

DESIGN_TOPICS = ["Rate limiting", "Event schema v2", "Caching strategy", "Retry policy",
                 "Data retention", "Service boundaries", "Feature flags rollout",
                 "Observability plan", "API versioning", "Access control model",
                 "Batch import pipeline", "Search indexing"]
RUNBOOK_TOPICS = ["Deploy to production", "Rotate credentials", "Database failover",
                  "On-call handover", "Incident response", "Restore from backup",
                  "Scale the workers", "Clear a stuck queue"]
ACTIONS = ["Write up the decision", "Review the draft", "Update the dashboard",
           "Check the alert thresholds", "Ask security for sign-off",
           "Benchmark the new index", "Book the retro", "Clean up old feature flags",
           "Draft the migration plan", "Follow up with support", "Pair on the flaky test",
           "Share the load-test results"]
MESSAGES = ["", "", "", "Fix typos", "Address review comments", "Add rollout section",
            "Update after incident", "Clarify ownership"]


def _mention(account_id: str) -> str:
    return f'<ac:link><ri:user ri:account-id="{account_id}" /></ac:link>'


def _jira_macro(key: str) -> str:
    return ('<ac:structured-macro ac:name="jira" ac:schema-version="1">'
            f'<ac:parameter ac:name="server">System Jira</ac:parameter>'
            f'<ac:parameter ac:name="key">{key}</ac:parameter></ac:structured-macro>')


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment between `start` and `end`, to the millisecond."""
    span = max(0, int((end - start).total_seconds() * 1000))
    return start + timedelta(milliseconds=rng.randint(0, span))


def populate(store: ConfluenceStore, org: Organisation, rng: random.Random,
             now: datetime) -> None:
    """Give every team of `org` a space full of pages, versions and inline tasks."""
    for team in org.teams:
        _team_space(store, org, team, rng, now)


def _team_space(store: ConfluenceStore, org: Organisation, team: OrgTeam,
                rng: random.Random, now: datetime) -> None:
    ids = [org.person(m).jira_account_id for m in team.members]
    manager = org.person(team.manager).jira_account_id
    key = team.jira_project

    def issue() -> str:
        return f"{key}-{rng.randint(1, 150)}"

    founded = now - timedelta(days=rng.randint(300, 700))
    space = store.create_space(
        key, team.name, manager, at=founded,
        description=f"How the {team.name} team works: designs, runbooks, meeting notes.",
        homepage_body=(f"<h1>Welcome to {escape(team.name)}</h1><p>Team lead: "
                       f"{_mention(manager)}</p><ac:structured-macro ac:name=\"children\" />"))
    sections = {}
    for offset, name in enumerate(("Design documents", "Runbooks", "Meeting notes")):
        sections[name] = store.create_page(
            space["id"], f"{team.name} {name.lower()}",
            f"<p>{name} of the {escape(team.name)} team.</p>", manager,
            at=founded + timedelta(hours=offset + 1))["id"]

    # 10-20 pages in all, three of which are the section pages above.
    count = rng.randint(10, 20) - len(sections)
    meetings = max(2, count // 3)
    designs = (count - meetings + 1) // 2
    runbooks = count - meetings - designs

    for topic in rng.sample(DESIGN_TOPICS, designs):
        tracked = issue()
        title = f"[{tracked}] {topic}" if rng.random() < 0.5 else f"Design: {topic}"
        body = (f"<h2>Context</h2><p>{escape(topic)} for {escape(team.name)}, tracked in "
                f"{tracked}.</p>{_jira_macro(tracked)}<h2>Decision</h2><p>See also "
                f"{issue()} and {issue()}.</p>")
        _document(store, space["id"], sections["Design documents"], title, body, ids,
                  rng, now, lambda d: d + "<p>Revised.</p>", (founded, now))

    for topic in rng.sample(RUNBOOK_TOPICS, runbooks):
        body = (f"<h2>When</h2><p>Use when you need to {escape(topic.lower())}.</p>"
                f"<h2>Steps</h2><ol><li>Check the dashboard</li><li>Announce in the "
                f"channel</li><li>Follow {issue()} if it fails</li></ol>")
        _document(store, space["id"], sections["Runbooks"], f"Runbook: {topic}", body, ids,
                  rng, now, lambda d: d + "<p>Step updated.</p>", (founded, now))

    # Weekly syncs, the latest a few days ago.
    latest = now - timedelta(days=rng.randint(1, 6))
    for week in range(meetings):
        held = (latest - timedelta(weeks=week)).replace(hour=9, minute=30, second=0,
                                                       microsecond=0)
        _meeting(store, space["id"], sections["Meeting notes"], team, held, ids, rng, now,
                 issue)


def _document(store: ConfluenceStore, space_id: str, parent_id: str, title: str, body: str,
              ids: list[str], rng: random.Random, now: datetime,
              revise: Callable[[str], str], window: tuple[datetime, datetime]) -> None:
    """A page written by one member and revised by others over the following weeks."""
    created = _between(rng, max(window[0], now - timedelta(days=200)),
                       now - timedelta(days=3))
    author = rng.choice(ids)
    page = store.create_page(space_id, title, body, author, parent_id=parent_id,
                             at=created)
    edits = sorted(_between(rng, created + timedelta(hours=1), now - timedelta(hours=1))
                   for _ in range(rng.randint(1, 5)))
    previous = author
    for moment in edits:
        # Mostly someone other than the last editor: reviews and follow-ups.
        editor = rng.choice([i for i in ids if i != previous] or ids)
        body = revise(body)
        store.edit_page(page["id"], editor, body=body, message=rng.choice(MESSAGES),
                        minor_edit=rng.random() < 0.2, at=moment)
        previous = editor
    if rng.random() < 0.25:
        # The page changed hands: owner and author now differ.
        store.change_owner(page["id"], rng.choice([i for i in ids if i != author] or ids))


def _meeting(store: ConfluenceStore, space_id: str, parent_id: str, team: OrgTeam,
             held: datetime, ids: list[str], rng: random.Random, now: datetime,
             issue: Callable[[], str]) -> None:
    """Meeting notes with inline tasks; later some are ticked off, reassigned or moved."""
    scribe = rng.choice(ids)
    attendees = rng.sample(ids, min(len(ids), rng.randint(3, 6)))
    body = (f"<h2>Attendees</h2><p>{' '.join(_mention(a) for a in attendees)}</p>"
            f"<h2>Notes</h2><ul><li>Status of {issue()}</li><li>Blocked: {issue()}</li>"
            "</ul><h2>Action items</h2>")
    specs = [NewTask(rng.choice(ACTIONS), rng.choice(ids),
                     (held + timedelta(days=rng.randint(2, 21))).replace(hour=0, minute=0))
             for _ in range(rng.randint(2, 5))]
    title = f"{held.date().isoformat()} {team.name} sync"
    written = held + timedelta(minutes=rng.randint(30, 90))
    page = store.create_page(space_id, title, body, scribe, parent_id=parent_id,
                             tasks=specs, at=written)
    tasks = store.page_tasks(page["id"])

    # Later happenings, applied in time order so versions stay chronological.
    events: list[tuple[datetime, int, str, str]] = []
    if rng.random() < 0.5:
        events.append((_between(rng, written, min(now, written + timedelta(days=1))), 0,
                       "edit", ""))
    for order, task in enumerate(tasks, start=1):
        due = held + timedelta(days=21)
        if task["dueAt"]:
            due = datetime.fromisoformat(task["dueAt"].replace("Z", "+00:00"))
        share = 0.65 if due < now else 0.3
        if rng.random() < 0.12:
            events.append((_between(rng, written, now), order, "reassign", task["id"]))
        elif rng.random() < 0.1:
            events.append((_between(rng, written, now), order, "due", task["id"]))
        if rng.random() < share:
            done = _between(rng, written + timedelta(hours=2), min(now, due + timedelta(days=4)))
            events.append((done, order + 100, "complete", task["id"]))
    for moment, _, kind, task_id in sorted(events):
        moment = min(moment, now)
        if kind == "edit":
            store.edit_page(page["id"], rng.choice(attendees),
                            body=store.pages[page["id"]]["body"]["storage"]["value"]
                            .replace("</ul>", "<li>Follow-ups added</li></ul>", 1),
                            message="Notes tidied", at=moment)
        elif kind == "reassign":
            current = store.tasks[task_id]["assignedTo"]
            store.reassign_task(task_id, rng.choice([i for i in ids if i != current] or ids),
                                rng.choice(attendees), at=moment)
        elif kind == "due":
            old = datetime.fromisoformat(store.tasks[task_id]["dueAt"].replace("Z", "+00:00"))
            store.change_task_due(task_id, old + timedelta(days=rng.randint(3, 10)),
                                  rng.choice(attendees), at=moment)
        else:
            task = store.tasks[task_id]
            store.complete_task(task_id, task["assignedTo"] or scribe, at=moment)
