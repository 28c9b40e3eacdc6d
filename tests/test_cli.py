"""The command line: config errors, sync with its summary, status, normalize."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from calendars import vcalendar, vevent
from conftest import Radicale
from helpers import PEOPLE
from workhub.cli import app

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
