"""`workhub sandbox generate`: a synthetic organisation and its world in every tool.

Writes `org.json` and `ground_truth.json` (who is who in every tool), then one folder per
stand-in with its store as JSON Lines, and `caldav/` with one iCalendar file per person
for the teams that keep their calendars on a CalDAV server rather than in Exchange.
The same seed gives the same files.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sandbox.compact import sharing
from sandbox.confluence import ConfluenceStore
from sandbox.confluence import populate as populate_confluence
from sandbox.ews import EwsStore
from sandbox.ews import populate as populate_ews
from sandbox.github import GitHubStore
from sandbox.github import populate as populate_github
from sandbox.jira import JiraStore
from sandbox.jira import populate as populate_jira
from sandbox.org import Organisation, generate_org

__all__ = ["TOOLS", "Generated", "Stores", "caldav_people", "generate_world", "load_stores"]


@dataclass
class Generated:
    """What a generation wrote, for the summary."""

    org: Organisation
    counts: dict[str, int]


def caldav_people(org: Organisation) -> list[str]:
    """People whose calendars live on CalDAV: every third team's (the rest use Exchange)."""
    return [p for i, team in enumerate(org.teams) if i % 3 == 2 for p in team.members]


def _caldav_files(org: Organisation, out: Path, rng: random.Random, now: datetime) -> int:
    """A weekly team meeting and a few one-off meetings per CalDAV team, one file each."""
    people = set(caldav_people(org))
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0,
                                                            microsecond=0)
    count = 0
    for team in org.teams:
        if team.manager not in people:
            continue
        members = [org.person(m) for m in team.members]
        events = []
        start = monday + timedelta(days=1, hours=9)
        events.append((f"{team.id}-weekly@caldav.demo", f"{team.name} weekly", start,
                       start + timedelta(hours=1), "RRULE:FREQ=WEEKLY"))
        for n in range(4):
            day = monday + timedelta(days=rng.randrange(0, 14), hours=rng.randrange(9, 16))
            events.append((f"{team.id}-{n}@caldav.demo", rng.choice(
                ["Design review", "Pairing", "Planning", "Incident review"]), day,
                day + timedelta(minutes=rng.choice([30, 60, 90])), ""))
        for person in members:
            folder = out / "caldav" / person.id
            folder.mkdir(parents=True, exist_ok=True)
            for uid, title, begin, end, rule in events:
                lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//workhub sandbox//EN",
                         "BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z",
                         f"SUMMARY:{title}", f"DTSTART:{begin:%Y%m%dT%H%M%SZ}",
                         f"DTEND:{end:%Y%m%dT%H%M%SZ}",
                         f"ORGANIZER;CN={org.person(team.manager).name}:mailto:"
                         f"{org.person(team.manager).email}"]
                lines += [f"ATTENDEE;PARTSTAT={'ACCEPTED' if rng.random() < 0.85 else 'DECLINED'}"
                          f":mailto:{m.email}" for m in members if m.id != team.manager]
                if rule:
                    lines.append(rule)
                lines += ["END:VEVENT", "END:VCALENDAR"]
                (folder / f"{uid.split('@')[0]}.ics").write_text("\r\n".join(lines) + "\r\n")
                count += 1
    return count


#: Every tool a world can hold.
TOOLS = ("jira", "github", "ews", "confluence", "caldav")


def generate_world(out: Path, *, people: int = 60, seed: int = 7,
                   now: datetime, jira_deployment: str = "Cloud",
                   tools: Iterable[str] = TOOLS) -> Generated:
    """Generate the organisation and the chosen tools' worlds (all by default) into `out`."""
    org = generate_org(people, seed)
    org.meta = {"generated_for": now.isoformat(), "jira_deployment": jira_deployment}
    org.dump(out)

    def clock() -> datetime:
        return now

    def rng(name: str) -> random.Random:
        return random.Random(f"{seed}:{name}")

    counts: dict[str, int] = {}
    # One store at a time, each dropped once written, so a large world is generated in
    # the memory of its largest tool rather than of all of them.
    if "jira" in tools:
        jira = JiraStore(deployment=jira_deployment, clock=clock)
        populate_jira(jira, org, rng("jira"), now)
        jira.dump(out / "jira")
        counts["jira issues"] = len(jira.issues)
        del jira
    if "github" in tools:
        github = GitHubStore(org.github_org, clock=clock)
        populate_github(github, org, rng("github"), now)
        github.dump(out / "github")
        counts["github issues and pulls"] = sum(len(v) for v in github.issues.values())
        del github
    if "ews" in tools:
        ews = EwsStore(clock=clock)
        populate_ews(ews, org, rng("ews"), now)
        ews.dump(out / "ews")
        counts["exchange items"] = len(ews.items)
        del ews
    if "confluence" in tools:
        confluence = ConfluenceStore(clock=clock)
        populate_confluence(confluence, org, rng("confluence"), now)
        confluence.dump(out / "confluence")
        counts["confluence pages"] = len(confluence.pages)
        counts["confluence tasks"] = len(confluence.tasks)
        del confluence
    if "caldav" in tools:
        counts["caldav events"] = _caldav_files(org, out, rng("caldav"), now)
    return Generated(org, counts)


@dataclass
class Stores:
    """Every stand-in's world."""

    jira: JiraStore
    github: GitHubStore
    ews: EwsStore
    confluence: ConfluenceStore


def load_stores(folder: Path, clock: Callable[[], datetime] | None = None, *,
                shared: bool = False) -> Stores:
    """Every stand-in's store, read back from a generated folder (empty where the world
    has no such tool). `shared` loads equal parts as one object each
    (`sandbox.compact`): for serving a large world read-mostly."""
    if shared:
        with sharing():
            return load_stores(folder, clock)

    def present(name: str) -> bool:
        return (folder / name).is_dir()

    org = Organisation.load(folder)
    return Stores(
        jira=JiraStore.load(folder / "jira", clock=clock) if present("jira")
        else JiraStore(deployment=str(org.meta.get("jira_deployment", "Cloud")), clock=clock),
        github=GitHubStore.load(folder / "github", clock=clock) if present("github")
        else GitHubStore(org.github_org, clock=clock),
        ews=EwsStore.load(folder / "ews", clock=clock) if present("ews")
        else EwsStore(clock=clock),
        confluence=ConfluenceStore.load(folder / "confluence", clock=clock)
        if present("confluence") else ConfluenceStore(clock=clock))
