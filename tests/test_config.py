"""Config loading: every error names the file, the key and the problem; secrets stay secret."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from workhub.config import ConfigError, load_config

GOOD = """
org:
  timezone: Europe/Berlin
  country: DE
  people:
    - {id: alice, name: Alice, email: alice@example.com}
    - {id: bob, name: Bob, email: bob@example.com, manager: alice, timezone: America/New_York}
  teams:
    - id: core
      name: Core
      manager: alice
      members: [{person: bob, share: 0.5}]
sources:
  - name: cal-bob
    kind: caldav
    url: https://dav.example.com/
    username: bob
    password: ${CALDAV_PASSWORD}
    owner: bob
    schedule: "0 * * * *"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "workhub.yaml"
    path.write_text(text)
    return path


def _problems(path: Path) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(str(path) + ": ")
    return caught.value.problems


def test_a_good_config_loads_and_resolves_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALDAV_PASSWORD", "s3cret-value")
    config = load_config(_write(tmp_path, GOOD))
    source = config.source("cal-bob")
    assert source.password is not None
    assert source.password.get_secret_value() == "s3cret-value"
    assert "s3cret-value" not in repr(config) and "s3cret-value" not in str(config)
    assert config.person("bob").timezone == "America/New_York"
    assert config.org.teams[0].members[0].share == 0.5


def test_a_missing_secret_names_its_key_and_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CALDAV_PASSWORD", raising=False)
    assert _problems(_write(tmp_path, GOOD)) == [
        ("sources[0].password", "environment variable CALDAV_PASSWORD is not set")
    ]


@pytest.mark.parametrize(
    ("edit", "key", "problem"),
    [
        (
            ("timezone: America/New_York", "timezone: Mars/Olympus"),
            "org.people[1].timezone",
            "unknown time zone 'Mars/Olympus'",
        ),
        (
            ('schedule: "0 * * * *"', "schedule: every hour"),
            "sources[0].schedule",
            "not a cron expression: 'every hour'",
        ),
        (
            ("url: https://dav.example.com/", "uri: https://dav.example.com/"),
            "sources[0].url",
            "Field required",
        ),
        (
            ("manager: alice, timezone", "manager: zed, timezone"),
            "org",
            "person 'bob': manager 'zed' is not a person",
        ),
        (
            ("{id: bob, name: Bob", "{id: alice, name: Bob"),
            "org",
            "person ids used twice: ['alice']",
        ),
        (
            ("share: 0.5", "share: 2"),
            "org.teams[0].members[0].share",
            "Input should be less than or equal to 1",
        ),
        (
            ("kind: caldav", "kind: gopher"),
            "sources[0]",
            "Input tag 'gopher' found using 'kind' does not match any of the expected tags: "
            "'caldav', 'jira', 'github', 'exchange', 'confluence', 'ics'",
        ),
    ],
)
def test_each_bad_line_is_reported_with_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: tuple[str, str], key: str, problem: str
) -> None:
    monkeypatch.setenv("CALDAV_PASSWORD", "x")
    text = GOOD.replace(*edit)
    assert text != GOOD
    assert (key, problem) in _problems(_write(tmp_path, text))


def test_unparseable_yaml_names_the_line(tmp_path: Path) -> None:
    (problem,) = _problems(_write(tmp_path, "org:\n  people: [\n"))
    assert problem[0].startswith("line ")
    assert "not valid YAML" in problem[1]


def test_a_missing_file_is_an_error_not_an_empty_config(tmp_path: Path) -> None:
    assert _problems(tmp_path / "nope.yaml") == [("(file)", "no such file")]


def test_no_config_anywhere_means_the_empty_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WORKHUB_CONFIG", raising=False)
    config = load_config()
    assert config.sources == [] and config.org.timezone == "UTC"


def test_database_url_prefers_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALDAV_PASSWORD", "x")
    config = load_config(_write(tmp_path, "database_url: sqlite:///from-file.db\n" + GOOD))
    monkeypatch.delenv("WORKHUB_DATABASE_URL", raising=False)
    assert config.resolved_database_url() == "sqlite:///from-file.db"
    monkeypatch.setenv("WORKHUB_DATABASE_URL", "postgresql://db/x")
    assert config.resolved_database_url() == "postgresql://db/x"


def test_reading_the_config_imports_no_client_library() -> None:
    # In a fresh interpreter: this one has imported them all for other tests.
    probe = ("import sys, workhub.config\n"
             "print(sorted(m for m in ('exchangelib', 'caldav', 'github', 'jira', 'alembic')"
             " if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
    # The names a connector package exports are still there, loaded on first use.
    import connectors.jira

    assert connectors.jira.JiraSource.__name__ == "JiraSource"
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        _ = connectors.jira.Nothing  # type: ignore[attr-defined]
