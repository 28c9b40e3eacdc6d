"""`workhub identities`: list identities that need a human, and link them to people."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["identities_app"]

identities_app = typer.Typer(help="Identities: list unresolved and suggested ones, link them.",
                             invoke_without_command=True)
# Piped output gets room for whole identities (they are what a human copies).
console = Console(width=None if sys.stdout.isatty() else 160)
ConfigOption = Annotated[str | None, typer.Option(
    "--config", "-c", help="workhub.yaml (default: $WORKHUB_CONFIG, then ./workhub.yaml).")]


@identities_app.callback()
def listing(
    ctx: typer.Context,
    status: Annotated[str, typer.Option(help="unresolved, suggested, resolved or all.")
                      ] = "unresolved",
    config: ConfigOption = None,
) -> None:
    """List identities (by default the unresolved ones), most involved first."""
    if ctx.invoked_subcommand is not None:
        return
    from model.queries.identities import list_identities
    from workhub.cli import _load, _sessions

    if status not in ("unresolved", "suggested", "resolved", "all"):
        raise typer.BadParameter("unresolved, suggested, resolved or all", param_hint="--status")
    cfg = _load(config)
    with _sessions(cfg)() as session:
        rows = list_identities(session, None if status == "all" else status)  # type: ignore[arg-type]
    table = Table(title=f"identities ({status})")
    for column in ("id", "identity", "name", "status", "person", "suggested", "how", "items"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r.id), f"{r.namespace}:{r.value}", r.display_name or "", r.status,
                      r.person or "", r.suggested_person or "", r.resolution or "",
                      str(r.involvements))
    console.print(table)


@identities_app.command("link")
def link(
    identity: Annotated[str, typer.Argument(help='The identity: its id or "namespace:value".')],
    person: Annotated[str, typer.Argument(help="The person id it belongs to.")],
    config: ConfigOption = None,
) -> None:
    """Resolve an identity by hand; its past involvements follow at once, no re-sync."""
    from sqlalchemy import select

    from model import Person
    from model.queries.identities import find_identity
    from pipelines.identity import link_identity, sync_org
    from workhub.cli import _load, _sessions, err

    cfg = _load(config)
    with _sessions(cfg).begin() as session:
        sync_org(session, cfg.org)
        row = find_identity(session, identity)
        target = session.scalar(select(Person).where(Person.slug == person))
        if row is None or target is None:
            err.print(f"[red]no {'identity ' + identity if row is None else 'person ' + person}"
                      "[/red]")
            raise typer.Exit(2)
        link_identity(session, row, target.id, "linked by hand")
    console.print(f"{identity} is now {person}")
