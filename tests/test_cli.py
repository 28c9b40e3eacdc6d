"""The command line: config errors, sync with its summary, status, normalize, serve."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from calendars import vcalendar, vevent
from conftest import Radicale
from helpers import PEOPLE
from workhub.cli import app
from workhub.radicale import free_port

runner = CliRunner()


@pytest.fixture
def config_file(tmp_path: Path, radicale: Radicale, monkeypatch: pytest.MonkeyPatch) -> Path:
    user = radicale.new_user()
    radicale.make_calendar(user)
    radicale.put(
        user,
        "work",
        "a",
        vcalendar(vevent("cli-a", "20261202T100000Z", "20261202T110000Z", "Retro")),
    )
    monkeypatch.setenv("TEST_CALDAV_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("WORKHUB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WORKHUB_DATABASE_URL", raising=False)
    path = tmp_path / "workhub.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "org": {"timezone": "Europe/Berlin", "people": PEOPLE},
                "sources": [
                    {
                        "name": "cal-alice",
                        "kind": "caldav",
                        "url": radicale.url + "/",
                        "username": user,
                        "password": "${TEST_CALDAV_PASSWORD}",
                        "owner": "alice",
                    }
                ],
            }
        )
    )
    return path


def test_sync_prints_a_summary_per_stream_and_never_the_secret(config_file: Path) -> None:
    result = runner.invoke(app, ["sync", "--config", str(config_file)])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "cal-alice" in line and "│" in line)
    cells = [c.strip() for c in row.split("│")[1:-1]]
    assert cells[:9] == ["cal-alice", "events", "success", "1", "1", "0", "0", "0", "0"]
    assert "work graph: 1 new" in result.output
    assert "hunter2-secret" not in result.output
    assert (config_file.parent / "home" / "workhub.db").exists()

    again = runner.invoke(app, ["sync", "--config", str(config_file), "--full"])
    row = next(line for line in again.output.splitlines() if "cal-alice" in line and "│" in line)
    assert [c.strip() for c in row.split("│")[1:-1]][3:7] == ["1", "0", "0", "1"]


def test_status_and_normalize(config_file: Path) -> None:
    runner.invoke(app, ["sync", "--config", str(config_file)])
    status = runner.invoke(app, ["status", "--config", str(config_file)])
    assert status.exit_code == 0 and "cal-alice" in status.output and "success" in status.output
    normalized = runner.invoke(app, ["normalize", "--config", str(config_file), "--all"])
    assert normalized.exit_code == 0
    assert "1 records: 0 new, 0 changed, 1 unchanged" in normalized.output


def test_unknown_source_is_refused(config_file: Path) -> None:
    result = runner.invoke(app, ["sync", "--config", str(config_file), "--source", "nope"])
    assert result.exit_code == 2


def test_a_bad_config_names_file_key_and_problem(tmp_path: Path) -> None:
    path = tmp_path / "workhub.yaml"
    path.write_text("org:\n  timezone: Atlantis/Capital\n")
    result = runner.invoke(app, ["status", "--config", str(path)])
    assert result.exit_code == 2
    assert (
        f"config error {path}: org.timezone: unknown time zone 'Atlantis/Capital'"
        in result.output.splitlines()
    )


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_serve_with_two_workers_answers_from_two_processes(config_file: Path) -> None:
    assert runner.invoke(app, ["sync", "--config", str(config_file)]).exit_code == 0
    made = runner.invoke(app, ["token", "create", "--person", "alice", "--role", "admin",
                               "--config", str(config_file)])
    token = made.output.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "workhub.cli", "serve", "--config", str(config_file),
         "--port", str(port), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # each worker imports the app and reads the config: seconds
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        auth = {"Authorization": f"Bearer {token}"}
        answers = [httpx.get(base + "/v1/people/alice/work", headers=auth, timeout=10)
                   for _ in range(4)]
        assert [a.status_code for a in answers] == [200] * 4
        assert {a.json()["items"][0]["title"] for a in answers} == {"Retro"}
        workers = [c for c in _children(server.pid)
                   if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(workers) == 2
    finally:
        server.terminate()
        server.wait(timeout=30)
