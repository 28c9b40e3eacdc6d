"""`workhub demo`: a generated organisation in every stand-in, synced and served.

The demo writes the world, serves Jira, GitHub, Exchange and Confluence stand-ins and a
Radicale on loopback, writes a workhub.yaml for all of them (secrets as `${...}`
references to environment variables it sets), and returns it for a full sync.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sandbox.generate import caldav_people
from sandbox.org import Organisation
from sandbox.run import RunningSandbox

__all__ = ["SECRET_ENV", "demo_config"]

#: The environment variable the demo's config names for every sandbox secret.
SECRET_ENV = "WORKHUB_DEMO_SECRET"  # noqa: S105  (a variable name, not a secret)


def demo_config(org: Organisation, running: RunningSandbox, database_url: str
                ) -> dict[str, Any]:
    """The workhub.yaml for a generated organisation served by `running`."""
    os.environ.setdefault(SECRET_ENV, "sandbox")
    secret = "${" + SECRET_ENV + "}"
    urls = running.urls()
    on_caldav = set(caldav_people(org))
    first_team = org.teams[0]
    return {
        "database_url": database_url,
        "org": {
            "timezone": "Europe/Berlin",
            "country": "DE",
            "people": [
                {"id": p.id, "name": p.name, "email": p.email, "timezone": p.timezone,
                 "country": p.country, **({"manager": p.manager} if p.manager else {})}
                for p in org.people
            ],
            "teams": [
                {"id": t.id, "name": t.name, "manager": t.manager,
                 "members": [{"person": m} for m in t.members]}
                for t in org.teams
            ],
            "duties": [{"name": "Support rota", "hours_per_week": 8,
                        "rotation": list(first_team.members[1:4]), "start": "2026-01-05"}],
        },
        "sources": [
            {"name": "jira", "kind": "jira", "url": running.jira,
             "username": "sync@example.com", "token": secret,
             "projects": [t.jira_project for t in org.teams], "schedule": "*/15 * * * *"},
            {"name": "github", "kind": "github", "base_url": urls["github"], "token": secret,
             "org": org.github_org, "schedule": "*/15 * * * *"},
            {"name": "exchange", "kind": "exchange", "endpoint": urls["exchange"],
             "username": "sync@example.com", "password": secret, "access": "impersonation",
             "mailboxes": [p.email for p in org.people if p.id not in on_caldav],
             "internal_domains": ["example.com"], "schedule": "*/15 * * * *"},
            {"name": "confluence", "kind": "confluence", "url": running.confluence,
             "username": "sync@example.com", "token": secret,
             "spaces": [t.jira_project for t in org.teams], "schedule": "0 * * * *"},
            *[{"name": f"calendar-{pid.replace('.', '-')}", "kind": "caldav",
               "url": urls["caldav"] + "/", "username": pid, "password": secret,
               "owner": pid, "schedule": "*/30 * * * *"} for pid in sorted(on_caldav)],
        ],
    }


def world_folder(home: Path) -> Path:
    """Where the demo keeps its generated world."""
    return home / "world"
