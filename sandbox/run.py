"""Run every stand-in of a generated world on loopback, plus a Radicale with its calendars."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from sandbox import confluence, ews, github, jira
from sandbox.faults import FaultPlan
from sandbox.generate import Stores, load_stores
from sandbox.serve import serving
from workhub.radicale import start_radicale

__all__ = ["RunningSandbox", "running_sandbox", "upload_calendars"]


@dataclass
class RunningSandbox:
    """Base URLs of the running stand-ins (and their stores, to change the world)."""

    jira: str
    github: str
    ews: str
    confluence: str
    caldav: str
    stores: Stores

    def urls(self) -> dict[str, str]:
        """Service name -> base URL."""
        return {"jira": self.jira, "github": self.github + "/api/v3",
                "exchange": self.ews + ews.ENDPOINT, "confluence": self.confluence,
                "caldav": self.caldav}


def upload_calendars(caldav_url: str, folder: Path) -> int:
    """Create each person's `work` calendar on the CalDAV server and put their events."""
    count = 0
    if not folder.exists():
        return 0
    with httpx.Client(base_url=caldav_url, timeout=30) as client:
        for person in sorted(p for p in folder.iterdir() if p.is_dir()):
            auth = (person.name, "sandbox")
            client.request("MKCALENDAR", f"/{person.name}/work/", auth=auth).raise_for_status()
            for ics in sorted(person.glob("*.ics")):
                client.put(f"/{person.name}/work/{ics.name}", content=ics.read_bytes(),
                           headers={"Content-Type": "text/calendar"},
                           auth=auth).raise_for_status()
                count += 1
    return count


@contextmanager
def running_sandbox(world: Path, radicale_storage: Path, *, faults: FaultPlan | None = None,
                    ports: dict[str, int] | None = None,
                    shared: bool = False) -> Iterator[RunningSandbox]:
    """Serve the generated world until the block ends; stop everything it started.
    `shared`: load it with equal parts shared (a large world served read-mostly)."""
    ports = ports or {}
    stores = load_stores(world, shared=shared)
    with ExitStack() as stack:
        urls = {
            "jira": stack.enter_context(serving(jira.create_app(stores.jira, faults),
                                                ports.get("jira"))),
            "github": stack.enter_context(serving(github.create_app(stores.github, faults),
                                                  ports.get("github"))),
            "ews": stack.enter_context(serving(ews.create_app(stores.ews, faults),
                                               ports.get("ews"))),
            "confluence": stack.enter_context(serving(
                confluence.create_app(stores.confluence, faults), ports.get("confluence"))),
        }
        # The world's files are the truth: calendars left from an earlier run would clash.
        shutil.rmtree(radicale_storage, ignore_errors=True)
        proc, caldav_url = start_radicale(radicale_storage, ports.get("caldav"),
                                          rights="owner_only")

        def stop_radicale() -> None:
            proc.terminate()
            proc.wait(timeout=10)

        stack.callback(stop_radicale)
        upload_calendars(caldav_url, world / "caldav")
        yield RunningSandbox(**urls, caldav=caldav_url, stores=stores)
