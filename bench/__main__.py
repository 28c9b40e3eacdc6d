"""`python -m bench --items N`: ingest, re-sync, re-normalization and API load, measured
against baselines taken in the same run, on SQLite and PostgreSQL.

Every phase runs in its own process: the stand-ins in one, each sync in one (so its peak
RSS is its own), the API in one and its load generator in another. Results print as a
table with each target and go to bench/results/<items>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import text

from bench.floor import measure_floor
from bench.world import ensure_world
from model.db import make_engine
from sandbox.org import Organisation
from workhub.radicale import free_port
from workhub.serving import default_workers

#: Work items the generator makes per person (Jira, GitHub, Confluence), measured.
ITEMS_PER_PERSON = 20
PG_URL = os.environ.get("WORKHUB_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _child(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _database(kind: str, folder: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS workhub_bench CASCADE"))
        conn.execute(text("CREATE SCHEMA workhub_bench"))
    engine.dispose()
    return PG_URL + "?options=-csearch_path%3Dworkhub_bench"


def _config(org: Organisation, urls: dict[str, str], database_url: str) -> dict[str, Any]:
    big_team = [p.id for p in org.people[:50]]
    return {
        "database_url": database_url,
        "org": {
            "timezone": "Europe/Berlin",
            "country": "DE",
            "people": [
                {
                    "id": p.id,
                    "name": p.name,
                    "email": p.email,
                    **({"manager": p.manager} if p.manager else {}),
                }
                for p in org.people
            ],
            "teams": [
                {
                    "id": "fifty",
                    "name": "Fifty",
                    "manager": big_team[0],
                    "members": [{"person": p} for p in big_team],
                }
            ],
        },
        # The whole Jira site and GitHub org, as an organisation-wide hub syncs them
        # (a JQL naming thousands of projects is longer than a URL may be).
        "sources": [
            {
                "name": "jira",
                "kind": "jira",
                "url": urls["jira_base"],
                "username": "sync@example.com",
                "token": "sandbox",
            },
            {
                "name": "github",
                "kind": "github",
                "base_url": urls["github"],
                "token": "sandbox",
                "org": org.github_org,
            },
            {
                "name": "confluence",
                "kind": "confluence",
                "url": urls["confluence_base"],
                "username": "sync@example.com",
                "token": "sandbox",
                "spaces": [t.jira_project for t in org.teams],
            },
        ],
    }


def _change_one_percent(
    urls: dict[str, str], org: Organisation, issues: int, rng: random.Random, tag: str
) -> int:
    """Edit 1 % of the Jira issues through the sandbox's mutation API (with `tag` in the
    new summaries: an edit that repeats an earlier run's summary changes nothing)."""
    keys = [f"{t.jira_project}-{n}" for t in org.teams for n in range(1, 60)]
    chosen = rng.sample(keys, min(len(keys), max(1, issues // 100)))
    done = 0
    with httpx.Client(base_url=urls["jira_base"], timeout=30) as client:
        for key in chosen:
            response = client.post(
                f"/_sandbox/jira/issues/{key}/edit",
                json={"fields": {"summary": f"Edited {key} ({tag})"}},
            )
            done += response.status_code < 300
    return done


def _api(config_path: Path, org: Organisation, seconds: float, clients: int) -> dict[str, Any]:
    port = free_port()
    token = (
        subprocess.run(
            [
                sys.executable,
                "-m",
                "workhub.cli",
                "token",
                "create",
                "--person",
                org.people[0].id,
                "--role",
                "admin",
                "--config",
                str(config_path),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workhub.cli",
            "serve",
            "--config",
            str(config_path),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # a large organisation's config takes a while
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the API did not answer /health within 300 s") from None
                time.sleep(0.2)
        person = org.people[1].id
        return _child(
            "bench.load",
            base,
            token,
            str(seconds),
            str(clients),
            "health=/health",
            f"work=/v1/people/{person}/work",
            f"workload=/v1/people/{person}/workload?weeks=6",
            # One manager opening the report: its latency is the target.
            "capacity=/v1/teams/fifty/capacity?weeks=12@1",
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_database(
    kind: str,
    urls: dict[str, str],
    org: Organisation,
    args: argparse.Namespace,
    out: dict[str, Any],
    save: Callable[[], None],
) -> None:
    """Every measurement on one database, into `out`, saved after each phase (a long
    run that is cut short keeps what it measured)."""
    folder = Path(tempfile.mkdtemp(prefix=f"workhub-bench-{kind}-"))
    config_path = folder / "workhub.yaml"
    config_path.write_text(yaml.safe_dump(_config(org, urls, _database(kind, folder))))

    def phase(name: str, value: dict[str, Any]) -> None:
        out[name] = value
        print(f"[{kind}] {name}: {json.dumps(value)}", flush=True)
        save()

    phase("full", _child("bench.syncer", str(config_path), "full"))
    phase("again", _child("bench.syncer", str(config_path), "again"))
    changed = _change_one_percent(urls, org, out["full"]["fetched"], random.Random(1), kind)
    phase("changed_1pct", _child("bench.syncer", str(config_path), "again") | {"mutated": changed})
    phase("renormalize", _child("bench.syncer", str(config_path), "normalize"))
    if args.seconds > 0:
        out["api_workers"] = default_workers()  # `workhub serve`'s default, as deployed
        phase("api", _api(config_path, org, args.seconds, args.clients))
    shutil.rmtree(folder, ignore_errors=True)


def _row(name: str, value: str, target: str, ok: bool | None) -> str:
    mark = "" if ok is None else ("ok" if ok else "MISSED")
    return f"  {name:<38} {value:>24}   {target:<26} {mark}"


def report(result: dict[str, Any]) -> None:
    """Print the table: every figure with its baseline ratio and target."""
    print(
        f"\nworld: {result['items']} items, {result['people']} people; floor: "
        f"{result['floor']['records']} records in {result['floor']['seconds']:.2f} s "
        f"({result['floor']['requests']} requests)"
    )
    for db in result["databases"]:
        if "full" not in db:
            continue
        full = db["full"]
        rate = full["fetched"] / full["seconds"] if full["seconds"] else 0
        ratio = full["seconds"] / db["floor_seconds"]
        print(f"\n[{db['database']}]")
        print(
            _row(
                "full sync",
                f"{rate:,.0f} items/s, {full['seconds']:.1f} s",
                ">= 2,000 items/s",
                rate >= 2000,
            )
        )
        print(_row("  vs httpx-and-parse floor", f"{ratio:.2f}x", "<= 3x", ratio <= 3))
        print(_row("  requests", f"{full['requests']:,}", "", None))
        print(
            _row(
                "  peak RSS of the sync",
                f"{full['peak_rss_mb']:,.0f} MiB",
                "< 1,024 MiB",
                full["peak_rss_mb"] < 1024,
            )
        )
        for name, label, most in (
            ("again", "no-change re-sync", 0.02),
            ("changed_1pct", "1 %-changed re-sync", 0.05),
        ):
            if name in db:
                share = db[name]["seconds"] / full["seconds"]
                print(
                    _row(
                        label,
                        f"{share:.1%} of full, {db[name]['requests']} req",
                        f"< {most:.0%} of full",
                        share < most,
                    )
                )
                streams = db[name].get("streams", {})
                if streams:
                    print("    " + ", ".join(f"{k} {v:.1f} s" for k, v in streams.items()))
        if "renormalize" in db:
            renorm = db["renormalize"]
            speed = renorm["records"] / renorm["seconds"] if renorm["seconds"] else 0
            print(
                _row("re-normalization", f"{speed:,.0f} records/s", ">= 20,000/s", speed >= 20000)
            )
        api = db.get("api")
        if api:
            base = api["health"]["p99_ms"] or 1e-9
            for name in ("work", "workload"):
                x = api[name]["p99_ms"] / base
                print(
                    _row(
                        f"API {name} p99 / health p99",
                        f"{api[name]['p99_ms']:.1f} ms = {x:.1f}x",
                        "<= 10x",
                        x <= 10,
                    )
                )
            cap = api["capacity"]["p50_ms"]
            print(
                _row(
                    "API 50-person 12-week capacity (p50)",
                    f"{cap:.0f} ms",
                    "< 1,000 ms",
                    cap < 1000,
                )
            )
            print(
                _row(
                    "API /health",
                    f"p50 {api['health']['p50_ms']:.1f} ms, {api['health']['rps']:.0f} rps"
                    + (f", {db['api_workers']} workers" if "api_workers" in db else ""),
                    "",
                    None,
                )
            )


@contextmanager
def serving_world(world: Path) -> Iterator[dict[str, str]]:
    """The world's stand-ins, loaded afresh in a process of their own: their URLs."""
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.serve_world", str(world)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        urls: dict[str, str] = json.loads(server.stdout.readline())
        yield urls
    finally:
        if server.stdin:
            server.stdin.close()  # the stand-ins stop when their stdin closes
        server.wait(timeout=120)


def main() -> None:
    """Parse the arguments, generate, serve, measure, report."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=float, default=5.0, help="API load per endpoint")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--world",
        type=Path,
        default=None,
        help="keep the generated world here and reuse it on the next run",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        help="only print the table of a results file written earlier",
    )
    args = parser.parse_args()
    if args.report:
        report(json.loads(args.report.read_text()))
        return
    people = max(20, args.items // ITEMS_PER_PERSON)
    world = args.world or Path(tempfile.mkdtemp(prefix="workhub-bench-world-"))
    ensure_world(world, people)
    org = Organisation.load(world)
    out = args.out or Path("bench/results") / f"{args.items}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"items": None, "people": people, "databases": []}

    def save() -> None:
        out.write_text(json.dumps(result, indent=1, default=str))

    try:
        for number, kind in enumerate(args.db.split(",")):
            # Each database syncs a world as generated: the 1 % edits made for the one
            # before would otherwise sit in the next one's lookback and be re-read by
            # its no-change re-sync.
            with serving_world(world) as urls:
                if number == 0:
                    floor = measure_floor(urls, org.github_org)
                    print(f"floor: {floor}", flush=True)
                    result["items"] = floor.records
                    result["floor"] = {
                        "records": floor.records,
                        "requests": floor.requests,
                        "seconds": floor.seconds,
                    }
                    save()
                db: dict[str, Any] = {"database": kind, "floor_seconds": floor.seconds}
                result["databases"].append(db)
                run_database(kind, urls, org, args, db, save)
    finally:
        if args.world is None:
            shutil.rmtree(world, ignore_errors=True)
    report(result)
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
