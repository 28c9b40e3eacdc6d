"""`workhub sandbox`: generate a synthetic organisation and serve the stand-ins."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

__all__ = ["sandbox_app"]

sandbox_app = typer.Typer(help="Local stand-ins for Jira, GitHub, Exchange and Confluence.",
                          no_args_is_help=True)
console = Console()


@sandbox_app.command("generate")
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the world into.")],
    people: Annotated[int, typer.Option(min=2, help="How many people.")] = 60,
    seed: Annotated[int, typer.Option(help="Same seed, same organisation.")] = 7,
    now: Annotated[datetime | None, typer.Option(help="The moment the world is built "
                                                      "around (default: now).")] = None,
    jira_deployment: Annotated[str, typer.Option(help="Cloud or Server.")] = "Cloud",
) -> None:
    """Write an organisation, its ground truth, and every tool's data for it."""
    from sandbox.generate import generate_world

    moment = (now or datetime.now(UTC)).astimezone(UTC)
    result = generate_world(out, people=people, seed=seed, now=moment,
                            jira_deployment=jira_deployment)
    console.print(f"{len(result.org.people)} people in {len(result.org.teams)} teams -> {out}")
    for name, count in result.counts.items():
        console.print(f"  {name}: {count}")


@sandbox_app.command("serve")
def serve(
    world: Annotated[Path, typer.Option(help="A folder written by `sandbox generate`.")],
    port: Annotated[int, typer.Option(help="First port; the services take the next ones."
                                      )] = 8101,
    fault_seed: Annotated[int, typer.Option(help="Seed of the fault model.")] = 0,
    server_errors: Annotated[float, typer.Option(help="Share of 5xx answers.")] = 0.0,
    rate_limits: Annotated[float, typer.Option(help="Share of 429 answers.")] = 0.0,
) -> None:
    """Serve Jira, GitHub, EWS, Confluence and a CalDAV server until Ctrl-C."""
    from sandbox.faults import FaultPlan
    from sandbox.run import running_sandbox

    plan = FaultPlan(seed=fault_seed, server_errors=server_errors, rate_limits=rate_limits)

    def stop(*_: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops as Ctrl-C does: Radicale is stopped too

    signal.signal(signal.SIGTERM, stop)
    ports = {name: port + i for i, name in
             enumerate(["jira", "github", "ews", "confluence", "caldav"])}
    with running_sandbox(world, world / ".radicale", faults=plan, ports=ports) as running:
        for name, url in running.urls().items():
            console.print(f"{name:<11} {url}")
        console.print("Ctrl-C stops them all.")
        try:
            while True:  # serve until interrupted; the stand-ins run in threads
                time.sleep(3600)
        except KeyboardInterrupt:
            console.print("stopping")
