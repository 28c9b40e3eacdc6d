"""The `workhub` command line: sync, normalize, serve, status, db upgrade, demo."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from workhub.config import (
    ConfigError,
    WorkhubConfig,
    default_home,
    find_config_path,
    load_config,
)
from workhub.identities_cli import identities_app
from workhub.logs import configure_logging, log_level
from workhub.report import report_app
from workhub.sandbox_cli import sandbox_app

app = typer.Typer(
    help="workhub: every kind of work, from every tool, in one work graph.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The work-graph database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
token_app = typer.Typer(help="API tokens: create, list, revoke.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(report_app, name="report")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(identities_app, name="identities")
# Piped output (CI logs, files) gets room for the whole summary table.
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)  # a path must stay whole on one line

ConfigOption = Annotated[
    str | None,
    typer.Option(
        "--config", "-c", help="workhub.yaml (default: $WORKHUB_CONFIG, then ./workhub.yaml)."
    ),
]


def _load(config_path: str | None) -> WorkhubConfig:
    configure_logging(log_level())
    try:
        return load_config(config_path)
    except ConfigError as exc:
        for key, problem in exc.problems:
            err.print(f"[red]config error[/red] {exc.path}: {key}: {problem}", highlight=False)
        raise typer.Exit(2) from exc


def _migrated_engine(config: WorkhubConfig) -> Engine:
    from model.db import make_engine, upgrade

    engine = make_engine(config.resolved_database_url(default_home()))
    upgrade(engine)
    return engine


def _sessions(config: WorkhubConfig) -> sessionmaker[Session]:
    from model.db import make_sessionmaker

    return make_sessionmaker(_migrated_engine(config))


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Apply every database migration (also done on start by every command)."""
    cfg = _load(config)
    _sessions(cfg)
    console.print("database is up to date")


@token_app.command("create")
def token_create(
    person: Annotated[str, typer.Option(help="The person id the token acts for.")],
    role: Annotated[str, typer.Option(help="member, manager or admin.")] = "member",
    note: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    config: ConfigOption = None,
) -> None:
    """Create a token; it is shown once and stored only as a hash."""
    from sqlalchemy import select

    from model import Person, TokenRole
    from model.queries.access import create_token
    from pipelines.identity import sync_org

    if role not in TokenRole.__members__:
        err.print(f"[red]--role must be member, manager or admin, not {role!r}[/red]")
        raise typer.Exit(2)
    cfg = _load(config)
    with _sessions(cfg).begin() as session:
        sync_org(session, cfg.org)
        row = session.scalar(select(Person).where(Person.slug == person))
        if row is None:
            err.print(f"[red]no person {person!r} in the config[/red]")
            raise typer.Exit(2)
        token_row, token = create_token(session, row, TokenRole(role), note)
        token_id = token_row.id
    console.print(f"token {token_id} for {person} ({role}); shown once, keep it safe:")
    print(token)


@token_app.command("list")
def token_list(config: ConfigOption = None) -> None:
    """Every token: id, prefix, person, role, created, last used, revoked."""
    from sqlalchemy import select

    from model import ApiToken, Person

    cfg = _load(config)
    table = Table(title="tokens")
    for column in ("id", "prefix", "person", "role", "created", "last used", "revoked", "note"):
        table.add_column(column)
    with _sessions(cfg)() as session:
        for row, slug in session.execute(select(ApiToken, Person.slug)
                                         .join(Person, Person.id == ApiToken.person_id)
                                         .order_by(ApiToken.id)):
            table.add_row(str(row.id), row.prefix + "…", slug, str(row.role),
                          row.created_at.isoformat(timespec="seconds"),
                          row.last_used_at.isoformat(timespec="seconds")
                          if row.last_used_at else "never",
                          row.revoked_at.isoformat(timespec="seconds") if row.revoked_at
                          else "", row.note or "")
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="The token's id or prefix (see `token list`).")],
    config: ConfigOption = None,
) -> None:
    """Revoke a token: it is refused from now on."""
    from model.base import utcnow
    from model.queries.access import revoke_token

    cfg = _load(config)
    with _sessions(cfg).begin() as session:
        row = revoke_token(session, token, utcnow())
        if row is None:
            err.print(f"[red]no live token {token!r}[/red]")
            raise typer.Exit(2)
        console.print(f"token {row.id} ({row.prefix}…) revoked")


@contextmanager
def _progress() -> Iterator[Progress]:
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        yield progress


def _sync(cfg: WorkhubConfig, sources: list[str] | None, full: bool) -> bool:
    from pipelines.landing import LandingStats
    from pipelines.normalize.workers import PARALLEL_AFTER
    from pipelines.resources import Workhub
    from pipelines.run import run_sync

    with _progress() as progress:
        tasks: dict[tuple[str, str], object] = {}

        def report(stats: LandingStats) -> None:
            key = (stats.source, stats.stream)
            if key not in tasks:
                tasks[key] = progress.add_task(f"{stats.source}/{stats.stream}", detail="")
            progress.update(
                tasks[key],  # type: ignore[arg-type]
                detail=f"{stats.fetched} fetched, {stats.pages} pages, {stats.requests} requests",
            )

        workhub = Workhub(config=cfg, sessions_factory=_sessions(cfg), full=full, progress=report,
                          normalize_alongside_after=PARALLEL_AFTER)
        try:
            result = run_sync(workhub, sources)
        except KeyError as exc:
            err.print(f"[red]{exc.args[0]}[/red]")
            raise typer.Exit(2) from exc
    table = Table(title="sync")
    for column in (
        "source",
        "stream",
        "status",
        "fetched",
        "new",
        "changed",
        "unchanged",
        "deleted",
        "quarantined",
        "requests",
        "seconds",
    ):
        table.add_column(
            column, justify="left" if column in ("source", "stream", "status") else "right"
        )
    for row in result.streams:
        table.add_row(
            row.source,
            row.stream,
            row.status if row.status == "success" else f"[red]{row.status}[/red]",
            *(
                str(getattr(row, n))
                for n in (
                    "fetched",
                    "new",
                    "changed",
                    "unchanged",
                    "deleted",
                    "quarantined",
                    "requests",
                )
            ),
            f"{row.seconds:.2f}",
        )
    console.print(table)
    for row in result.streams:
        if row.error:
            err.print(f"[red]{row.source}/{row.stream} failed:[/red] {row.error}", highlight=False)
    if result.normalized:
        n = result.normalized
        console.print(
            f"work graph: {n.new} new, {n.changed} changed, {n.deleted} deleted "
            f"items; {n.quarantined} records quarantined"
        )
    failed = [name for name, passed in result.checks.items() if not passed]
    if failed:
        err.print(f"[yellow]checks not passed:[/yellow] {', '.join(failed)}")
    return result.ok


@app.command()
def sync(
    config: ConfigOption = None,
    source: Annotated[list[str] | None, typer.Option(help="Only this source (repeatable).")] = None,
    full: Annotated[
        bool, typer.Option(help="Ignore cursors: read everything and sweep deletions.")
    ] = False,
) -> None:
    """Sync sources into the work graph (the same Dagster assets, in-process)."""
    cfg = _load(config)
    if not _sync(cfg, source, full):
        raise typer.Exit(1)


@app.command()
def normalize(
    config: ConfigOption = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Rebuild from every raw record, not only changed ones.")
    ] = False,
) -> None:
    """Rebuild the work graph from the raw store, touching no source."""
    from model.base import utcnow
    from pipelines.normalize.runner import normalize as run

    cfg = _load(config)
    stats = run(_sessions(cfg), cfg, utcnow(), everything=everything)
    console.print(
        f"{stats.records} records: {stats.new} new, {stats.changed} changed, "
        f"{stats.unchanged} unchanged, {stats.deleted} deleted items; "
        f"{stats.quarantined} quarantined"
    )


@app.command()
def status(config: ConfigOption = None) -> None:
    """How fresh each source is, with counts, quarantine and the last error."""
    from model.base import utcnow
    from model.queries.sources import source_freshness

    cfg = _load(config)
    with _sessions(cfg)() as session:
        rows = source_freshness(session, utcnow())
    table = Table(title="sources")
    for column in (
        "source",
        "stream",
        "last success",
        "status",
        "records",
        "deleted",
        "quarantined",
        "last error",
    ):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r.source,
            r.stream,
            r.last_success.isoformat(timespec="seconds") if r.last_success else "never",
            r.last_status or "",
            str(r.records),
            str(r.deleted),
            str(r.quarantined),
            (r.last_error or "")[:80],
        )
    console.print(table)


def _serve(cfg: WorkhubConfig, config_path: str | None, host: str, port: int,
           workers: int | None) -> None:
    from workhub.serving import default_workers, serve

    _migrated_engine(cfg).dispose()  # the API builds sessions of its own
    serve(cfg, find_config_path(config_path), host, port, workers or default_workers())


WorkersOption = Annotated[
    int | None,
    typer.Option(min=1, help="Worker processes (default: one per core)."),
]


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: WorkersOption = None,
) -> None:
    """Serve the read API (OpenAPI docs at /docs)."""
    _serve(_load(config), config, host, port, workers)


def _demo_token(cfg: WorkhubConfig, person: str) -> str:
    """A manager token for the demo organisation's head, so the API can be tried at once."""
    from sqlalchemy import select

    from model import Person, TokenRole
    from model.queries.access import create_token

    with _sessions(cfg).begin() as session:
        row = session.scalars(select(Person).where(Person.slug == person)).one()
        _, token = create_token(session, row, TokenRole.manager, note="demo")
    return token


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port of the API.")] = 8000,
    workers: WorkersOption = None,
    people: Annotated[int, typer.Option(min=10, help="Size of the organisation.")] = 60,
    seed: Annotated[int, typer.Option(help="Same seed, same organisation.")] = 7,
    serve_api: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API after the sync.")
    ] = True,
) -> None:
    """Generate an organisation, serve it from every stand-in, sync it all, serve the API."""
    from datetime import UTC, datetime

    from sandbox.generate import generate_world
    from sandbox.org import Organisation
    from sandbox.run import running_sandbox
    from workhub.demo import SECRET_ENV, demo_config, world_folder

    home = default_home() / "demo"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    world = world_folder(home)
    generated = generate_world(world, people=people, seed=seed, now=datetime.now(UTC))
    console.print(f"generated {len(generated.org.people)} people in "
                  f"{len(generated.org.teams)} teams: "
                  + ", ".join(f"{n} {k}" for k, n in generated.counts.items()))
    with running_sandbox(world, home / "radicale") as running:
        for name, url in running.urls().items():
            console.print(f"  {name:<11} {url}")
        config_path = home / "workhub.yaml"
        org = Organisation.load(world)
        config_path.write_text(yaml.safe_dump(
            demo_config(org, running, f"sqlite:///{home / 'workhub.db'}"), sort_keys=False))
        console.print(f"config: {config_path}")
        cfg = _load(str(config_path))
        ok = _sync(cfg, None, False)
        head = org.people[0]
        manager = org.teams[0].manager
        token = _demo_token(cfg, head.id)
        base = f"http://127.0.0.1:{port}"
        console.print(
            f"\nAPI docs:   {base}/docs\n"
            f"token:      {token}   ({head.name}, manager of everyone; "
            f"`workhub token create` makes more)\n"
            f"360 view:   curl -H 'Authorization: Bearer {token}' "
            f"{base}/v1/people/{manager}/work\n"
            f"workload:   curl -H 'Authorization: Bearer {token}' "
            f"'{base}/v1/people/{manager}/workload?weeks=4'\n"
            f"capacity:   curl -H 'Authorization: Bearer {token}' "
            f"'{base}/v1/teams/{org.teams[0].id}/capacity?weeks=6'\n"
            f"sync again: {SECRET_ENV}=sandbox .venv/bin/workhub sync --config {config_path}"
            "  (while the demo runs)\n",
            soft_wrap=True)
        if not ok:
            err.print("[yellow]some sources did not sync; see the table above[/yellow]")
        if serve_api:
            _serve(cfg, str(config_path), "127.0.0.1", port, workers)


if __name__ == "__main__":  # pragma: no cover
    app()
