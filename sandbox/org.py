"""The synthetic organisation every stand-in is seeded from, and its ground truth.

People have consistent identities across tools (a Jira accountId whose email the Cloud
API hides, a GitHub login, a mailbox, a calendar user); teams have managers; Jira
projects and GitHub repositories belong to teams. Everything is derived from a seed, so
the same seed gives the same organisation.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

__all__ = ["OrgPerson", "OrgTeam", "Organisation", "generate_org"]

FIRST = ["Ada", "Ben", "Chiara", "Dev", "Elif", "Farah", "Goran", "Hana", "Ivan", "Jun",
         "Kofi", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq",
         "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoe", "Aiko", "Bruno", "Carmen", "Dmitri",
         "Emeka", "Freya", "Gustavo", "Hiro", "Ines", "Jonas", "Kira", "Luis", "Maya", "Niko"]
LAST = ["Almeida", "Berger", "Chen", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad",
        "Ito", "Jansen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov",
        "Quintero", "Rossi", "Schmidt", "Tanaka", "Ueda", "Varga", "Weber", "Xu", "Yilmaz",
        "Zimmermann", "Andersen", "Novak", "Silva", "Keller"]
TEAM_NAMES = ["Platform", "Payments", "Mobile", "Data", "Search", "Identity", "Growth",
              "Infrastructure", "Checkout", "Insights", "Messaging", "Billing"]
ZONES = [("Europe/Berlin", "DE"), ("Europe/Berlin", "DE"), ("Europe/London", "GB"),
         ("America/New_York", "US"), ("Europe/Paris", "FR")]
DOMAIN = "example.com"


@dataclass(frozen=True)
class OrgPerson:
    """A person and what each tool calls them."""

    id: str
    name: str
    email: str
    timezone: str
    country: str
    manager: str | None
    team: str
    jira_account_id: str
    github_login: str
    #: Jira Cloud hides most emails (GDPR); True where this person's is visible.
    jira_email_visible: bool
    #: the address on the person's commits / public GitHub profile, when there is one
    github_email: str | None


@dataclass(frozen=True)
class OrgTeam:
    """A team with its manager, Jira project key and GitHub repository."""

    id: str
    name: str
    manager: str
    members: tuple[str, ...]
    jira_project: str
    github_repo: str


@dataclass
class Organisation:
    """People, teams, and the names of the places their work lives."""

    seed: int
    people: list[OrgPerson]
    teams: list[OrgTeam]
    github_org: str = "acme"
    meta: dict[str, Any] = field(default_factory=dict)

    def person(self, person_id: str) -> OrgPerson:
        """The person with this id."""
        return self._people_by_id[person_id]

    def team_of(self, person_id: str) -> OrgTeam:
        """The team a person works in."""
        return self._team_by_member[person_id]

    # Indexes, built on first use: a large organisation is looked up thousands of times.
    @cached_property
    def _people_by_id(self) -> dict[str, OrgPerson]:
        return {p.id: p for p in self.people}

    @cached_property
    def _team_by_member(self) -> dict[str, OrgTeam]:
        return {m: t for t in reversed(self.teams) for m in t.members}

    def ground_truth(self) -> dict[str, dict[str, str | None]]:
        """Who is who: person id -> each tool's identifier for them."""
        return {p.id: {"email": p.email, "jira": p.jira_account_id, "github": p.github_login,
                       "name": p.name} for p in self.people}

    def dump(self, folder: Path) -> None:
        """Write org.json and ground_truth.json."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "org.json").write_text(json.dumps(asdict(self), indent=1))
        (folder / "ground_truth.json").write_text(json.dumps(self.ground_truth(), indent=1))

    @classmethod
    def load(cls, folder: Path) -> Organisation:
        """Read what `dump` wrote."""
        data = json.loads((folder / "org.json").read_text())
        return cls(seed=data["seed"], people=[OrgPerson(**p) for p in data["people"]],
                   teams=[OrgTeam(**{**t, "members": tuple(t["members"])})
                          for t in data["teams"]],
                   github_org=data["github_org"], meta=data.get("meta", {}))


def _account_id(seed: int, n: int) -> str:
    # Jira Cloud account ids look like "5b10ac8d82e05b22cc7d4ef5": opaque hex.
    return hashlib.sha256(f"jira|{seed}|{n}".encode()).hexdigest()[:24]


def generate_org(people: int = 60, seed: int = 7) -> Organisation:
    """An organisation of `people` people in teams of five to nine, each with a manager."""
    rng = random.Random(seed)
    used: set[str] = set()
    logins: set[str] = set()
    persons: list[dict[str, Any]] = []
    for n in range(people):
        while True:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            pid = f"{first}.{last}".lower()
            if pid not in used:
                break
            pid = f"{pid}{n}"
            if pid not in used:
                break
        used.add(pid)
        zone, country = rng.choice(ZONES)
        login_style = rng.random()
        login = (f"{first[0]}{last}".lower() if login_style < 0.5
                 else f"{first.lower()}-{rng.randrange(10, 99)}")
        while login in logins:  # GitHub logins are unique
            login = f"{login}{rng.randrange(10)}"
        logins.add(login)
        persons.append({"id": pid, "name": f"{first} {last}", "email": f"{pid}@{DOMAIN}",
                        "timezone": zone, "country": country,
                        "jira_account_id": _account_id(seed, n), "github_login": login,
                        "jira_email_visible": rng.random() < 0.3,
                        # Most people commit with their work address; a few (personal
                        # or noreply addresses only) leave GitHub no evidence of who they are.
                        "github_email": f"{pid}@{DOMAIN}" if rng.random() < 0.98 else None})
    # The first person leads everyone; then teams of 5-9, each led by its first member.
    teams: list[OrgTeam] = []
    rest = persons[1:]
    index = 0
    while index < len(rest):
        size = min(len(rest) - index, rng.randint(5, 9))
        members = [p["id"] for p in rest[index:index + size]]
        name = TEAM_NAMES[len(teams) % len(TEAM_NAMES)]
        if len(teams) >= len(TEAM_NAMES):
            name = f"{name} {len(teams) // len(TEAM_NAMES) + 1}"
        key = "".join(ch for ch in name.upper() if ch.isalpha())[:4] + (
            str(len(teams) // len(TEAM_NAMES)) if len(teams) >= len(TEAM_NAMES) else "")
        teams.append(OrgTeam(id=name.lower().replace(" ", "-"), name=name, manager=members[0],
                             members=tuple(members), jira_project=key,
                             github_repo=name.lower().replace(" ", "-") + "-service"))
        index += size
    manager_of: dict[str, str | None] = {persons[0]["id"]: None}
    team_of: dict[str, str] = {persons[0]["id"]: teams[0].id if teams else "leadership"}
    for team in teams:
        manager_of[team.manager] = persons[0]["id"]
        for member in team.members:
            team_of[member] = team.id
            if member != team.manager:
                manager_of[member] = team.manager
    return Organisation(
        seed=seed,
        people=[OrgPerson(**p, manager=manager_of[p["id"]], team=team_of[p["id"]])
                for p in persons],
        teams=teams,
    )
