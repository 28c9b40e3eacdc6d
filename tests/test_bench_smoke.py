"""A small run of the benchmark, to know it works (its figures are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import bench.world as bench_world
from bench.world import ensure_world


def test_the_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--items",
            "400",
            "--db",
            "sqlite",
            "--seconds",
            "0.5",
            "--clients",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    (sqlite,) = result["databases"]
    assert result["floor"]["records"] > 0 and result["floor"]["seconds"] > 0
    assert sqlite["full"]["fetched"] >= result["floor"]["records"]
    assert sqlite["full"]["errors"] == 0
    assert 0 < sqlite["full"]["peak_rss_mb"] < 1024  # the sync's own, not the parent's
    assert sqlite["again"]["new"] == 0 and sqlite["again"]["changed"] == 0
    assert sqlite["changed_1pct"]["mutated"] >= 1
    assert sqlite["changed_1pct"]["changed"] >= sqlite["changed_1pct"]["mutated"]
    assert sqlite["renormalize"]["records"] > 0
    assert {"health", "work", "workload", "capacity"} <= set(sqlite["api"])
    assert all(v["errors"] == 0 for v in sqlite["api"].values())
    assert sqlite["api_workers"] >= 1  # served as `workhub serve` serves by default
    assert "full sync" in done.stdout and "vs httpx-and-parse floor" in done.stdout


def test_a_kept_world_is_reused_until_the_generator_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world = tmp_path / "world"
    ensure_world(world, 20)
    ensure_world(world, 20)
    assert "reusing the world" in capsys.readouterr().out
    monkeypatch.setattr(bench_world, "generator_fingerprint", lambda: "another generator")
    ensure_world(world, 20)
    assert "generated 20 people" in capsys.readouterr().out
    assert json.loads((world / "bench-world.json").read_text())["generator"] == (
        "another generator")
