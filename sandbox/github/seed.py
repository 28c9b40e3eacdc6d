"""Fill a GitHubStore with a realistic few months of work for a synthetic organisation.

Each team's repository gets labels (including "blocked" and "priority: high"), sprint and
quarter milestones with due dates, issues and pull requests written by the team's people.
Many pull requests name a Jira key of the team's project in the title (``PLAT-12 Fix
login``), the branch (``feature/PLAT-12-fix-login``) or the body, and some bodies close an
issue (``Fixes #3``). Open pull requests wait on reviewers from the team, some are drafts;
some issues are closed as not planned. Each member commits a few times, with the address
`OrgPerson.github_email` (else GitHub's private noreply one). Every timestamp lies in the
weeks before `now`, and everything follows from `rng` (commits from a generator seeded by
the organisation's seed and the team), so the same seed gives the same world.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from sandbox.github.store import GitHubStore
from sandbox.org import Organisation, OrgPerson, OrgTeam

__all__ = ["LABELS", "populate"]

#: (name, colour, description) of the labels every repository gets.
LABELS = [
    ("bug", "d73a4a", "Something isn't working"),
    ("enhancement", "a2eeef", "New feature or request"),
    ("documentation", "0075ca", "Improvements or additions to documentation"),
    ("tech-debt", "fbca04", "Cleanup that pays back later"),
    ("blocked", "b60205", "Waiting on something outside the team"),
    ("priority: high", "d93f0b", "Needs attention this sprint"),
    ("priority: low", "c2e0c6", "Whenever there is time"),
    ("good first issue", "7057ff", "Good for newcomers"),
]

#: What the work is about; issue titles and pull request titles draw from these.
SUMMARIES = [
    "Fix login redirect loop", "Add retry to webhook delivery", "Paginate the audit log",
    "Cache feature flags", "Handle empty search results", "Upgrade the HTTP client",
    "Validate currency codes", "Speed up the nightly export", "Add metrics for queue depth",
    "Remove the legacy settings page", "Support time zones in reports",
    "Rotate API keys automatically", "Fix flaky integration test", "Document the rollout plan",
    "Rate-limit password resets", "Add dark mode to the dashboard",
    "Deduplicate notification emails", "Migrate jobs to the new scheduler",
    "Show progress while uploading", "Harden input parsing",
]
#: Issue descriptions, including the occasional empty one.
ISSUE_BODIES = [
    "Steps to reproduce are in the support ticket.", "Seen in production since the last deploy.",
    "Customers asked for this twice this month.", None,
    "We should decide before the next planning.", "Blocked until the vendor answers.",
]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:30].rstrip("-")


def populate(store: GitHubStore, org: Organisation, rng: random.Random, now: datetime,
             jira_issue_count_per_project: int = 80) -> None:
    """Add the organisation's people and, per team repository, a few months of work.

    Jira keys in pull requests are drawn from 1..`jira_issue_count_per_project`, the
    range the Jira stand-in seeds, so the references resolve there.
    """
    original_clock = store.clock
    try:
        _at(store, now - timedelta(days=400))
        for person in org.people:
            # org.py can repeat a login in very large organisations; the first keeps it.
            if person.github_login not in store.users:
                store.add_user(person.github_login, name=person.name,
                               email=person.github_email)
        for team in org.teams:
            _seed_team(store, org, team, rng, now, jira_issue_count_per_project)
            _seed_commits(store, org, team, now)
    finally:
        store.clock = original_clock


def _at(store: GitHubStore, moment: datetime) -> None:
    """Make the store stamp `moment` on what happens next."""
    store.clock = _frozen(moment)


def _frozen(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def _seed_team(store: GitHubStore, org: Organisation, team: OrgTeam, rng: random.Random,
               now: datetime, jira_count: int) -> None:
    logins = [org.person(m).github_login for m in team.members]
    repo_name = f"{store.org['login']}/{team.github_repo}"
    _at(store, now - timedelta(days=rng.randint(200, 380)))
    store.create_repo(team.github_repo, description=f"The {team.name} team's service")
    for name, colour, description in LABELS:
        store.create_label(repo_name, name, color=colour, description=description)
    _at(store, now - timedelta(days=90))
    sprint = rng.randint(30, 60)
    milestones = [
        (f"Sprint {sprint}", now - timedelta(days=17), "closed"),
        (f"Sprint {sprint + 1}", now - timedelta(days=3), "open"),  # overdue
        (f"Sprint {sprint + 2}", now + timedelta(days=11), "open"),
        (f"{team.name} Q1", now + timedelta(days=rng.randint(60, 110)), "open"),
    ]
    for title, due, state in milestones:
        store.create_milestone(repo_name, title, due_on=due, state=state,
                               creator=logins[0], description=f"{team.name}: {title}")
    kinds = ["issue"] * rng.randint(12, 20) + ["pull"] * rng.randint(10, 18)
    births = sorted(now - timedelta(days=rng.uniform(1, 75), minutes=rng.randint(0, 600))
                    for _ in kinds)
    rng.shuffle(kinds)
    issue_numbers: list[int] = []
    for kind, born in zip(kinds, births, strict=True):
        _at(store, born)
        author = rng.choice(logins)
        summary = rng.choice(SUMMARIES)
        labels = [rng.choice(["bug", "enhancement", "documentation", "tech-debt"])]
        labels += [extra for extra, share in (("blocked", 0.12), ("priority: high", 0.2),
                                              ("priority: low", 0.1)) if rng.random() < share]
        milestone = rng.choice([None, 2, 3, 3, 4]) if born > now - timedelta(days=30) else (
            rng.choice([None, 1]))
        assignees = [rng.choice(logins)] if rng.random() < 0.7 else []
        if kind == "issue":
            made = store.create_issue(repo_name, summary, user=author,
                                      body=rng.choice(ISSUE_BODIES), assignees=assignees,
                                      labels=labels, milestone=milestone)
            issue_numbers.append(made["number"])
            _issue_life(store, repo_name, made["number"], born, now, rng, logins)
            continue
        key = f"{team.jira_project}-{rng.randint(1, jira_count)}"
        title, branch, body = _pull_text(rng, key, summary, issue_numbers)
        reviewers = rng.sample([x for x in logins if x != author],
                               k=min(len(logins) - 1, rng.randint(1, 2)))
        made = store.create_pull(repo_name, title, user=author, head=branch, body=body,
                                 draft=rng.random() < 0.18, assignees=[author],
                                 labels=labels[:1], milestone=milestone, reviewers=reviewers)
        _pull_life(store, repo_name, made["number"], born, now, rng)


def _seed_commits(store: GitHubStore, org: Organisation, team: OrgTeam,
                  now: datetime) -> None:
    """A few commits by each member: with their work address where they have one on
    GitHub, else GitHub's private noreply address; and one by an outside contributor
    whose address belongs to no account."""
    # A generator of its own, so the issues and pulls drawn from `rng` stay as they were.
    rng = random.Random(f"commits:{org.seed}:{team.id}")
    repo = f"{store.org['login']}/{team.github_repo}"
    made: list[tuple[datetime, OrgPerson | None]] = [
        (now - timedelta(days=rng.uniform(1, 80), minutes=rng.randint(0, 600)),
         org.person(m)) for m in team.members for _ in range(rng.randint(1, 4))]
    made.append((now - timedelta(days=rng.uniform(1, 80)), None))
    for when, person in sorted(made, key=lambda pair: pair[0]):
        if person is None:
            store.add_commit(repo, "Fix typo in README", email="contractor@agency.example",
                             name="A Contractor", when=when)
            continue
        # A login another person kept (see `populate`) is not this person's account.
        own = store.users[person.github_login]["name"] == person.name
        store.add_commit(repo, rng.choice(SUMMARIES), name=person.name, when=when,
                         email=person.github_email or ("noreply" if own else
                                                       f"{person.id}@users.invalid"),
                         login=person.github_login if own else None)


def _pull_text(rng: random.Random, key: str, summary: str,
               issue_numbers: list[int]) -> tuple[str, str, str | None]:
    """Title, branch and body: the Jira key shows up in one, several or none of them."""
    roll = rng.random()
    slug = _slug(summary)
    prefix = rng.choice(["feature", "fix", "chore"])
    title, branch, body = summary, f"{prefix}/{slug}", "Small change, see the diff."
    if roll < 0.55:
        title, branch = f"{key} {summary}", f"{prefix}/{key}-{slug}"
        body = f"Implements {key}."
    elif roll < 0.7:
        branch = f"{prefix}/{key}-{slug}"
    elif roll < 0.8:
        body = f"Part of {key}: {summary.lower()}."
    if issue_numbers and rng.random() < 0.3:
        body = f"{body}\n\nFixes #{rng.choice(issue_numbers)}"
    return title, branch, body


def _later(born: datetime, now: datetime, rng: random.Random, most_days: float) -> datetime:
    """A moment after `born` and before `now`."""
    room = (now - born).total_seconds()
    return born + timedelta(seconds=min(room * 0.95, rng.uniform(0.05, most_days) * 86400))


def _issue_life(store: GitHubStore, repo: str, number: int, born: datetime, now: datetime,
                rng: random.Random, logins: list[str]) -> None:
    moment = born
    if rng.random() < 0.3:
        moment = _later(moment, now, rng, 6)
        _at(store, moment)
        store.reassign(repo, number, [rng.choice(logins)])
    roll = rng.random()
    if roll < 0.45 or roll > 0.92:
        moment = _later(moment, now, rng, 20)
        _at(store, moment)
        store.close(repo, number, state_reason="completed" if roll < 0.45 else "not_planned",
                    by=rng.choice(logins))
    elif rng.random() < 0.25:
        moment = _later(moment, now, rng, 10)
        _at(store, moment)
        store.edit(repo, number, labels=["bug", "blocked"])


def _pull_life(store: GitHubStore, repo: str, number: int, born: datetime, now: datetime,
               rng: random.Random) -> None:
    roll = rng.random()
    if roll < 0.55:
        _at(store, _later(born, now, rng, 7))
        # Reviewers who have reviewed drop off the request list before the merge.
        reviewers = [r["login"] for r in store.pull(repo, number)["requested_reviewers"]]
        store.request_reviewers(repo, number, reviewers, remove=True)
        store.merge(repo, number)
    elif roll < 0.65:
        _at(store, _later(born, now, rng, 12))
        store.close(repo, number)
    elif rng.random() < 0.3:
        _at(store, _later(born, now, rng, 5))
        store.edit(repo, number, body=f"{store.pull(repo, number)['body']}\n\nReady for review.")
