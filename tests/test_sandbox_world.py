"""The generated organisation: deterministic from its seed, and served so that the real
client libraries read it without errors."""

from __future__ import annotations

import filecmp
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import caldav
import github
import httpx
import jira
import pytest
from exchangelib import DELEGATE, Account, Configuration, Credentials, EWSDateTime
from exchangelib.protocol import FaultTolerance
from exchangelib.transport import BASIC

from sandbox.faults import Fault, FaultPlan
from sandbox.generate import caldav_people, generate_world
from sandbox.org import Organisation
from sandbox.run import RunningSandbox, running_sandbox

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_the_same_seed_gives_the_same_world(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_world(a, people=24, seed=11, now=NOW)
    generate_world(b, people=24, seed=11, now=NOW)
    generate_world(c, people=24, seed=12, now=NOW)
    files = _tree(a)
    assert files == _tree(b) and len(files) > 10
    _, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    assert mismatch == [] and errors == []
    assert (a / "org.json").read_text() != (c / "org.json").read_text()


def test_ground_truth_names_every_person_in_every_tool(tmp_path: Path) -> None:
    generate_world(tmp_path, people=30, seed=3, now=NOW)
    org = Organisation.load(tmp_path)
    truth = org.ground_truth()
    assert set(truth) == {p.id for p in org.people}
    assert len({t["github"] for t in truth.values()}) == 30
    assert len({t["jira"] for t in truth.values()}) == 30
    assert all(len(t.members) >= 2 and t.manager in t.members for t in org.teams)


def test_the_same_fault_seed_gives_the_same_faults() -> None:
    def faults(seed: int) -> list[str | None]:
        plan = FaultPlan(seed=seed, server_errors=0.2, rate_limits=0.1, dropped=0.05)
        return [plan.decide("GET", f"/items?page={n % 7}") for n in range(200)]

    assert faults(5) == faults(5)
    assert faults(5) != faults(6)
    assert {Fault.server_error, Fault.rate_limited, Fault.dropped} <= set(faults(5))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Organisation,
                                                                      RunningSandbox]]:
    folder = tmp_path_factory.mktemp("world")
    generate_world(folder, people=20, seed=5, now=NOW)
    with running_sandbox(folder, folder / ".radicale") as running:
        yield Organisation.load(folder), running


def test_jira_reads_the_world(world: tuple[Organisation, RunningSandbox]) -> None:
    org, running = world
    client = jira.JIRA(server=running.jira, basic_auth=("sync@example.com", "token"))
    try:
        keys = [t.jira_project for t in org.teams]
        found = client.search_issues(f"project in ({', '.join(keys)})", maxResults=False)
        assert len(found) == len(running.stores.jira.issues)
        assert {issue.fields.project.key for issue in found} == set(keys)
    finally:
        client.close()


def test_github_reads_the_world(world: tuple[Organisation, RunningSandbox]) -> None:
    org, running = world
    client = github.Github(base_url=running.github + "/api/v3", auth=github.Auth.Token("t"),
                           retry=None)
    repo = client.get_repo(f"{org.github_org}/{org.teams[0].github_repo}")
    issues = list(repo.get_issues(state="all"))
    assert issues and all(i.number > 0 for i in issues)
    assert {m.login for m in client.get_organization(org.github_org).get_members()} >= {
        org.person(org.teams[0].manager).github_login}


def test_exchange_reads_the_world(world: tuple[Organisation, RunningSandbox]) -> None:
    org, running = world
    person = org.people[1]
    config = Configuration(service_endpoint=running.urls()["exchange"],
                           credentials=Credentials(person.email, "pw"), auth_type=BASIC,
                           retry_policy=FaultTolerance(max_wait=5))
    account = Account(person.email, config=config, autodiscover=False, access_type=DELEGATE)
    assert list(account.inbox.all().only("subject")[:5])
    start = EWSDateTime.from_datetime(NOW - timedelta(days=7))
    assert list(account.calendar.view(start=start, end=start + timedelta(days=21))
                .only("subject", "start"))


def test_caldav_reads_the_world(world: tuple[Organisation, RunningSandbox]) -> None:
    org, running = world
    person = caldav_people(org)[0]
    client = caldav.DAVClient(running.caldav + "/", username=person, password="x",
                              auth_type="basic")
    (calendar,) = client.principal().calendars()
    assert len(calendar.events()) >= 2


def test_confluence_reads_the_world(world: tuple[Organisation, RunningSandbox]) -> None:
    _, running = world
    response = httpx.get(running.confluence + "/wiki/api/v2/pages", params={"limit": 250},
                         auth=("sync@example.com", "token"))
    assert response.status_code == 200 and response.json()["results"]
